/*
 * cactus_mock.c - a deterministic stand-in for the Cactus engine.
 *
 * Implements the functions of include/cactus_engine.h so that the Rust side
 * runs exactly the FFI code path it runs against the real engine, plus
 * cactus_mock_live_handles() for tests.
 *
 * Completion (a plumbing backend, not a language model): a multiple-choice
 * prompt (option lines "A. ...", "B. ..." or "(A) ...") is answered "The
 * answer is (X)." with X a seeded hash of the model path and the messages;
 * anything else gets "mock completion <16 hex digits>". Tokens are streamed
 * one by one, "max_tokens" in options_json is honoured and cactus_stop()
 * stops generation after the current token, like the real engine.
 *
 * Embeddings: signed feature hashing of lower-cased word unigrams and of
 * character 3-, 4- and 5-grams (over Unicode code points) of each word padded
 * fastText-style as "<word>", with sqrt(tf) term weights, L2-normalised on
 * request. The result must be bit-identical on every architecture, hence:
 *   - no locale functions (ASCII is lower-cased by hand),
 *   - FNV-1a 64 + a fixed mixer for hashing, no rand(),
 *   - term hashes are sorted and summed in that fixed order, in double,
 *   - only +, -, *, / and sqrt (all correctly rounded in IEEE 754), no libm
 *     log/exp, and the file must be compiled with -ffp-contract=off so that
 *     no multiply-add is fused.
 */
#include "cactus_engine.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#if defined(_MSC_VER) && !defined(__clang__)
#include <intrin.h>
#define MOCK_TLS __declspec(thread)
#else
#define MOCK_TLS _Thread_local
#endif

#ifndef S_ISDIR
#define S_ISDIR(m) (((m) & S_IFMT) == S_IFDIR)
#endif

#define MOCK_MAGIC 0x4b434f4du /* "MOCK" */
#define MOCK_DEFAULT_DIM 384u
#define MOCK_MAX_DIM 65536u
#define MOCK_MAX_MODEL_FILE 4096
#define MOCK_WORD_WEIGHT 1.0
#define MOCK_GRAM_WEIGHT 0.25

/* Exported for tests only: number of handles created and not yet destroyed. */
int64_t cactus_mock_live_handles(void);

typedef struct mock_model {
    uint32_t magic;
    uint32_t dim;
    /* Seed of the completions: a hash of the model path, so that two mock
     * "models" answer differently. */
    uint64_t seed;
    /* Set by cactus_stop, cleared when cactus_complete starts. */
    volatile long stop;
} mock_model;

/* ------------------------------------------------------------------------ */
/* Last error (thread-local) and the live-handle counter                    */

static MOCK_TLS char g_last_error[4096];

static void set_error(const char* fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(g_last_error, sizeof g_last_error, fmt, ap);
    va_end(ap);
}

#if defined(_MSC_VER) && !defined(__clang__)
static volatile long long g_live_handles;
static void live_add(long long d) { _InterlockedExchangeAdd64(&g_live_handles, d); }
static long long live_load(void) { return _InterlockedCompareExchange64(&g_live_handles, 0, 0); }
#else
static long long g_live_handles;
static void live_add(long long d) { __atomic_fetch_add(&g_live_handles, d, __ATOMIC_SEQ_CST); }
static long long live_load(void) { return __atomic_load_n(&g_live_handles, __ATOMIC_SEQ_CST); }
#endif

int64_t cactus_mock_live_handles(void) { return (int64_t)live_load(); }

const char* cactus_get_last_error(void) { return g_last_error; }

/* ------------------------------------------------------------------------ */
/* Hashing                                                                  */

#define FNV_OFFSET 0xcbf29ce484222325ull
#define FNV_PRIME 0x100000001b3ull

static uint64_t fnv_byte(uint64_t h, unsigned char b) { return (h ^ b) * FNV_PRIME; }

static uint64_t fnv_bytes(uint64_t h, const unsigned char* p, size_t n) {
    for (size_t i = 0; i < n; i++) h = fnv_byte(h, p[i]);
    return h;
}

/* splitmix64 finaliser: spreads FNV's weak high bits over the whole word. */
static uint64_t mix64(uint64_t x) {
    x ^= x >> 30;
    x *= 0xbf58476d1ce4e5b9ull;
    x ^= x >> 27;
    x *= 0x94d049bb133111ebull;
    x ^= x >> 31;
    return x;
}

static int cmp_u64(const void* a, const void* b) {
    uint64_t x = *(const uint64_t*)a, y = *(const uint64_t*)b;
    return (x > y) - (x < y);
}

/* ------------------------------------------------------------------------ */
/* Tokenisation                                                             */

/* Non-ASCII bytes and ASCII letters/digits are word bytes; the rest of ASCII
 * (space, punctuation, control characters) separates words. */
static int is_word_byte(unsigned char c) {
    return c >= 0x80 || (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') ||
           (c >= 'A' && c <= 'Z');
}

static unsigned char ascii_lower(unsigned char c) {
    return (c >= 'A' && c <= 'Z') ? (unsigned char)(c + ('a' - 'A')) : c;
}

/* Lenient UTF-8 decoding of one code point at s[*i] (n bytes in total).
 * A malformed, overlong, surrogate or truncated sequence yields 0xDC00 + the
 * first byte (a lone surrogate, which valid UTF-8 never decodes to) and
 * consumes that one byte. */
static uint32_t next_code_point(const unsigned char* s, size_t n, size_t* i) {
    unsigned char b = s[*i];
    uint32_t cp, min;
    size_t len;
    if (b < 0x80) {
        *i += 1;
        return b;
    } else if (b >= 0xc2 && b <= 0xdf) {
        len = 2, cp = b & 0x1fu, min = 0x80;
    } else if (b >= 0xe0 && b <= 0xef) {
        len = 3, cp = b & 0x0fu, min = 0x800;
    } else if (b >= 0xf0 && b <= 0xf4) {
        len = 4, cp = b & 0x07u, min = 0x10000;
    } else {
        goto invalid;
    }
    if (n - *i < len) goto invalid;
    for (size_t k = 1; k < len; k++) {
        unsigned char c = s[*i + k];
        if ((c & 0xc0u) != 0x80u) goto invalid;
        cp = (cp << 6) | (c & 0x3fu);
    }
    if (cp < min || cp > 0x10ffffu || (cp >= 0xd800u && cp <= 0xdfffu)) goto invalid;
    *i += len;
    return cp;
invalid:
    *i += 1;
    return 0xdc00u + b;
}

static uint64_t hash_word(const unsigned char* w, size_t n) {
    uint64_t h = fnv_byte(FNV_OFFSET, 'W');
    return mix64(fnv_bytes(h, w, n));
}

static uint64_t hash_gram(const uint32_t* cps, size_t k) {
    uint64_t h = fnv_byte(fnv_byte(FNV_OFFSET, 'G'), (unsigned char)k);
    for (size_t i = 0; i < k; i++) {
        uint32_t c = cps[i]; /* little-endian byte order, whatever the host */
        h = fnv_byte(h, (unsigned char)(c & 0xffu));
        h = fnv_byte(h, (unsigned char)((c >> 8) & 0xffu));
        h = fnv_byte(h, (unsigned char)((c >> 16) & 0xffu));
        h = fnv_byte(h, (unsigned char)((c >> 24) & 0xffu));
    }
    return mix64(h);
}

static size_t count_words(const unsigned char* s, size_t n) {
    size_t words = 0;
    for (size_t i = 0; i < n; i++)
        if (is_word_byte(s[i]) && (i == 0 || !is_word_byte(s[i - 1]))) words++;
    return words;
}

/* Adds the features of one distinct-hash run to acc, in sorted order. */
static void accumulate(double* acc, uint32_t dim, const uint64_t* h, size_t n, double weight) {
    size_t i = 0;
    while (i < n) {
        size_t j = i + 1;
        while (j < n && h[j] == h[i]) j++;
        double v = weight * sqrt((double)(j - i));
        uint64_t x = h[i];
        uint32_t idx = (uint32_t)(x % dim);
        if (x >> 63)
            acc[idx] -= v;
        else
            acc[idx] += v;
        i = j;
    }
}

/* Computes the embedding of s (n bytes) into out[0..dim). Returns 0, or -1
 * with the last error set. */
static int mock_embed(const unsigned char* s, size_t n, uint32_t dim, bool normalize, float* out) {
    size_t words = 0, max_word = 0, grams_cap = 0;
    if (n > ((size_t)-1) / 64) {
        set_error("text is too long (%zu bytes)", n);
        return -1;
    }
    for (size_t i = 0; i < n;) {
        if (!is_word_byte(s[i])) {
            i++;
            continue;
        }
        size_t start = i;
        while (i < n && is_word_byte(s[i])) i++;
        size_t len = i - start;
        words++;
        if (len > max_word) max_word = len;
        grams_cap += 3 * (len + 2);
    }
    if (words == 0) {
        set_error("text has no tokens");
        return -1;
    }

    uint64_t* word_h = malloc(words * sizeof *word_h);
    uint64_t* gram_h = malloc(grams_cap * sizeof *gram_h);
    unsigned char* lower = malloc(max_word);
    uint32_t* cps = malloc((max_word + 2) * sizeof *cps);
    double* acc = calloc(dim, sizeof *acc);
    int rc = -1;
    if (!word_h || !gram_h || !lower || !cps || !acc) {
        set_error("out of memory embedding %zu bytes of text", n);
        goto done;
    }

    size_t nw = 0, ng = 0;
    for (size_t i = 0; i < n;) {
        if (!is_word_byte(s[i])) {
            i++;
            continue;
        }
        size_t len = 0;
        while (i < n && is_word_byte(s[i])) lower[len++] = ascii_lower(s[i++]);
        word_h[nw++] = hash_word(lower, len);

        size_t m = 0;
        cps[m++] = '<';
        for (size_t j = 0; j < len;) cps[m++] = next_code_point(lower, len, &j);
        cps[m++] = '>';
        for (size_t k = 3; k <= 5; k++)
            for (size_t start = 0; start + k <= m; start++) gram_h[ng++] = hash_gram(cps + start, k);
    }

    qsort(word_h, nw, sizeof *word_h, cmp_u64);
    qsort(gram_h, ng, sizeof *gram_h, cmp_u64);
    accumulate(acc, dim, word_h, nw, MOCK_WORD_WEIGHT);
    accumulate(acc, dim, gram_h, ng, MOCK_GRAM_WEIGHT);

    if (normalize) {
        double sum = 0.0;
        for (uint32_t d = 0; d < dim; d++) sum += acc[d] * acc[d];
        if (!(sum > 0.0)) {
            set_error("embedding is degenerate (all features cancelled out)");
            goto done;
        }
        double norm = sqrt(sum);
        for (uint32_t d = 0; d < dim; d++) out[d] = (float)(acc[d] / norm);
    } else {
        for (uint32_t d = 0; d < dim; d++) out[d] = (float)acc[d];
    }
    rc = 0;

done:
    free(word_h);
    free(gram_h);
    free(lower);
    free(cps);
    free(acc);
    return rc;
}

/* ------------------------------------------------------------------------ */
/* Model loading                                                            */

/* Parses a decimal dimension in 1..=MOCK_MAX_DIM; returns 0 if invalid. */
static uint32_t parse_dim(const char* p, size_t n) {
    uint32_t v = 0;
    if (n == 0) return 0;
    for (size_t i = 0; i < n; i++) {
        if (p[i] < '0' || p[i] > '9') return 0;
        v = v * 10u + (uint32_t)(p[i] - '0');
        if (v > MOCK_MAX_DIM) return 0;
    }
    return v;
}

static int is_blank(char c) { return c == ' ' || c == '\t' || c == '\r'; }

/* Reads a mock model file ("dim=N" lines, '#' comments). Returns the
 * dimension, or 0 with the last error set. */
static uint32_t read_model_file(const char* path) {
    char buf[MOCK_MAX_MODEL_FILE + 1];
    FILE* f = fopen(path, "rb");
    if (!f) {
        set_error("cannot open mock model file %s", path);
        return 0;
    }
    size_t n = fread(buf, 1, sizeof buf, f);
    fclose(f);
    if (n > MOCK_MAX_MODEL_FILE) {
        set_error("mock model file %s is too large (expected a small text file like \"dim=64\")", path);
        return 0;
    }
    if (memchr(buf, '\0', n)) {
        set_error("mock model file %s is not text (expected \"dim=N\")", path);
        return 0;
    }

    uint32_t dim = 0;
    size_t i = 0;
    while (i < n) {
        size_t end = i;
        while (end < n && buf[end] != '\n') end++;
        size_t a = i, b = end;
        i = end + 1;
        while (a < b && is_blank(buf[a])) a++;
        while (b > a && is_blank(buf[b - 1])) b--;
        if (a == b || buf[a] == '#') continue;
        const char* eq = memchr(buf + a, '=', b - a);
        size_t k = eq ? (size_t)(eq - (buf + a)) : 0;
        while (k > 0 && is_blank(buf[a + k - 1])) k--;
        if (!eq || k != 3 || memcmp(buf + a, "dim", 3) != 0 || dim != 0) {
            set_error("mock model file %s: expected a single line \"dim=N\" (1 <= N <= %u)", path,
                      MOCK_MAX_DIM);
            return 0;
        }
        size_t v = (size_t)(eq - buf) + 1;
        while (v < b && is_blank(buf[v])) v++;
        dim = parse_dim(buf + v, b - v);
        if (dim == 0) {
            set_error("mock model file %s: invalid dimension \"%.*s\" (expected 1 <= N <= %u)", path,
                      (int)(b - v), buf + v, MOCK_MAX_DIM);
            return 0;
        }
    }
    if (dim == 0) {
        set_error("mock model file %s: no \"dim=N\" line", path);
        return 0;
    }
    return dim;
}

cactus_model_t cactus_init(const char* model_path, const char* corpus_dir, bool cache_index) {
    (void)corpus_dir;
    (void)cache_index;
    uint32_t dim;
    if (!model_path) {
        set_error("model_path is NULL");
        return NULL;
    }
    if (strncmp(model_path, "mock:", 5) == 0) {
        const char* spec = model_path + 5;
        dim = *spec ? parse_dim(spec, strlen(spec)) : MOCK_DEFAULT_DIM;
        if (dim == 0) {
            set_error("invalid mock model path %s: expected \"mock:\" or \"mock:N\" (1 <= N <= %u)", model_path,
                      MOCK_MAX_DIM);
            return NULL;
        }
    } else {
        struct stat st;
        if (stat(model_path, &st) != 0) {
            set_error("model path does not exist: %s", model_path);
            return NULL;
        }
        dim = S_ISDIR(st.st_mode) ? MOCK_DEFAULT_DIM : read_model_file(model_path);
        if (dim == 0) return NULL;
    }

    mock_model* m = malloc(sizeof *m);
    if (!m) {
        set_error("out of memory loading %s", model_path);
        return NULL;
    }
    m->magic = MOCK_MAGIC;
    m->dim = dim;
    m->seed = mix64(fnv_bytes(fnv_byte(FNV_OFFSET, 'M'), (const unsigned char*)model_path, strlen(model_path)));
    m->stop = 0;
    live_add(1);
    return m;
}

void cactus_destroy(cactus_model_t model) {
    mock_model* m = model;
    if (!m || m->magic != MOCK_MAGIC) return;
    m->magic = 0;
    free(m);
    live_add(-1);
}

static mock_model* check_model(cactus_model_t model, const char* fn) {
    mock_model* m = model;
    if (!m) {
        set_error("%s: model is NULL", fn);
        return NULL;
    }
    if (m->magic != MOCK_MAGIC) {
        set_error("%s: not a live mock model handle", fn);
        return NULL;
    }
    return m;
}

/* ------------------------------------------------------------------------ */
/* Embedding                                                                */

int cactus_embed(cactus_model_t model, const char* text, float* embeddings_buffer, size_t buffer_size,
                 size_t* embedding_dim, bool normalize) {
    mock_model* m = check_model(model, "cactus_embed");
    if (!m) return -1;
    if (!text || !embedding_dim) {
        set_error("cactus_embed: %s is NULL", text ? "embedding_dim" : "text");
        return -1;
    }
    size_t n = strlen(text);
    if (count_words((const unsigned char*)text, n) == 0) {
        set_error("text has no tokens");
        return -1;
    }
    if (buffer_size / sizeof(float) < m->dim) {
        *embedding_dim = m->dim;
        set_error("cactus_embed: buffer too small: %zu bytes given, %zu needed", buffer_size,
                  (size_t)m->dim * sizeof(float));
        return -2;
    }
    if (!embeddings_buffer) {
        set_error("cactus_embed: embeddings_buffer is NULL");
        return -1;
    }
    if (mock_embed((const unsigned char*)text, n, m->dim, normalize, embeddings_buffer) != 0) return -1;
    *embedding_dim = m->dim;
    return (int)m->dim;
}

/* ------------------------------------------------------------------------ */
/* Completion                                                               */

/* Number of options of a multiple-choice prompt: the longest run A, B, ...
 * of letters each found as an option label ("\nX. ", "\\nX. " inside a JSON
 * string, or "(X) "). Returns 0 when fewer than two are found. */
static unsigned count_options(const char* s) {
    unsigned n = 0;
    for (char letter = 'A'; letter <= 'Z'; letter++) {
        char a[8], b[8], c[8];
        snprintf(a, sizeof a, "\n%c. ", letter);
        snprintf(b, sizeof b, "\\n%c. ", letter);
        snprintf(c, sizeof c, "(%c) ", letter);
        if (!strstr(s, a) && !strstr(s, b) && !strstr(s, c)) break;
        n++;
    }
    return n >= 2 ? n : 0;
}

/* "max_tokens" from options_json, or default_max when absent or invalid. */
static size_t parse_max_tokens(const char* options_json, size_t default_max) {
    if (!options_json) return default_max;
    const char* p = strstr(options_json, "\"max_tokens\"");
    if (!p) return default_max;
    p += strlen("\"max_tokens\"");
    while (*p == ' ' || *p == ':' || *p == '\t') p++;
    size_t v = 0, digits = 0;
    while (*p >= '0' && *p <= '9' && digits < 9) v = v * 10 + (size_t)(*p++ - '0'), digits++;
    return digits ? v : default_max;
}

#if defined(_MSC_VER) && !defined(__clang__)
static void stop_store(mock_model* m, long v) { _InterlockedExchange(&m->stop, v); }
static int stop_requested(mock_model* m) { return _InterlockedCompareExchange(&m->stop, 0, 0) != 0; }
#else
static void stop_store(mock_model* m, long v) { __atomic_store_n(&m->stop, v, __ATOMIC_SEQ_CST); }
static int stop_requested(mock_model* m) { return __atomic_load_n(&m->stop, __ATOMIC_SEQ_CST) != 0; }
#endif

void cactus_stop(cactus_model_t model) {
    mock_model* m = model;
    if (!m || m->magic != MOCK_MAGIC) return;
    stop_store(m, 1);
}

void cactus_reset(cactus_model_t model) { (void)model; }

/* Writes {"success":false,"error":msg} into the buffer when it fits. */
static void error_response(char* buf, size_t size, const char* msg) {
    if (!buf || size == 0) return;
    int len = snprintf(NULL, 0, "{\"success\":false,\"error\":\"%s\"}", msg);
    if (len >= 0 && (size_t)len < size) snprintf(buf, size, "{\"success\":false,\"error\":\"%s\"}", msg);
}

int cactus_complete(cactus_model_t model, const char* messages_json, char* response_buffer, size_t buffer_size,
                    const char* options_json, const char* tools_json, cactus_token_callback callback,
                    void* user_data) {
    (void)tools_json;
    mock_model* m = check_model(model, "cactus_complete");
    if (!m) return -1;
    if (!messages_json || !response_buffer || buffer_size == 0) {
        set_error("cactus_complete: %s", messages_json ? "response_buffer is NULL or empty" : "messages_json is NULL");
        error_response(response_buffer, buffer_size, "Invalid parameters");
        return -1;
    }
    stop_store(m, 0);

    size_t n = strlen(messages_json);
    uint64_t h = mix64(fnv_bytes(m->seed, (const unsigned char*)messages_json, n));
    size_t prefill = count_words((const unsigned char*)messages_json, n);
    unsigned options = count_options(messages_json);

    /* The pieces of the answer, streamed one token each. Nothing from the
     * input is echoed, so nothing needs escaping. */
    char hex[18], letter[3];
    const char* pieces[16];
    size_t planned = 0;
    if (options) {
        letter[0] = (char)('A' + (int)(h % options));
        letter[1] = 0;
        const char* mc[] = {"Let", "'s", " think", " step", " by", " step", ".", " The", " answer", " is", " (", letter, ")."};
        for (size_t i = 0; i < sizeof mc / sizeof mc[0]; i++) pieces[planned++] = mc[i];
    } else {
        snprintf(hex, sizeof hex, " %016llx", (unsigned long long)h);
        pieces[planned++] = "mock";
        pieces[planned++] = " completion";
        pieces[planned++] = hex;
    }
    size_t max_tokens = parse_max_tokens(options_json, 512);
    if (max_tokens == 0) max_tokens = 1;

    char text[256];
    size_t text_len = 0, decode = 0;
    text[0] = 0;
    for (size_t i = 0; i < planned && i < max_tokens; i++) {
        if (i > 0 && stop_requested(m)) break;
        size_t pl = strlen(pieces[i]);
        memcpy(text + text_len, pieces[i], pl + 1);
        text_len += pl;
        decode++;
        if (callback) {
            uint64_t th = fnv_bytes(FNV_OFFSET, (const unsigned char*)pieces[i], pl);
            callback(pieces[i], (uint32_t)(th & 0x7fffffffu), user_data);
        }
    }

    /* Deterministic pseudo-timings (milliseconds), so callers see the fields
     * filled: 0.25 ms per prompt token, 2 ms per generated token. */
    double ttft = 0.25 * (double)prefill;
    double total = ttft + 2.0 * (double)decode;
    char json[1024];
    int len = snprintf(json, sizeof json,
                       "{\"success\":true,\"error\":null,\"cloud_handoff\":false,"
                       "\"response\":\"%s\",\"function_calls\":[],"
                       "\"confidence\":1.0,\"time_to_first_token_ms\":%.2f,\"total_time_ms\":%.2f,"
                       "\"prefill_tps\":4000.0,\"decode_tps\":500.0,\"ram_usage_mb\":0.0,"
                       "\"prefill_tokens\":%zu,\"decode_tokens\":%zu,\"total_tokens\":%zu}",
                       text, ttft, total, prefill, decode, prefill + decode);
    if (len < 0 || (size_t)len >= sizeof json) {
        set_error("cactus_complete: internal formatting error");
        return -1;
    }
    if (buffer_size < (size_t)len + 1) {
        set_error("Response buffer too small");
        error_response(response_buffer, buffer_size, "Response buffer too small");
        return -1;
    }
    memcpy(response_buffer, json, (size_t)len + 1);
    return len;
}
