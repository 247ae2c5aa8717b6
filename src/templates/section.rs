//! The `templates` section: reply templates as text, with counts and
//! per-serving-model calibrations. It holds no vectors: a serving app
//! re-embeds the texts with its own model ([`TemplateSet`](super::TemplateSet)).

use serde::{Deserialize, Serialize};

use super::TemplateError;
use crate::profile::{ProfileError, ProfileFile, Section};

/// The format version written by this crate.
pub const FORMAT_VERSION: &str = "1.0";
/// The major format version this reader understands.
pub const FORMAT_MAJOR: u32 = 1;

/// Longest text accepted in a template (bytes), so a hostile file cannot
/// make the loader embed megabytes.
const MAX_TEXT_BYTES: usize = 4096;

/// One reply template: an incoming-message pattern and its usual reply.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Template {
    /// The incoming message closest to the pattern's centre (its medoid).
    pub representative_incoming: String,
    /// The reply closest to the centre of the pattern's replies (medoid).
    pub representative_response: String,
    /// A few more incoming messages of the pattern (distinct texts).
    #[serde(default)]
    pub incoming_variants: Vec<String>,
    /// A few more replies of the pattern (distinct texts).
    #[serde(default)]
    pub response_variants: Vec<String>,
    /// Number of mined pairs in the pattern.
    pub support: u64,
    /// Share of the incoming cluster's pairs whose reply falls in this
    /// pattern, in (0, 1] (1: every such message got this kind of reply).
    pub coherence: f32,
    /// The representative response's label (SGD dialogue acts), when the
    /// mined pairs carried one. Used by evaluation, not by matching.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub response_acts: Option<Vec<String>>,
}

impl Template {
    /// A template without variants or label, coherence 1.
    pub fn new(incoming: &str, response: &str, support: u64) -> Self {
        Template {
            representative_incoming: incoming.to_string(),
            representative_response: response.to_string(),
            incoming_variants: Vec::new(),
            response_variants: Vec::new(),
            support,
            coherence: 1.0,
            response_acts: None,
        }
    }

    /// The incoming texts a serving app embeds for this template: the
    /// representative first, then the variants.
    pub fn incoming_texts(&self) -> impl Iterator<Item = &str> {
        std::iter::once(self.representative_incoming.as_str())
            .chain(self.incoming_variants.iter().map(String::as_str))
    }
}

/// A threshold fitted for one serving model from held-out pairs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Calibration {
    /// The serving embedder's model id.
    pub embedding_model: String,
    /// The serving embedder's dimension.
    pub dim: usize,
    /// Matches scoring at least this are reported as `matched`.
    pub threshold: f32,
    /// The precision the threshold was chosen for.
    pub target_precision: f32,
    /// Coverage on the calibration pairs at this threshold.
    pub coverage: f32,
    /// Act precision on the calibration pairs at this threshold.
    pub precision: f32,
    /// Number of calibration pairs.
    pub pairs: usize,
}

/// The `templates` section of a profile file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TemplatesSection {
    /// Format version (`1.x`).
    pub format: String,
    /// The embedding model the templates were mined with.
    pub mining_model: String,
    /// Number of pairs mined.
    #[serde(default)]
    pub pairs: u64,
    /// The miner's parameters, as given (free-form, for the record).
    #[serde(default)]
    pub params: serde_json::Value,
    /// Matching ranks templates by `cosine + coherence_weight · ln(coherence)`:
    /// among near-equal matches, the pattern its incoming cluster usually
    /// got wins (0: plain cosine).
    #[serde(default)]
    pub coherence_weight: f32,
    /// The templates, by decreasing support.
    pub templates: Vec<Template>,
    /// One calibrated threshold per serving model.
    #[serde(default)]
    pub calibrations: Vec<Calibration>,
}

impl TemplatesSection {
    /// An empty section mined with `mining_model`.
    pub fn new(mining_model: &str) -> Self {
        TemplatesSection {
            format: FORMAT_VERSION.to_string(),
            mining_model: mining_model.to_string(),
            pairs: 0,
            params: serde_json::Value::Null,
            coherence_weight: 0.0,
            templates: Vec::new(),
            calibrations: Vec::new(),
        }
    }

    /// Reads the section from profile-file bytes, refusing a newer format
    /// with [`TemplateError::NewerVersion`] before anything else.
    pub fn from_file_json(bytes: &[u8]) -> Result<Self, TemplateError> {
        let file = ProfileFile::from_json(bytes)?;
        Self::from_file(&file)
    }

    /// Reads the section from a parsed profile file.
    pub fn from_file(file: &ProfileFile) -> Result<Self, TemplateError> {
        let raw = file
            .raw_section(Self::NAME)
            .ok_or_else(|| ProfileError::MissingSection(Self::NAME.to_string()))?;
        #[derive(Deserialize)]
        struct Head {
            format: Option<String>,
        }
        if let Ok(Head {
            format: Some(found),
        }) = serde_json::from_str::<Head>(raw)
        {
            let major = found.split('.').next().and_then(|m| m.parse::<u32>().ok());
            if matches!(major, Some(m) if m > FORMAT_MAJOR) {
                return Err(TemplateError::NewerVersion {
                    found,
                    supported: FORMAT_MAJOR,
                });
            }
        }
        Ok(file.require::<Self>()?)
    }

    /// A profile file holding only this section, as JSON bytes.
    pub fn to_file_json(&self) -> Result<Vec<u8>, TemplateError> {
        let mut file = ProfileFile::new();
        file.set_section(self)?;
        Ok(file.to_json())
    }

    /// The calibration for serving model `model`, if any.
    pub fn calibration(&self, model: &str) -> Option<&Calibration> {
        self.calibrations
            .iter()
            .find(|c| c.embedding_model == model)
    }

    /// Adds or replaces the calibration of its model.
    pub fn set_calibration(&mut self, c: Calibration) {
        self.calibrations
            .retain(|x| x.embedding_model != c.embedding_model);
        self.calibrations.push(c);
    }
}

fn check_text(field: String, s: &str) -> Result<(), ProfileError> {
    if s.trim().is_empty() {
        return Err(ProfileError::invalid(field, "is empty"));
    }
    if s.len() > MAX_TEXT_BYTES {
        return Err(ProfileError::invalid(
            field,
            format!("is {} bytes long (at most {MAX_TEXT_BYTES})", s.len()),
        ));
    }
    Ok(())
}

impl Section for TemplatesSection {
    const NAME: &'static str = "templates";

    fn validate(&self) -> Result<(), ProfileError> {
        let major = self
            .format
            .split('.')
            .next()
            .and_then(|m| m.parse::<u32>().ok());
        if major != Some(FORMAT_MAJOR) {
            return Err(ProfileError::invalid(
                "templates.format",
                format!(
                    "unsupported version `{}` (this reader supports {FORMAT_MAJOR}.x)",
                    self.format
                ),
            ));
        }
        if self.mining_model.trim().is_empty() {
            return Err(ProfileError::invalid("templates.mining_model", "is empty"));
        }
        if !(self.coherence_weight >= 0.0 && self.coherence_weight.is_finite()) {
            return Err(ProfileError::invalid(
                "templates.coherence_weight",
                format!("must be a finite number ≥ 0, got {}", self.coherence_weight),
            ));
        }
        if self.templates.is_empty() {
            return Err(ProfileError::invalid("templates.templates", "is empty"));
        }
        for (i, t) in self.templates.iter().enumerate() {
            let at = |f: &str| format!("templates.templates[{i}].{f}");
            check_text(at("representative_incoming"), &t.representative_incoming)?;
            check_text(at("representative_response"), &t.representative_response)?;
            for (j, v) in t.incoming_variants.iter().enumerate() {
                check_text(at(&format!("incoming_variants[{j}]")), v)?;
            }
            for (j, v) in t.response_variants.iter().enumerate() {
                check_text(at(&format!("response_variants[{j}]")), v)?;
            }
            if !(t.coherence > 0.0 && t.coherence <= 1.0) {
                return Err(ProfileError::invalid(
                    at("coherence"),
                    format!("must be in (0, 1], got {}", t.coherence),
                ));
            }
        }
        for (i, c) in self.calibrations.iter().enumerate() {
            let at = |f: &str| format!("templates.calibrations[{i}].{f}");
            if c.embedding_model.trim().is_empty() {
                return Err(ProfileError::invalid(at("embedding_model"), "is empty"));
            }
            if c.dim == 0 {
                return Err(ProfileError::invalid(at("dim"), "must be at least 1"));
            }
            if !c.threshold.is_finite() {
                return Err(ProfileError::invalid(at("threshold"), "is not finite"));
            }
            if self.calibrations[..i]
                .iter()
                .any(|p| p.embedding_model == c.embedding_model)
            {
                return Err(ProfileError::invalid(
                    at("embedding_model"),
                    format!("`{}` is calibrated twice", c.embedding_model),
                ));
            }
        }
        Ok(())
    }
}
