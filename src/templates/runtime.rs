//! The runtime: re-embed the templates with the serving model, then match.

use super::{Template, TemplateError, TemplatesSection};
use crate::embed::{l2_normalize, Embedder};
use crate::routing::kernel::{dot, sum_squares};

/// A template set ready to match: every template's incoming texts
/// (representative and variants) embedded by the serving model and averaged
/// into one unit prototype, so a match is one dot product per template.
///
/// Immutable after loading: share it across threads.
#[derive(Debug, Clone)]
pub struct TemplateSet {
    section: TemplatesSection,
    model: String,
    dim: usize,
    /// `templates × dim`, row-major, unit rows.
    prototypes: Vec<f32>,
    /// Per template: `coherence_weight · ln(coherence)`, added to the cosine.
    bias: Vec<f32>,
    threshold: f32,
    calibrated: bool,
}

/// The best template for a query.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TemplateMatch {
    /// Index of the template in the set.
    pub template: usize,
    /// The query's cosine similarity to the template's prototype, plus the
    /// section's `coherence_weight · ln(coherence)` (≤ 0).
    pub score: f32,
    /// Whether the score clears the set's threshold ("a template fits").
    pub matched: bool,
}

impl TemplateSet {
    /// Loads a profile file holding a `templates` section and re-embeds
    /// every template with `embedder`. The threshold is the section's
    /// calibration for `embedder`'s model: without one this fails with
    /// [`TemplateError::NoCalibration`], and with one of another dimension
    /// with [`TemplateError::CalibrationDimension`].
    pub fn load(bytes: &[u8], embedder: &dyn Embedder) -> Result<Self, TemplateError> {
        let section = TemplatesSection::from_file_json(bytes)?;
        Self::from_section(section, embedder, None)
    }

    /// As [`load`](Self::load), with an explicit threshold instead of the
    /// calibrated one (no calibration needed).
    pub fn load_with_threshold(
        bytes: &[u8],
        embedder: &dyn Embedder,
        threshold: f32,
    ) -> Result<Self, TemplateError> {
        let section = TemplatesSection::from_file_json(bytes)?;
        Self::from_section(section, embedder, Some(threshold))
    }

    /// Builds from a parsed section; `threshold` overrides the calibration.
    pub fn from_section(
        section: TemplatesSection,
        embedder: &dyn Embedder,
        threshold: Option<f32>,
    ) -> Result<Self, TemplateError> {
        use crate::profile::Section;
        section.validate()?;
        let model = embedder.model_id().to_string();
        let dim = embedder.dim();
        let (threshold, calibrated) = match threshold {
            Some(t) if t.is_finite() => (t, false),
            Some(t) => {
                return Err(TemplateError::InvalidParam {
                    name: "threshold",
                    reason: format!("must be finite, got {t}"),
                })
            }
            None => match section.calibration(&model) {
                Some(c) if c.dim != dim => {
                    return Err(TemplateError::CalibrationDimension {
                        model,
                        calibrated: c.dim,
                        serving: dim,
                    })
                }
                Some(c) => (c.threshold, true),
                None => {
                    return Err(TemplateError::NoCalibration {
                        model,
                        available: section
                            .calibrations
                            .iter()
                            .map(|c| c.embedding_model.as_str())
                            .collect::<Vec<_>>()
                            .join(", "),
                    })
                }
            },
        };
        let texts: Vec<&str> = section
            .templates
            .iter()
            .flat_map(Template::incoming_texts)
            .collect();
        let vectors = embedder.embed_batch(&texts)?;
        let mut prototypes = vec![0.0f32; section.templates.len() * dim];
        let mut it = vectors.into_iter();
        for (t, proto) in section
            .templates
            .iter()
            .zip(prototypes.chunks_exact_mut(dim))
        {
            for _ in t.incoming_texts() {
                let mut v = it.next().unwrap_or_default();
                if v.len() != dim {
                    return Err(crate::embed::EmbedError::Dimension {
                        expected: dim,
                        got: v.len(),
                    }
                    .into());
                }
                l2_normalize(&mut v);
                proto.iter_mut().zip(&v).for_each(|(p, x)| *p += x);
            }
            l2_normalize(proto);
        }
        let w = section.coherence_weight;
        let bias = section
            .templates
            .iter()
            .map(|t| if w == 0.0 { 0.0 } else { w * t.coherence.ln() })
            .collect();
        Ok(TemplateSet {
            bias,
            section,
            model,
            dim,
            prototypes,
            threshold,
            calibrated,
        })
    }

    /// Matches a text, embedded with `embedder` (which must be the serving
    /// model the set was loaded with).
    pub fn match_text(
        &self,
        text: &str,
        embedder: &dyn Embedder,
    ) -> Result<TemplateMatch, TemplateError> {
        if embedder.model_id() != self.model {
            return Err(TemplateError::ModelMismatch {
                expected: self.model.clone(),
                got: embedder.model_id().to_string(),
            });
        }
        let v = embedder.embed(text)?;
        self.match_embedding(&v)
    }

    /// Matches an embedding made by the serving model (normalised here).
    pub fn match_embedding(&self, query: &[f32]) -> Result<TemplateMatch, TemplateError> {
        let inv = self.check_query(query)?;
        let (mut best, mut best_s) = (0usize, f32::NEG_INFINITY);
        for (i, (row, b)) in self
            .prototypes
            .chunks_exact(self.dim)
            .zip(&self.bias)
            .enumerate()
        {
            let s = dot(query, row) * inv + b;
            if s > best_s {
                best = i;
                best_s = s;
            }
        }
        let score = best_s;
        Ok(TemplateMatch {
            template: best,
            score,
            matched: score >= self.threshold,
        })
    }

    /// Scores of `query` (normalised here) against every template.
    pub fn scores(&self, query: &[f32]) -> Result<Vec<f32>, TemplateError> {
        let inv = self.check_query(query)?;
        Ok(self
            .prototypes
            .chunks_exact(self.dim)
            .zip(&self.bias)
            .map(|(r, b)| dot(query, r) * inv + b)
            .collect())
    }

    /// Validates a query; returns 1 / its norm.
    fn check_query(&self, query: &[f32]) -> Result<f32, TemplateError> {
        if query.len() != self.dim {
            return Err(TemplateError::Dimension {
                expected: self.dim,
                got: query.len(),
            });
        }
        let ss = sum_squares(query);
        if !ss.is_finite() || query.iter().any(|x| !x.is_finite()) {
            return Err(TemplateError::InvalidEmbedding(
                "has a NaN or infinite component".into(),
            ));
        }
        if ss == 0.0 {
            return Err(TemplateError::InvalidEmbedding("is all zeros".into()));
        }
        Ok(1.0 / ss.sqrt())
    }

    /// Checks that precomputed query vectors come from the serving model.
    pub fn check_model(&self, model: &str) -> Result<(), TemplateError> {
        if model != self.model {
            return Err(TemplateError::ModelMismatch {
                expected: self.model.clone(),
                got: model.to_string(),
            });
        }
        Ok(())
    }

    /// Template `i` (panics if out of range; see [`len`](Self::len)).
    pub fn template(&self, i: usize) -> &Template {
        &self.section.templates[i]
    }

    /// Template `i`, or `None` past the end.
    pub fn get(&self, i: usize) -> Option<&Template> {
        self.section.templates.get(i)
    }

    /// Number of templates.
    pub fn len(&self) -> usize {
        self.section.templates.len()
    }

    /// Whether there are no templates (never true for a loaded set).
    pub fn is_empty(&self) -> bool {
        self.section.templates.is_empty()
    }

    /// The serving model's id.
    pub fn model(&self) -> &str {
        &self.model
    }

    /// The mining model's id.
    pub fn mining_model(&self) -> &str {
        &self.section.mining_model
    }

    /// The serving dimension.
    pub fn dim(&self) -> usize {
        self.dim
    }

    /// The threshold in use.
    pub fn threshold(&self) -> f32 {
        self.threshold
    }

    /// Whether the threshold comes from the section's calibration.
    pub fn is_calibrated(&self) -> bool {
        self.calibrated
    }

    /// The section the set was loaded from.
    pub fn section(&self) -> &TemplatesSection {
        &self.section
    }
}
