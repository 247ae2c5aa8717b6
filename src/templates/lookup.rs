//! An [`Embedder`] that looks texts up in precomputed embeddings.

use std::collections::HashMap;

use crate::embed::{EmbedError, Embedder, PrecomputedEmbeddings};

/// Serves the vectors of a fixed set of texts, made elsewhere by a real
/// model (e.g. sentence-transformers all-MiniLM-L6-v2 over a dialogues
/// file): for those texts it is that model. A text not in the table is an
/// error, never a guess.
///
/// It stands in for the serving model when its vectors are precomputed, as
/// when evaluating templates mined from the same corpus.
///
/// ```
/// use aurora_router::embed::{Embedder, PrecomputedEmbeddings};
/// use aurora_router::templates::LookupEmbedder;
/// let m = PrecomputedEmbeddings::from_rows(vec![1.0, 0.0, 0.0, 1.0], 2, "toy", "toy").unwrap();
/// let e = LookupEmbedder::new(["hi", "bye"], &m).unwrap();
/// assert_eq!(e.embed("bye").unwrap(), vec![0.0, 1.0]);
/// assert!(e.embed("hello").is_err());
/// ```
#[derive(Debug, Clone)]
pub struct LookupEmbedder {
    model_id: String,
    dim: usize,
    table: HashMap<String, Vec<f32>>,
}

impl LookupEmbedder {
    /// Row `i` of `m` embeds `texts[i]` (the counts must agree).
    pub fn new<'a>(
        texts: impl IntoIterator<Item = &'a str>,
        m: &PrecomputedEmbeddings,
    ) -> Result<Self, EmbedError> {
        let mut e = LookupEmbedder {
            model_id: m.model_id().to_string(),
            dim: m.dim(),
            table: HashMap::new(),
        };
        e.extend(texts, m)?;
        Ok(e)
    }

    /// Adds more texts with their vectors (same model and dimension).
    pub fn extend<'a>(
        &mut self,
        texts: impl IntoIterator<Item = &'a str>,
        m: &PrecomputedEmbeddings,
    ) -> Result<(), EmbedError> {
        if m.dim() != self.dim {
            return Err(EmbedError::Dimension {
                expected: self.dim,
                got: m.dim(),
            });
        }
        let texts: Vec<&str> = texts.into_iter().collect();
        m.check_rows(texts.len())?;
        for (i, t) in texts.into_iter().enumerate() {
            self.table
                .entry(t.to_string())
                .or_insert_with(|| m.row(i).map(<[f32]>::to_vec).unwrap_or_default());
        }
        Ok(())
    }
}

impl Embedder for LookupEmbedder {
    fn embed(&self, text: &str) -> Result<Vec<f32>, EmbedError> {
        if text.trim().is_empty() {
            return Err(EmbedError::EmptyText);
        }
        self.table
            .get(text)
            .cloned()
            .ok_or_else(|| EmbedError::Npy {
                path: format!("lookup table of {}", self.model_id).into(),
                reason: format!("no precomputed vector for the text {text:?}"),
            })
    }
    fn dim(&self) -> usize {
        self.dim
    }
    fn model_id(&self) -> &str {
        &self.model_id
    }
    fn is_mock(&self) -> bool {
        false
    }
}
