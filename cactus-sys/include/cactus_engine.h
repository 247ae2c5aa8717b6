/*
 * cactus_engine.h - the C ABI of the Cactus on-device inference engine, as
 * used by cactus-sys. Only the entry points cactus-sys relies on are declared
 * here, with the signatures of upstream cactus/ffi/cactus_ffi.h;
 * src/bindings.rs is generated from this file.
 */
#ifndef CACTUS_ENGINE_H
#define CACTUS_ENGINE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/** Opaque handle to a loaded Cactus model (NULL when loading failed). */
typedef void* cactus_model_t;

/**
 * Streaming callback of cactus_complete: called once per generated token with
 * the token's text (NUL-terminated, valid only during the call), its id and
 * the user_data pointer given to cactus_complete.
 */
typedef void (*cactus_token_callback)(const char* token, uint32_t token_id, void* user_data);

/**
 * Loads the model at model_path. corpus_dir may be NULL; when set, the engine
 * indexes that directory for retrieval (cache_index keeps the index on disk).
 * Returns NULL on failure; cactus_get_last_error() then describes why.
 */
cactus_model_t cactus_init(const char* model_path, const char* corpus_dir, bool cache_index);

/** Frees a model returned by cactus_init. NULL is ignored. */
void cactus_destroy(cactus_model_t model);

/**
 * Embeds the NUL-terminated UTF-8 text into embeddings_buffer, whose size is
 * buffer_size BYTES. Sets *embedding_dim to the model's dimension. Returns the
 * number of floats written (> 0), -1 on error, or -2 if the buffer is too
 * small (then *embedding_dim tells the size needed, in floats). With normalize
 * the vector is scaled to unit L2 norm.
 */
int cactus_embed(cactus_model_t model, const char* text, float* embeddings_buffer,
                 size_t buffer_size, size_t* embedding_dim, bool normalize);

/**
 * Asks a running cactus_complete on this model to stop after the current
 * token. Safe to call from the token callback. cactus_complete clears the
 * request when it starts, so a stop issued before a call has no effect on it.
 */
void cactus_stop(cactus_model_t model);

/** Clears the model's conversation state (KV cache). NULL is ignored. */
void cactus_reset(cactus_model_t model);

/**
 * Runs a chat completion. messages_json is a JSON array of {"role","content"}
 * objects; options_json (e.g. {"max_tokens":64,"temperature":0}) and
 * tools_json may be NULL. The JSON response ({"success","error","response",
 * "time_to_first_token_ms","total_time_ms","prefill_tokens","decode_tokens",
 * "total_tokens",...}) is written NUL-terminated into response_buffer
 * (buffer_size bytes). When callback is non-NULL, each generated token is
 * streamed to it with user_data. Returns the number of bytes written
 * (without the NUL), or -1 on error; an error JSON is then written to
 * response_buffer when it fits ("Response buffer too small" when the
 * response did not).
 */
int cactus_complete(cactus_model_t model, const char* messages_json, char* response_buffer,
                    size_t buffer_size, const char* options_json, const char* tools_json,
                    cactus_token_callback callback, void* user_data);

/**
 * Returns the message of the last error ("" if none). The pointer stays valid
 * until the next Cactus call on the same thread. It is not necessarily reset
 * by successful calls, so it may be stale: only read it right after a call
 * that failed.
 */
const char* cactus_get_last_error(void);

#ifdef __cplusplus
}
#endif

#endif /* CACTUS_ENGINE_H */
