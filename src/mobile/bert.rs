//! The pure-Rust all-MiniLM-L6-v2 / BERT embedder for Swift and Kotlin
//! (feature `bert`).

use std::sync::Arc;

use super::{Embedder, RouterError};
use crate::embed;

/// A built-in embedder running a sentence-transformers BERT folder (e.g.
/// all-MiniLM-L6-v2, shipped with the app) in pure Rust: no Cactus needed.
/// Texts longer than the model's `max_seq_length` (256 tokens for
/// all-MiniLM-L6-v2) are truncated. The model id is the folder's name.
#[derive(uniffi::Object)]
pub struct MiniLmEmbedder {
    inner: embed::MiniLmEmbedder,
}

#[uniffi::export]
impl MiniLmEmbedder {
    /// Opens the sentence-transformers folder at `path` (`config.json`,
    /// `model.safetensors`, `tokenizer.json`, `modules.json`, pooling config).
    #[uniffi::constructor]
    pub fn new(path: String) -> Result<Arc<Self>, RouterError> {
        crate::ffi::fault::point();
        Ok(Arc::new(MiniLmEmbedder {
            inner: embed::MiniLmEmbedder::open(path)?,
        }))
    }

    /// Embeds several texts at once (faster than one by one), in order.
    pub fn embed_batch(&self, texts: Vec<String>) -> Result<Vec<Vec<f32>>, RouterError> {
        crate::ffi::fault::point();
        let refs: Vec<&str> = texts.iter().map(String::as_str).collect();
        Ok(embed::Embedder::embed_batch(&self.inner, &refs)?)
    }
}

#[uniffi::export]
impl Embedder for MiniLmEmbedder {
    fn embed(&self, text: String) -> Result<Vec<f32>, RouterError> {
        crate::ffi::fault::point();
        Ok(embed::Embedder::embed(&self.inner, &text)?)
    }

    fn dim(&self) -> u32 {
        crate::ffi::fault::point();
        embed::Embedder::dim(&self.inner) as u32
    }

    fn model_id(&self) -> String {
        crate::ffi::fault::point();
        embed::Embedder::model_id(&self.inner).to_string()
    }

    fn is_mock(&self) -> bool {
        crate::ffi::fault::point();
        false
    }
}
