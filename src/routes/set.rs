//! [`RouteSet`]: the `routes` section and its runtime matching.

use std::collections::BTreeMap;
use std::path::Path;

use serde::{Deserialize, Serialize};

use super::error::RoutesError;
use crate::embed::Embedder;
use crate::profile::{F16Matrix, ProfileError, ProfileFile, Section};
use crate::routing::kernel;

/// The wire-format identifier of the scoring rule.
pub const ROUTES_FORMAT: &str = "softmax-head-v1";

/// The score a match compares with the threshold to answer "none".
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
pub enum NoneRule {
    /// The best route's softmax probability, in [0, 1] (route files
    /// written before `energy` existed).
    #[default]
    MaxProbability,
    /// The head's energy, `log Σ_k exp(z_k)` over the raw logits: high when
    /// some route fits, low when none does. It separates out-of-scope turns
    /// better than the softmax maximum (held-out AUROC on CLINC150's
    /// validation split 0.989–0.990 vs 0.982–0.987, BENCHMARKS.md), because
    /// the softmax normalises away how strongly the best route fits.
    Energy,
}

/// How a conversation keeps its route across turns (see [`RouteSession`](super::RouteSession)).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct SessionParams {
    /// Weight of the previous turns' evidence, in [0, 1).
    pub decay: f32,
    /// A turn whose own score reaches this for another route switches to it at once, in (0, 1].
    pub switch: f32,
}

impl Default for SessionParams {
    fn default() -> Self {
        SessionParams {
            decay: 0.7,
            switch: 0.5,
        }
    }
}

/// How the route set was built (informational; not used to match).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct BuildInfo {
    /// In-scope examples trained on.
    pub n_examples: usize,
    /// Out-of-scope lines used to fit the threshold.
    pub n_out_of_scope: usize,
    /// Where the threshold came from: `validation`, `cross-validation` or `none`.
    pub threshold_source: String,
    /// The objective maximised by the threshold.
    pub objective: String,
    /// Hyperparameters of the head (epochs, learning rate, …).
    #[serde(default)]
    pub params: BTreeMap<String, f64>,
}

/// A set of named semantic routes: a linear head over normalised
/// embeddings (one float16 weight row and a bias per route), a softmax
/// temperature, and a threshold under which a match is "none".
///
/// It is the profile section `routes`; load it from a route file (or a
/// profile holding it beside other sections), then match embeddings or texts.
///
/// ```
/// use aurora_router::routes::RouteSet;
/// let json = br#"{"version":"3.0","routes":{"format":"softmax-head-v1",
///   "embedding_model":"toy","dim":2,"is_mock":false,"names":["weather","music"],
///   "weights":{"dtype":"float16","encoding":"base64-le","shape":[2,2],"data":"AEoAAAAAAEo="},
///   "bias":[0.0,0.0],"temperature":1.0,"threshold":0.9,
///   "session":{"decay":0.7,"switch":0.5}}}"#;
/// let routes = RouteSet::from_json(json).unwrap();
/// assert_eq!(routes.names(), ["weather", "music"]);
/// let m = routes.match_embedding(&[1.0, 0.05]).unwrap();
/// assert_eq!(m.route.as_deref(), Some("weather"));
/// let unsure = routes.match_embedding(&[1.0, 1.0]).unwrap();
/// assert_eq!(unsure.route, None); // 0.5 < threshold: "none"
/// assert_eq!(unsure.runner_up.unwrap().route, "music");
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RouteSet {
    /// Scoring rule (`softmax-head-v1`).
    pub(crate) format: String,
    /// The embedding model the routes were built with.
    pub(crate) embedding_model: String,
    /// Embedding dimension.
    pub(crate) dim: usize,
    /// Whether the embeddings came from the mock Cactus.
    pub(crate) is_mock: bool,
    /// Route names, in row order.
    pub(crate) names: Vec<String>,
    /// One weight row per route (routes × dim).
    pub(crate) weights: F16Matrix,
    /// One bias per route.
    pub(crate) bias: Vec<f32>,
    /// Softmax temperature of the scores.
    pub(crate) temperature: f32,
    /// Which score the threshold applies to (absent: `max_probability`).
    #[serde(default)]
    pub(crate) none_rule: NoneRule,
    /// In-scope scores (see `none_rule`) below this are "none".
    pub(crate) threshold: f32,
    /// Conversation parameters.
    pub(crate) session: SessionParams,
    /// Optional per-route descriptions, kept for the app.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub(crate) descriptions: BTreeMap<String, String>,
    /// Optional per-route keywords, kept for the app.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub(crate) keywords: BTreeMap<String, Vec<String>>,
    /// How the set was built.
    #[serde(default)]
    pub(crate) build: BuildInfo,
}

impl Section for RouteSet {
    const NAME: &'static str = "routes";

    fn validate(&self) -> Result<(), ProfileError> {
        let f = |s: &str| format!("routes.{s}");
        if self.format != ROUTES_FORMAT {
            return Err(ProfileError::invalid(
                f("format"),
                format!("`{}` is not `{ROUTES_FORMAT}`", self.format),
            ));
        }
        if self.names.is_empty() {
            return Err(ProfileError::invalid(f("names"), "the route set is empty"));
        }
        let mut seen = std::collections::BTreeSet::new();
        for (i, n) in self.names.iter().enumerate() {
            if n.trim().is_empty() {
                return Err(ProfileError::invalid(f(&format!("names[{i}]")), "is empty"));
            }
            if !seen.insert(n) {
                return Err(ProfileError::invalid(
                    f(&format!("names[{i}]")),
                    format!("duplicate route name `{n}`"),
                ));
            }
        }
        if self.dim == 0 {
            return Err(ProfileError::invalid(f("dim"), "must be at least 1"));
        }
        if self.weights.rows() != self.names.len() || self.weights.cols() != self.dim {
            return Err(ProfileError::invalid(
                f("weights.shape"),
                format!(
                    "[{}, {}], expected [{}, {}] (routes × dim)",
                    self.weights.rows(),
                    self.weights.cols(),
                    self.names.len(),
                    self.dim
                ),
            ));
        }
        if self.bias.len() != self.names.len() {
            return Err(ProfileError::invalid(
                f("bias"),
                format!("{} values for {} routes", self.bias.len(), self.names.len()),
            ));
        }
        if let Some(i) = self.bias.iter().position(|b| !b.is_finite()) {
            return Err(ProfileError::invalid(
                f(&format!("bias[{i}]")),
                "is not finite",
            ));
        }
        if !(self.temperature.is_finite() && self.temperature > 0.0) {
            return Err(ProfileError::invalid(f("temperature"), "must be > 0"));
        }
        check_threshold(self.none_rule, self.threshold)
            .map_err(|reason| ProfileError::invalid(f("threshold"), reason))?;
        let s = self.session;
        if !(0.0..1.0).contains(&s.decay) {
            return Err(ProfileError::invalid(
                f("session.decay"),
                "must be in [0, 1)",
            ));
        }
        if !(s.switch > 0.0 && s.switch <= 1.0) {
            return Err(ProfileError::invalid(
                f("session.switch"),
                "must be in (0, 1]",
            ));
        }
        for k in self.descriptions.keys().chain(self.keywords.keys()) {
            if !seen.contains(k) {
                return Err(ProfileError::invalid(
                    f("descriptions"),
                    format!("names unknown route `{k}`"),
                ));
            }
        }
        Ok(())
    }
}

/// The threshold's valid range for a rule: [0, 1] for a probability, any
/// finite value for an energy.
fn check_threshold(rule: NoneRule, t: f32) -> Result<(), String> {
    match rule {
        NoneRule::MaxProbability if !(0.0..=1.0).contains(&t) => Err(format!(
            "{t} is not in [0, 1] (the rule is max_probability)"
        )),
        NoneRule::Energy if !t.is_finite() => Err(format!("{t} is not a finite energy")),
        _ => Ok(()),
    }
}

impl RouteMatch {
    /// The match as the JSON object `aurora routes match --json` prints and
    /// `POST /routes/match` of `aurora serve` returns: `route` (null when
    /// out of scope), `score`, `runner_up` (`{route, score}` or null) and
    /// `margin`, and `in_scope_score` (the number compared with the threshold).
    pub fn to_json(&self) -> serde_json::Value {
        let runner = self
            .runner_up
            .as_ref()
            .map(|r| serde_json::json!({"route": r.route, "score": r.score}));
        serde_json::json!({
            "route": self.route,
            "score": self.score,
            "runner_up": runner,
            "margin": self.margin,
            "in_scope_score": self.in_scope_score,
        })
    }
}

/// The best route of a match, or the runner-up.
#[derive(Debug, Clone, PartialEq)]
pub struct ScoredRoute {
    /// Route name.
    pub route: String,
    /// Its index in [`RouteSet::names`].
    pub index: usize,
    /// Its score: softmax probability in [0, 1].
    pub score: f32,
}

/// The answer of a match.
#[derive(Debug, Clone, PartialEq)]
pub struct RouteMatch {
    /// The route, or `None` when the best score is below the threshold.
    pub route: Option<String>,
    /// Index of the best route (even when `route` is `None`).
    pub best_index: usize,
    /// The best route's score (softmax probability, in [0, 1]).
    pub score: f32,
    /// The second-best route, when there are at least two.
    pub runner_up: Option<ScoredRoute>,
    /// `score` minus the runner-up's score (`score` when there is none).
    pub margin: f32,
    /// The number compared with the threshold ([`RouteSet::none_rule`]):
    /// `score` itself, or the energy.
    pub in_scope_score: f32,
}

impl RouteSet {
    /// Reads the `routes` section from a profile file's JSON bytes.
    pub fn from_json(bytes: &[u8]) -> Result<Self, RoutesError> {
        Ok(ProfileFile::from_json(bytes)?.require::<RouteSet>()?)
    }

    /// Reads the `routes` section of the profile file at `path`.
    pub fn from_path(path: impl AsRef<Path>) -> Result<Self, RoutesError> {
        Ok(ProfileFile::read(path)?.require::<RouteSet>()?)
    }

    /// Writes this set as a profile file holding only the `routes` section.
    pub fn to_json(&self) -> Result<Vec<u8>, RoutesError> {
        let mut file = ProfileFile::new();
        file.set_section(self)?;
        Ok(file.to_json())
    }

    /// Number of routes.
    pub fn len(&self) -> usize {
        self.names.len()
    }

    /// Always false for a valid set (it has at least one route).
    pub fn is_empty(&self) -> bool {
        self.names.is_empty()
    }

    /// Route names, in index order.
    pub fn names(&self) -> &[String] {
        &self.names
    }

    /// Embedding dimension.
    pub fn dim(&self) -> usize {
        self.dim
    }

    /// The embedding model the routes were built with.
    pub fn embedding_model(&self) -> &str {
        &self.embedding_model
    }

    /// Whether the routes were built from mock embeddings.
    pub fn is_mock(&self) -> bool {
        self.is_mock
    }

    /// The "none" threshold on the in-scope score.
    pub fn threshold(&self) -> f32 {
        self.threshold
    }

    /// Which score the threshold applies to.
    pub fn none_rule(&self) -> NoneRule {
        self.none_rule
    }

    /// Sets the "none" threshold: in [0, 1] for `max_probability` (0
    /// never answers none), any finite energy for `energy`.
    pub fn set_threshold(&mut self, threshold: f32) -> Result<(), RoutesError> {
        check_threshold(self.none_rule, threshold).map_err(|reason| RoutesError::Param {
            name: "threshold",
            reason,
        })?;
        self.threshold = threshold;
        Ok(())
    }

    /// The conversation parameters.
    pub fn session_params(&self) -> SessionParams {
        self.session
    }

    /// Sets the conversation parameters (decay in [0, 1), switch in (0, 1]).
    pub fn set_session_params(&mut self, p: SessionParams) -> Result<(), RoutesError> {
        if !(0.0..1.0).contains(&p.decay) {
            return Err(RoutesError::Param {
                name: "decay",
                reason: format!("{} is not in [0, 1)", p.decay),
            });
        }
        if !(p.switch > 0.0 && p.switch <= 1.0) {
            return Err(RoutesError::Param {
                name: "switch",
                reason: format!("{} is not in (0, 1]", p.switch),
            });
        }
        self.session = p;
        Ok(())
    }

    /// Per-route descriptions given at build time.
    pub fn descriptions(&self) -> &BTreeMap<String, String> {
        &self.descriptions
    }

    /// Per-route keywords given at build time.
    pub fn keywords(&self) -> &BTreeMap<String, Vec<String>> {
        &self.keywords
    }

    /// How the set was built.
    pub fn build_info(&self) -> &BuildInfo {
        &self.build
    }

    /// Index of a route by name.
    pub fn index_of(&self, name: &str) -> Option<usize> {
        self.names.iter().position(|n| n == name)
    }

    /// Checks that `embedder` is the model the routes were built with.
    pub fn check_embedder(&self, embedder: &dyn Embedder) -> Result<(), RoutesError> {
        if embedder.model_id() != self.embedding_model
            || embedder.is_mock() != self.is_mock
            || embedder.dim() != self.dim
        {
            return Err(RoutesError::EmbedderMismatch {
                routes_model: self.embedding_model.clone(),
                routes_dim: self.dim,
                routes_is_mock: self.is_mock,
                embedder_model: embedder.model_id().to_string(),
                embedder_dim: embedder.dim(),
                embedder_is_mock: embedder.is_mock(),
            });
        }
        Ok(())
    }

    /// The softmax scores of every route for an embedding (any norm; it is
    /// normalised here), written into `out` (length [`len`](Self::len)).
    /// Returns the in-scope score that [`decide`](Self::decide) compares
    /// with the threshold.
    pub fn scores_into(&self, embedding: &[f32], out: &mut [f32]) -> Result<f32, RoutesError> {
        if embedding.len() != self.dim {
            return Err(RoutesError::Dimension {
                expected: self.dim,
                got: embedding.len(),
            });
        }
        let ss = kernel::sum_squares(embedding);
        if !ss.is_finite() || ss <= 0.0 {
            let index = embedding.iter().position(|x| !x.is_finite()).unwrap_or(0);
            return Err(RoutesError::InvalidEmbedding {
                what: "query".into(),
                index,
            });
        }
        let inv = 1.0 / ss.sqrt();
        let w = self.weights.as_slice();
        // Raw logits first (the energy needs them), then the tempered softmax.
        let mut best = f32::NEG_INFINITY;
        for (k, o) in out.iter_mut().enumerate().take(self.names.len()) {
            let z =
                kernel::dot(embedding, &w[k * self.dim..(k + 1) * self.dim]) * inv + self.bias[k];
            *o = z;
            best = best.max(z);
        }
        let energy = match self.none_rule {
            NoneRule::Energy => {
                let s: f32 = out.iter().map(|&z| kernel::exp_neg(z - best)).sum();
                best + s.ln()
            }
            NoneRule::MaxProbability => 0.0,
        };
        let inv_t = 1.0 / self.temperature;
        let mut sum = 0.0f32;
        for o in out.iter_mut() {
            *o = kernel::exp_neg((*o - best) * inv_t);
            sum += *o;
        }
        let inv_sum = 1.0 / sum;
        let mut top = 0.0f32;
        for o in out.iter_mut() {
            *o *= inv_sum;
            top = top.max(*o);
        }
        Ok(match self.none_rule {
            NoneRule::Energy => energy,
            NoneRule::MaxProbability => top,
        })
    }

    /// The softmax scores of every route for an embedding, and the in-scope score.
    pub fn scores(&self, embedding: &[f32]) -> Result<(Vec<f32>, f32), RoutesError> {
        let mut out = vec![0.0; self.names.len()];
        let in_scope = self.scores_into(embedding, &mut out)?;
        Ok((out, in_scope))
    }

    /// The answer for a vector of scores and the in-scope score (both from
    /// [`scores`](Self::scores)): the best route, or none when `in_scope`
    /// is below the threshold.
    pub fn decide(&self, scores: &[f32], in_scope: f32) -> RouteMatch {
        let (mut b, mut r) = (0usize, usize::MAX);
        for k in 1..scores.len() {
            if scores[k] > scores[b] {
                r = b;
                b = k;
            } else if r == usize::MAX || scores[k] > scores[r] {
                r = k;
            }
        }
        let score = scores[b];
        let runner_up = (r != usize::MAX).then(|| ScoredRoute {
            route: self.names[r].clone(),
            index: r,
            score: scores[r],
        });
        let margin = score - runner_up.as_ref().map_or(0.0, |s| s.score);
        RouteMatch {
            route: (in_scope >= self.threshold).then(|| self.names[b].clone()),
            best_index: b,
            score,
            runner_up,
            margin,
            in_scope_score: in_scope,
        }
    }

    /// Matches one embedding (of this set's model and dimension).
    pub fn match_embedding(&self, embedding: &[f32]) -> Result<RouteMatch, RoutesError> {
        let mut buf = [0.0f32; 256];
        if self.names.len() <= buf.len() {
            let s = &mut buf[..self.names.len()];
            let in_scope = self.scores_into(embedding, s)?;
            return Ok(self.decide(s, in_scope));
        }
        let (s, in_scope) = self.scores(embedding)?;
        Ok(self.decide(&s, in_scope))
    }

    /// Embeds `text` with `embedder` (which must be the routes' model) and matches it.
    pub fn match_text(
        &self,
        text: &str,
        embedder: &dyn Embedder,
    ) -> Result<RouteMatch, RoutesError> {
        if text.trim().is_empty() {
            return Err(RoutesError::EmptyText);
        }
        self.check_embedder(embedder)?;
        let v = embedder.embed(text)?;
        self.match_embedding(&v)
    }
}
