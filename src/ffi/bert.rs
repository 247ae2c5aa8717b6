//! C entry point of the pure-Rust all-MiniLM-L6-v2 / BERT embedder (feature
//! `bert`).

use std::ffi::c_char;
use std::ptr;

use super::{c_str, embedder_handle, guard, AuroraEmbedder};
use crate::embed::MiniLmEmbedder;

/// Opens the sentence-transformers BERT folder at `path` (UTF-8), e.g.
/// `models/all-MiniLM-L6-v2` from `scripts/fetch-minilm.sh`: `config.json`,
/// `model.safetensors`, `tokenizer.json`, `modules.json` and the pooling
/// config. The model id is the folder's name. Texts longer than the model's
/// `max_seq_length` (256 tokens for all-MiniLM-L6-v2) are truncated.
/// Returns `NULL` on error (`AURORA_STATUS_EMBEDDER`; see
/// `aurora_last_error`). Free with `aurora_embedder_free`.
///
/// # Safety
///
/// `path` is NULL or a NUL-terminated string.
#[no_mangle]
pub unsafe extern "C" fn aurora_embedder_open_minilm(path: *const c_char) -> *mut AuroraEmbedder {
    guard(
        |_| ptr::null_mut(),
        || {
            // SAFETY: forwarded contract.
            let path = unsafe { c_str(path, "path") }?;
            Ok(embedder_handle(MiniLmEmbedder::open(path)?))
        },
    )
}
