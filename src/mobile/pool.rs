//! The model pool in Swift / Kotlin: `ModelPool(router, budgetMb, baseDir)`
//! and `routeAndComplete(text | embedding, messages, costPreference)`.

use std::sync::Arc;

use super::{Embedder, MobileRouter, RouterError};
use crate::pool::{self, PoolError, PoolParams, Query};

impl From<PoolError> for RouterError {
    fn from(e: PoolError) -> Self {
        match e {
            PoolError::Route(r) => r.into(),
            PoolError::Embed(e) => e.into(),
            PoolError::InvalidBudget(_) | PoolError::NoEmbedder => RouterError::InvalidOption {
                reason: e.to_string(),
            },
            _ => RouterError::Model {
                reason: e.to_string(),
            },
        }
    }
}

/// One chat message.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct ChatMessage {
    /// `system`, `user` or `assistant`.
    pub role: String,
    /// The text.
    pub content: String,
}

/// A model left out of a pool decision, and why.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct SkippedModel {
    /// Model name.
    pub model: String,
    /// Why it was excluded or skipped.
    pub reason: String,
}

/// How the pool answered.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct PoolDecision {
    /// The model that generated.
    pub model: String,
    /// Its index in the profile.
    pub model_index: u32,
    /// The nearest cluster.
    pub cluster: u32,
    /// Routing confidence.
    pub confidence: f32,
    /// The model's expected error.
    pub expected_error: f64,
    /// Whether the model was loaded for this call.
    pub loaded: bool,
    /// Models evicted to make room.
    pub evicted: Vec<String>,
    /// Better-ranked models that failed to load.
    pub fallbacks: Vec<SkippedModel>,
    /// Models excluded from routing (too large, no path, no size).
    pub excluded: Vec<SkippedModel>,
}

/// A completion.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct PoolCompletion {
    /// The generated text.
    pub response: String,
    /// Engine time to first token, ms.
    pub time_to_first_token_ms: f64,
    /// Engine total time, ms.
    pub total_time_ms: f64,
    /// Prompt tokens.
    pub prefill_tokens: u64,
    /// Generated tokens.
    pub decode_tokens: u64,
}

/// The decision and the completion.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct PoolAnswer {
    /// How the query was served.
    pub decision: PoolDecision,
    /// What the model generated.
    pub completion: PoolCompletion,
}

fn skipped(v: Vec<pool::Skipped>) -> Vec<SkippedModel> {
    v.into_iter()
        .map(|s| SkippedModel {
            model: s.model,
            reason: s.reason,
        })
        .collect()
}

impl From<pool::PoolAnswer> for PoolAnswer {
    fn from(a: pool::PoolAnswer) -> Self {
        let d = a.decision;
        let c = a.completion;
        PoolAnswer {
            decision: PoolDecision {
                model: d.model,
                model_index: d.model_index as u32,
                cluster: d.cluster as u32,
                confidence: d.confidence,
                expected_error: d.expected_error,
                loaded: d.loaded,
                evicted: d.evicted,
                fallbacks: skipped(d.fallbacks),
                excluded: skipped(d.excluded),
            },
            completion: PoolCompletion {
                response: c.response,
                time_to_first_token_ms: c.time_to_first_token_ms,
                total_time_ms: c.total_time_ms,
                prefill_tokens: c.prefill_tokens,
                decode_tokens: c.decode_tokens,
            },
        }
    }
}

/// Routes, loads under a memory budget and generates (`ModelPool`).
#[derive(Debug, uniffi::Object)]
pub struct ModelPool {
    inner: pool::ModelPool,
}

fn messages(m: Vec<ChatMessage>) -> Vec<cactus_sys::ChatMessage> {
    m.into_iter()
        .map(|m| cactus_sys::ChatMessage::new(m.role, m.content))
        .collect()
}

#[uniffi::export]
impl ModelPool {
    /// A pool over `router`'s models (`path` + `size_mb`) with a budget of
    /// `budget_mb` MB; relative paths resolve against `base_dir`.
    #[uniffi::constructor]
    pub fn new(
        router: Arc<MobileRouter>,
        budget_mb: f64,
        base_dir: Option<String>,
    ) -> Result<Arc<Self>, RouterError> {
        crate::ffi::fault::point();
        let mut params = PoolParams::new().budget_mb(budget_mb);
        if let Some(dir) = base_dir {
            params = params.base_dir(dir);
        }
        let inner = pool::ModelPool::new(router.inner.clone(), &params.check()?)?;
        Ok(Arc::new(ModelPool { inner }))
    }

    /// Routes `embedding`, loads the chosen model and completes `messages`.
    pub fn route_and_complete_embedding(
        &self,
        embedding: Vec<f32>,
        messages: Vec<ChatMessage>,
        cost_preference: f64,
    ) -> Result<PoolAnswer, RouterError> {
        crate::ffi::fault::point();
        let m = self::messages(messages);
        Ok(self
            .inner
            .route_and_complete(Query::Embedding(&embedding), &m, cost_preference)?
            .into())
    }

    /// Embeds `text` with `embedder` (the profile's model), then as
    /// [`route_and_complete_embedding`](Self::route_and_complete_embedding).
    pub fn route_and_complete_text(
        &self,
        embedder: Arc<dyn Embedder>,
        text: String,
        messages: Vec<ChatMessage>,
        cost_preference: f64,
    ) -> Result<PoolAnswer, RouterError> {
        crate::ffi::fault::point();
        let r = self.inner.router();
        if embedder.model_id() != r.embedding_model() || embedder.is_mock() != r.is_mock() {
            return Err(RouterError::EmbedderMismatch {
                profile_model: r.embedding_model().to_string(),
                profile_is_mock: r.is_mock(),
                embedder_model: embedder.model_id(),
                embedder_is_mock: embedder.is_mock(),
            });
        }
        let v = embedder.embed(text)?;
        self.route_and_complete_embedding(v, messages, cost_preference)
    }

    /// Total `size_mb` of the resident models.
    pub fn resident_mb(&self) -> f64 {
        crate::ffi::fault::point();
        self.inner.resident_mb()
    }

    /// Resident model names, least recently used first.
    pub fn resident_models(&self) -> Vec<String> {
        crate::ffi::fault::point();
        self.inner.resident_models()
    }
}
