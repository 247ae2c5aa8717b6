/*
 * The semantic-routes C ABI from C: load a route file (from a path and from
 * bytes), match embeddings, route a conversation with a session, and check
 * that bad input gets a negative status and a message, never a crash.
 *
 * usage: routes_test ROUTES.json VECTORS.f32 N
 *   VECTORS.f32: N little-endian float32 rows of the routes' dimension.
 * Prints one line per match, "M <row> <route> <best> <score bits hex>", and
 * per session turn, "S <row> <route> <best>"; tests/ffi_c.rs compares them
 * with the Rust RouteSet / RouteSession.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "aurora_router.h"

#define CHECK(cond, ...)                                                   \
    do {                                                                   \
        if (!(cond)) {                                                     \
            fprintf(stderr, "%s:%d: check failed: %s: ", __FILE__,         \
                    __LINE__, #cond);                                      \
            fprintf(stderr, __VA_ARGS__);                                  \
            fprintf(stderr, "\n");                                         \
            exit(1);                                                       \
        }                                                                  \
    } while (0)

static uint8_t *read_file(const char *path, size_t *len) {
    FILE *f = fopen(path, "rb");
    CHECK(f != NULL, "cannot open %s", path);
    CHECK(fseek(f, 0, SEEK_END) == 0, "seek %s", path);
    long n = ftell(f);
    CHECK(n >= 0, "tell %s", path);
    rewind(f);
    uint8_t *buf = malloc((size_t)n + 1);
    CHECK(buf != NULL, "out of memory");
    CHECK(fread(buf, 1, (size_t)n, f) == (size_t)n, "short read of %s", path);
    fclose(f);
    *len = (size_t)n;
    return buf;
}

static uint32_t bits(float x) {
    uint32_t b;
    memcpy(&b, &x, sizeof b);
    return b;
}

int main(int argc, char **argv) {
    CHECK(argc == 4, "usage: routes_test ROUTES.json VECTORS.f32 N");
    size_t n = (size_t)strtoul(argv[3], NULL, 10);

    AuroraRoutes *r = aurora_routes_from_path(argv[1]);
    CHECK(r != NULL, "from_path: %s", aurora_last_error());
    size_t count = aurora_routes_count(r);
    CHECK(count > 1, "count %zu", count);
    printf("routes %zu\n", count);
    for (size_t i = 0; i < count; i++) {
        const char *name = aurora_routes_name(r, i);
        CHECK(name != NULL && name[0] != '\0', "name %zu", i);
        printf("name %zu %s\n", i, name);
    }
    CHECK(aurora_routes_name(r, count) == NULL, "name past the end");

    /* The same file from bytes gives the same routes. */
    size_t jlen = 0;
    uint8_t *json = read_file(argv[1], &jlen);
    AuroraRoutes *r2 = aurora_routes_from_json(json, jlen);
    CHECK(r2 != NULL, "from_json: %s", aurora_last_error());
    CHECK(aurora_routes_count(r2) == count, "count from bytes");

    size_t vlen = 0;
    float *vectors = (float *)read_file(argv[2], &vlen);
    CHECK(n > 0 && vlen % (n * sizeof(float)) == 0, "vectors size %zu", vlen);
    size_t dim = vlen / (n * sizeof(float));

    AuroraRouteSession *s = aurora_route_session_new(r);
    CHECK(s != NULL, "session_new: %s", aurora_last_error());
    for (size_t i = 0; i < n; i++) {
        AuroraRouteMatch m, m2, t;
        CHECK(aurora_routes_match_embedding(r, vectors + i * dim, dim, &m) == 0,
              "match %zu: %s", i, aurora_last_error());
        CHECK(aurora_routes_match_embedding(r2, vectors + i * dim, dim, &m2) == 0,
              "match (bytes) %zu", i);
        CHECK(m.route == m2.route && bits(m.score) == bits(m2.score),
              "row %zu: path and bytes disagree", i);
        CHECK(m.best < count && m.score >= 0.0f && m.score <= 1.0f, "row %zu", i);
        CHECK(m.runner_up >= 0 && (uint32_t)m.runner_up != m.best, "row %zu", i);
        printf("M %zu %d %u %08x\n", i, m.route, m.best, bits(m.score));
        CHECK(aurora_route_session_push_embedding(s, vectors + i * dim, dim, &t) == 0,
              "push %zu: %s", i, aurora_last_error());
        printf("S %zu %d %u\n", i, t.route, t.best);
    }
    CHECK(aurora_route_session_reset(s) == 0, "reset");

    /* Bad input: a status and a message, never a crash. */
    AuroraRouteMatch m;
    CHECK(aurora_routes_match_embedding(r, vectors, dim - 1, &m) == AURORA_STATUS_DIMENSION,
          "short vector");
    CHECK(strlen(aurora_last_error()) > 0, "dimension message");
    float *nan = malloc(dim * sizeof(float));
    CHECK(nan != NULL, "out of memory");
    memcpy(nan, vectors, dim * sizeof(float));
    nan[dim / 2] = 0.0f / 0.0f;
    CHECK(aurora_routes_match_embedding(r, nan, dim, &m) == AURORA_STATUS_INVALID_EMBEDDING,
          "NaN");
    CHECK(aurora_routes_match_embedding(NULL, vectors, dim, &m) == AURORA_STATUS_NULL_POINTER,
          "null routes");
    CHECK(aurora_routes_match_embedding(r, NULL, dim, &m) == AURORA_STATUS_NULL_POINTER,
          "null vector");
    CHECK(aurora_routes_match_embedding(r, vectors, dim, NULL) == AURORA_STATUS_NULL_POINTER,
          "null out");
    CHECK(aurora_route_session_push_embedding(s, vectors, dim + 1, &m) == AURORA_STATUS_DIMENSION,
          "session short vector");
    CHECK(aurora_route_session_push_embedding(NULL, vectors, dim, &m) == AURORA_STATUS_NULL_POINTER,
          "null session");
    CHECK(aurora_route_session_new(NULL) == NULL, "session of NULL");
    CHECK(aurora_routes_count(NULL) == 0, "count of NULL");
    const char *garbage = "{\"version\":\"3.0\",\"routes\":{\"format\":1}}";
    CHECK(aurora_routes_from_json((const uint8_t *)garbage, strlen(garbage)) == NULL,
          "garbage accepted");
    CHECK(aurora_last_error_code() == AURORA_STATUS_PROFILE, "garbage status %d",
          aurora_last_error_code());
    CHECK(aurora_routes_from_path("/nonexistent/routes.json") == NULL, "missing file");
    CHECK(strstr(aurora_last_error(), "/nonexistent/routes.json") != NULL,
          "the message names the file: %s", aurora_last_error());

    free(nan);
    free(vectors);
    free(json);
    aurora_route_session_free(s);
    aurora_route_session_free(NULL);
    aurora_routes_free(r2);
    aurora_routes_free(r);
    aurora_routes_free(NULL);
    printf("ok\n");
    return 0;
}
