/*
 * The C ABI from C: compiled at test time against the staticlib and
 * include/aurora_router.h by tests/ffi_c.rs (and scripts/test-c.sh, which
 * runs it under valgrind).
 *
 *   route_test PROFILE VECTORS N [MOCK_PROFILE TEXTS]
 *
 * PROFILE   a router profile (the shipped MiniLM one);
 * VECTORS   N × dim little-endian float32 queries;
 * MOCK_PROFILE, TEXTS (optional)  a profile built on the mock Cactus's
 *           embeddings and one query text per line, routed with
 *           aurora_router_route_text and the mock embedder.
 *
 * Checks every error path itself (exit status 1 on a failed check) and
 * prints one line per routed query for the Rust side to compare with its
 * own router:
 *
 *   E <row> <pref×100> <model_index> <cluster> <similarity bits> <confidence bits>
 *   T <line> <pref×100> <model_index> <cluster> <similarity bits> <confidence bits>
 */
#include "aurora_router.h"

#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int failures = 0;

#define CHECK(cond)                                                                 \
    do {                                                                            \
        if (!(cond)) {                                                              \
            fprintf(stderr, "%s:%d: check failed: %s (last error: %d %s)\n",        \
                    __FILE__, __LINE__, #cond, aurora_last_error_code(),            \
                    aurora_last_error());                                           \
            failures++;                                                             \
        }                                                                           \
    } while (0)

static const float PREFS[] = {0.0f, 0.25f, 0.5f, 0.75f, 1.0f};
#define N_PREFS (sizeof PREFS / sizeof PREFS[0])

static unsigned bits(float f) {
    unsigned u;
    memcpy(&u, &f, sizeof u);
    return u;
}

static void print_route(char kind, size_t i, float pref, const AuroraRoute *r) {
    printf("%c %zu %d %u %u %08x %08x\n", kind, i, (int)(pref * 100.0f + 0.5f), r->model_index,
           r->cluster, bits(r->similarity), bits(r->confidence));
}

static char *read_file(const char *path, size_t *len) {
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *buf = malloc((size_t)n + 1);
    if (buf && fread(buf, 1, (size_t)n, f) != (size_t)n) {
        free(buf);
        buf = NULL;
    }
    fclose(f);
    if (buf) {
        buf[n] = '\0';
        *len = (size_t)n;
    }
    return buf;
}

/* Another thread routes every query at p = 0.5: same answers, own errors. */
struct worker {
    const AuroraRouter *router;
    const float *vectors;
    size_t n, dim;
    AuroraRoute *out;
    int ok;
};

static void *work(void *arg) {
    struct worker *w = arg;
    w->ok = 1;
    for (size_t i = 0; i < w->n; i++) {
        if (aurora_router_route_embedding(w->router, w->vectors + i * w->dim, w->dim, 0.5f,
                                          &w->out[i]) != AURORA_STATUS_OK)
            w->ok = 0;
    }
    /* This thread's error is its own. */
    if (aurora_last_error_code() != 0) w->ok = 0;
    if (aurora_router_dim(NULL) != 0) w->ok = 0;
    if (aurora_last_error_code() != AURORA_STATUS_NULL_POINTER) w->ok = 0;
    return NULL;
}

static void error_paths(const AuroraRouter *r, const float *q, size_t dim) {
    AuroraRoute out, before;
    memset(&out, 0x5a, sizeof out);
    before = out;

    CHECK(aurora_router_route_embedding(NULL, q, dim, 0.0f, &out) == AURORA_STATUS_NULL_POINTER);
    CHECK(strstr(aurora_last_error(), "router") != NULL);
    CHECK(aurora_router_route_embedding(r, NULL, dim, 0.0f, &out) == AURORA_STATUS_NULL_POINTER);
    CHECK(aurora_router_route_embedding(r, q, dim, 0.0f, NULL) == AURORA_STATUS_NULL_POINTER);
    CHECK(aurora_router_route_embedding(r, q, dim - 1, 0.0f, &out) == AURORA_STATUS_DIMENSION);
    CHECK(aurora_last_error_code() == AURORA_STATUS_DIMENSION);
    CHECK(strstr(aurora_last_error(), "dimension") != NULL);
    CHECK(aurora_router_route_embedding(r, q, 0, 0.0f, &out) == AURORA_STATUS_DIMENSION);
    CHECK(aurora_router_route_embedding(r, q, dim, 1.5f, &out) == AURORA_STATUS_INVALID_ARGUMENT);
    CHECK(aurora_router_route_embedding(r, q, dim, -0.1f, &out) == AURORA_STATUS_INVALID_ARGUMENT);
    CHECK(aurora_router_route_embedding(r, q, dim, NAN, &out) == AURORA_STATUS_INVALID_ARGUMENT);
    /* A float pointer that is not 4-byte aligned. */
    float *aligned = calloc(dim + 1, sizeof(float));
    const float *misaligned = (const float *)((const char *)aligned + 1);
    CHECK(aurora_router_route_embedding(r, misaligned, dim, 0.0f, &out) ==
          AURORA_STATUS_INVALID_ARGUMENT);
    /* The zero vector and non-finite components. */
    CHECK(aurora_router_route_embedding(r, aligned, dim, 0.0f, &out) ==
          AURORA_STATUS_INVALID_EMBEDDING);
    memcpy(aligned, q, dim * sizeof(float));
    aligned[3] = NAN;
    CHECK(aurora_router_route_embedding(r, aligned, dim, 0.0f, &out) ==
          AURORA_STATUS_INVALID_EMBEDDING);
    aligned[3] = INFINITY;
    CHECK(aurora_router_route_embedding(r, aligned, dim, 0.0f, &out) ==
          AURORA_STATUS_INVALID_EMBEDDING);
    free(aligned);
    CHECK(memcmp(&out, &before, sizeof out) == 0); /* untouched on error */

    CHECK(aurora_router_model_count(NULL) == 0);
    CHECK(aurora_router_cluster_count(NULL) == 0);
    CHECK(aurora_router_dim(NULL) == 0);
    CHECK(aurora_router_model_name(NULL, 0) == NULL);
    CHECK(aurora_router_model_name(r, aurora_router_model_count(r)) == NULL);
    CHECK(aurora_last_error_code() == AURORA_STATUS_INVALID_ARGUMENT);
    CHECK(isnan(aurora_router_model_cost(r, 1000)));
    CHECK(aurora_router_embedding_model(NULL) == NULL);
    CHECK(aurora_router_summary_json(NULL) == NULL);

    /* Loading. */
    CHECK(aurora_router_from_json(NULL, 10) == NULL);
    CHECK(aurora_last_error_code() == AURORA_STATUS_NULL_POINTER);
    CHECK(aurora_router_from_json(NULL, 0) == NULL);
    CHECK(aurora_last_error_code() == AURORA_STATUS_PROFILE);
    const char *garbage = "{\"version\": \"2.0\", \"metadata\": ";
    CHECK(aurora_router_from_json((const uint8_t *)garbage, strlen(garbage)) == NULL);
    CHECK(aurora_last_error_code() == AURORA_STATUS_PROFILE);
    CHECK(strlen(aurora_last_error()) > 0);
    CHECK(aurora_router_from_path(NULL) == NULL);
    CHECK(aurora_last_error_code() == AURORA_STATUS_NULL_POINTER);
    CHECK(aurora_router_from_path("/nonexistent/profile.json") == NULL);
    CHECK(aurora_last_error_code() == AURORA_STATUS_PROFILE);
    CHECK(aurora_router_from_path("profile-\xff\xfe.json") == NULL);
    CHECK(aurora_last_error_code() == AURORA_STATUS_INVALID_UTF8);

    /* Embedders. */
    CHECK(aurora_embedder_open(NULL) == NULL);
    CHECK(aurora_embedder_open("/nonexistent/model-dir") == NULL);
    CHECK(aurora_last_error_code() == AURORA_STATUS_EMBEDDER);
    CHECK(aurora_embedder_open("\xc3\x28") == NULL);
    CHECK(aurora_last_error_code() == AURORA_STATUS_INVALID_UTF8);
    CHECK(aurora_embedder_dim(NULL) == 0);
    CHECK(aurora_embedder_model_id(NULL) == NULL);
    CHECK(aurora_router_route_text(r, NULL, "hello", 0.0f, &out) == AURORA_STATUS_NULL_POINTER);

    /* Frees of NULL are no-ops. */
    aurora_router_free(NULL);
    aurora_embedder_free(NULL);
    aurora_string_free(NULL);
}

static void route_texts(const char *profile, const char *texts_path) {
    AuroraRouter *r = aurora_router_from_path(profile);
    CHECK(r != NULL);
    AuroraEmbedder *e = aurora_embedder_open_mock(aurora_router_dim(r));
    CHECK(e != NULL);
    if (!r || !e) {
        aurora_router_free(r);
        aurora_embedder_free(e);
        return;
    }
    CHECK(strcmp(aurora_embedder_model_id(e), aurora_router_embedding_model(r)) == 0);
    CHECK(aurora_embedder_dim(e) == aurora_router_dim(r));
    size_t len = 0;
    char *texts = read_file(texts_path, &len);
    CHECK(texts != NULL);
    if (!texts) return;
    AuroraRoute out;
    size_t line = 0;
    for (char *s = texts, *nl; *s; s = nl + 1, line++) {
        nl = strchr(s, '\n');
        if (!nl) break;
        *nl = '\0';
        for (size_t p = 0; p < N_PREFS; p++) {
            int rc = aurora_router_route_text(r, e, s, PREFS[p], &out);
            CHECK(rc == AURORA_STATUS_OK);
            if (rc == AURORA_STATUS_OK) print_route('T', line, PREFS[p], &out);
        }
    }
    free(texts);

    /* The embedder on its own. */
    size_t dim = aurora_embedder_dim(e);
    float *v = malloc(dim * sizeof(float));
    CHECK(aurora_embedder_embed(e, "What is 2 + 2?", v, dim) == AURORA_STATUS_OK);
    double norm = 0;
    for (size_t i = 0; i < dim; i++) norm += (double)v[i] * v[i];
    CHECK(fabs(norm - 1.0) < 1e-4);
    CHECK(aurora_embedder_embed(e, "What is 2 + 2?", v, dim + 1) == AURORA_STATUS_DIMENSION);
    CHECK(aurora_embedder_embed(e, NULL, v, dim) == AURORA_STATUS_NULL_POINTER);
    CHECK(aurora_embedder_embed(e, "   ", v, dim) == AURORA_STATUS_EMBEDDER);
    free(v);

    /* Text errors. */
    CHECK(aurora_router_route_text(r, e, "bad \xff utf-8", 0.0f, &out) == AURORA_STATUS_INVALID_UTF8);
    CHECK(aurora_router_route_text(r, e, NULL, 0.0f, &out) == AURORA_STATUS_NULL_POINTER);
    CHECK(aurora_router_route_text(r, e, "", 0.0f, &out) == AURORA_STATUS_EMBEDDER);
    CHECK(aurora_router_route_text(r, e, "hi", 2.0f, &out) == AURORA_STATUS_INVALID_ARGUMENT);

    aurora_embedder_free(e);
    aurora_router_free(r);
}

int main(int argc, char **argv) {
    if (argc != 4 && argc != 6) {
        fprintf(stderr, "usage: %s PROFILE VECTORS N [MOCK_PROFILE TEXTS]\n", argv[0]);
        return 2;
    }
    const char *profile = argv[1];
    size_t n = (size_t)strtoul(argv[3], NULL, 10);

    CHECK(strlen(aurora_version()) > 0);
    CHECK(aurora_last_error_code() == 0);
    CHECK(strcmp(aurora_last_error(), "") == 0);

    AuroraRouter *r = aurora_router_from_path(profile);
    CHECK(r != NULL);
    if (!r) return 1;
    size_t dim = aurora_router_dim(r);
    size_t models = aurora_router_model_count(r);
    CHECK(dim > 0 && models > 0 && aurora_router_cluster_count(r) > 0);
    printf("dim %zu models %zu clusters %zu\n", dim, models, aurora_router_cluster_count(r));
    for (size_t m = 0; m < models; m++) {
        const char *name = aurora_router_model_name(r, m);
        CHECK(name != NULL);
        printf("model %zu %s %.17g\n", m, name ? name : "?", aurora_router_model_cost(r, m));
    }
    printf("embedding_model %s\n", aurora_router_embedding_model(r));
    char *summary = aurora_router_summary_json(r);
    CHECK(summary != NULL && strstr(summary, "\"models\"") != NULL);
    aurora_string_free(summary);

    /* The same profile from bytes. */
    size_t json_len = 0;
    char *json = read_file(profile, &json_len);
    CHECK(json != NULL);
    AuroraRouter *r2 = aurora_router_from_json((const uint8_t *)json, json_len);
    free(json);
    CHECK(r2 != NULL);

    size_t vec_len = 0;
    float *vectors = (float *)read_file(argv[2], &vec_len);
    CHECK(vectors != NULL && vec_len == n * dim * sizeof(float));
    if (!vectors || vec_len != n * dim * sizeof(float)) return 1;

    AuroraRoute *at_half = calloc(n, sizeof(AuroraRoute));
    for (size_t i = 0; i < n; i++) {
        for (size_t p = 0; p < N_PREFS; p++) {
            AuroraRoute out, out2;
            int rc = aurora_router_route_embedding(r, vectors + i * dim, dim, PREFS[p], &out);
            CHECK(rc == AURORA_STATUS_OK);
            CHECK(aurora_router_route_embedding(r2, vectors + i * dim, dim, PREFS[p], &out2) ==
                  AURORA_STATUS_OK);
            CHECK(memcmp(&out, &out2, sizeof out) == 0);
            if (rc == AURORA_STATUS_OK) print_route('E', i, PREFS[p], &out);
            if (p == 2) at_half[i] = out;
        }
    }

    struct worker w = {r2, vectors, n, dim, calloc(n, sizeof(AuroraRoute)), 0};
    pthread_t t;
    CHECK(pthread_create(&t, NULL, work, &w) == 0);
    error_paths(r, vectors, dim);
    pthread_join(t, NULL);
    CHECK(w.ok);
    CHECK(memcmp(w.out, at_half, n * sizeof(AuroraRoute)) == 0);
    free(w.out);
    free(at_half);

    /* The MiniLM profile refuses the mock embedder. */
    AuroraEmbedder *mock = aurora_embedder_open_mock(dim);
    if (mock) {
        AuroraRoute out;
        CHECK(aurora_router_route_text(r, mock, "What is 2 + 2?", 0.0f, &out) ==
              AURORA_STATUS_EMBEDDER_MISMATCH);
        CHECK(strstr(aurora_last_error(), "does not match") != NULL);
        aurora_embedder_free(mock);
    }

    if (argc == 6) route_texts(argv[4], argv[5]);

    free(vectors);
    aurora_router_free(r2);
    aurora_router_free(r);
    if (failures) {
        fprintf(stderr, "%d check(s) failed\n", failures);
        return 1;
    }
    fprintf(stderr, "route_test: all checks passed\n");
    return 0;
}
