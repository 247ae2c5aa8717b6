//! Reply templates for Swift / Kotlin: `Templates.load(bytes, embedder)`
//! re-embeds a `templates` section with the serving embedder (built-in or
//! the app's own), then `matchText` / `matchEmbedding`.
//!
//! ```kotlin
//! val templates = Templates.load(bytes, CactusEmbedder(modelPath))
//! val m = templates.matchText("wanna grab lunch?", embedder)
//! if (m.matched) println(m.response)
//! ```

use std::sync::Arc;

use super::{Embedder, RouterError};
use crate::embed::{self, EmbedError};
use crate::templates::{TemplateError, TemplateSet};

impl From<TemplateError> for RouterError {
    fn from(e: TemplateError) -> Self {
        match e {
            TemplateError::Profile(p) => p.into(),
            TemplateError::Embed(x) => x.into(),
            TemplateError::Dimension { expected, got } => RouterError::Dimension {
                expected: expected as u64,
                got: got as u64,
            },
            e @ TemplateError::InvalidEmbedding(_) => RouterError::InvalidEmbedding {
                reason: e.to_string(),
            },
            e @ TemplateError::InvalidParam { .. } => RouterError::InvalidOption {
                reason: e.to_string(),
            },
            e => RouterError::InvalidProfile {
                reason: e.to_string(),
            },
        }
    }
}

/// Adapts a foreign [`Embedder`] to the core trait.
struct Foreign {
    inner: Arc<dyn Embedder>,
    model_id: String,
    dim: usize,
    is_mock: bool,
}

impl Foreign {
    fn new(inner: Arc<dyn Embedder>) -> Self {
        Foreign {
            model_id: inner.model_id(),
            dim: inner.dim() as usize,
            is_mock: inner.is_mock(),
            inner,
        }
    }
}

impl embed::Embedder for Foreign {
    fn embed(&self, text: &str) -> Result<Vec<f32>, EmbedError> {
        if text.trim().is_empty() {
            return Err(EmbedError::EmptyText);
        }
        self.inner
            .embed(text.to_string())
            .map_err(|e| EmbedError::Npy {
                path: format!("embedder {}", self.model_id).into(),
                reason: e.to_string(),
            })
    }
    fn dim(&self) -> usize {
        self.dim
    }
    fn model_id(&self) -> &str {
        &self.model_id
    }
    fn is_mock(&self) -> bool {
        self.is_mock
    }
}

/// The best template for a query (`TemplateMatch` in Swift and Kotlin).
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct TemplateMatch {
    /// Index of the template.
    pub template: u32,
    /// The template's representative incoming message.
    pub incoming: String,
    /// The suggested reply: the template's representative response.
    pub response: String,
    /// Cosine similarity to the template (plus its coherence term).
    pub score: f32,
    /// Whether the score clears the threshold ("a template fits").
    pub matched: bool,
}

/// A loaded template set (`Templates` in Swift and Kotlin): immutable and
/// thread-safe.
#[derive(Debug, uniffi::Object)]
pub struct Templates {
    inner: TemplateSet,
}

impl Templates {
    fn to_match(&self, m: crate::templates::TemplateMatch) -> TemplateMatch {
        let t = self.inner.template(m.template);
        TemplateMatch {
            template: m.template as u32,
            incoming: t.representative_incoming.clone(),
            response: t.representative_response.clone(),
            score: m.score,
            matched: m.matched,
        }
    }
}

#[uniffi::export]
impl Templates {
    /// Loads a profile file's `templates` section and re-embeds it with the
    /// serving `embedder`, using the section's calibrated threshold for it
    /// (an error when there is none).
    #[uniffi::constructor]
    pub fn load(bytes: Vec<u8>, embedder: Arc<dyn Embedder>) -> Result<Arc<Self>, RouterError> {
        crate::ffi::fault::point();
        let e = Foreign::new(embedder);
        Ok(Arc::new(Templates {
            inner: TemplateSet::load(&bytes, &e)?,
        }))
    }

    /// As `load`, with an explicit threshold.
    #[uniffi::constructor]
    pub fn load_with_threshold(
        bytes: Vec<u8>,
        embedder: Arc<dyn Embedder>,
        threshold: f32,
    ) -> Result<Arc<Self>, RouterError> {
        crate::ffi::fault::point();
        let e = Foreign::new(embedder);
        Ok(Arc::new(Templates {
            inner: TemplateSet::load_with_threshold(&bytes, &e, threshold)?,
        }))
    }

    /// Embeds `text` with `embedder` (the serving model) and matches it.
    pub fn match_text(
        &self,
        text: String,
        embedder: Arc<dyn Embedder>,
    ) -> Result<TemplateMatch, RouterError> {
        crate::ffi::fault::point();
        let e = Foreign::new(embedder);
        Ok(self.to_match(self.inner.match_text(&text, &e)?))
    }

    /// Matches an embedding made by the serving model.
    pub fn match_embedding(&self, embedding: Vec<f32>) -> Result<TemplateMatch, RouterError> {
        crate::ffi::fault::point();
        Ok(self.to_match(self.inner.match_embedding(&embedding)?))
    }

    /// Number of templates.
    pub fn count(&self) -> u32 {
        crate::ffi::fault::point();
        self.inner.len() as u32
    }

    /// The threshold in use.
    pub fn threshold(&self) -> f32 {
        crate::ffi::fault::point();
        self.inner.threshold()
    }
}
