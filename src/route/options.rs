//! Routing options: an unchecked builder and the checked [`RouteOptions`].

use super::RouteError;

pub use crate::routing::MAX_SOFT_TOP_K;

pub use crate::routing::DEFAULT_TEMPERATURE;

/// A model named by its index in the profile's `models` or by its name.
///
/// Built with `From`: `ModelRef::from(2)`, `ModelRef::from("big")`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum ModelRef {
    /// Index in [`Router::models`](super::Router::models).
    Index(usize),
    /// The model's `name`.
    Name(String),
}

impl From<usize> for ModelRef {
    fn from(i: usize) -> Self {
        ModelRef::Index(i)
    }
}

impl From<&str> for ModelRef {
    fn from(name: &str) -> Self {
        ModelRef::Name(name.to_string())
    }
}

impl From<String> for ModelRef {
    fn from(name: String) -> Self {
        ModelRef::Name(name)
    }
}

impl From<&String> for ModelRef {
    fn from(name: &String) -> Self {
        ModelRef::Name(name.clone())
    }
}

impl std::fmt::Display for ModelRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ModelRef::Index(i) => write!(f, "#{i}"),
            ModelRef::Name(n) => write!(f, "{n}"),
        }
    }
}

/// How a query is assigned to clusters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Assignment {
    /// The nearest centroid only (default): the expected errors are that
    /// cluster's row of the profile, borrowed, with no arithmetic.
    #[default]
    Hard,
    /// The `top_k` nearest centroids, weighted by
    /// `exp((s_c − s_max) / temperature)` and normalised; a model's expected
    /// error is the weighted mean of its errors in those clusters.
    /// `top_k = 1` is the same as [`Hard`](Assignment::Hard).
    Soft {
        /// Number of clusters mixed (1 ..= [`MAX_SOFT_TOP_K`], clamped to
        /// the profile's cluster count).
        top_k: usize,
    },
}

impl Assignment {
    /// The number of clusters mixed: 1 for hard assignment.
    pub fn clusters_mixed(&self) -> usize {
        match *self {
            Assignment::Hard => 1,
            Assignment::Soft { top_k } => top_k,
        }
    }
}

/// The error/cost trade-off, as given.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Tradeoff {
    Preference(f64),
    Lambda(f64),
}

/// Unchecked routing options; [`check`](RouteOptionsBuilder::check) turns
/// them into [`RouteOptions`]. Start from [`RouteOptions::builder`].
#[derive(Debug, Clone, PartialEq)]
pub struct RouteOptionsBuilder {
    tradeoff: Tradeoff,
    assignment: Assignment,
    temperature: f32,
    min_confidence: f32,
    min_similarity: Option<f32>,
    allowed: Option<Vec<ModelRef>>,
    fallback: Option<ModelRef>,
}

impl Default for RouteOptionsBuilder {
    fn default() -> Self {
        RouteOptionsBuilder {
            tradeoff: Tradeoff::Preference(0.0),
            assignment: Assignment::Hard,
            temperature: DEFAULT_TEMPERATURE,
            min_confidence: 0.0,
            min_similarity: None,
            allowed: None,
            fallback: None,
        }
    }
}

impl RouteOptionsBuilder {
    /// Cost preference `p` in `[0, 1]`: 0 picks the lowest expected error,
    /// 1 the cheapest model, monotonically in between. It sets
    /// `λ = p / (1 − p)` (see [`RouteOptions`]); replaces any
    /// [`lambda`](Self::lambda). Default 0.
    pub fn cost_preference(mut self, p: f64) -> Self {
        self.tradeoff = Tradeoff::Preference(p);
        self
    }

    /// The trade-off weight `λ ≥ 0` directly (`f64::INFINITY` = pure cost);
    /// replaces any [`cost_preference`](Self::cost_preference).
    pub fn lambda(mut self, lambda: f64) -> Self {
        self.tradeoff = Tradeoff::Lambda(lambda);
        self
    }

    /// Hard assignment to the nearest cluster (the default).
    pub fn hard(mut self) -> Self {
        self.assignment = Assignment::Hard;
        self
    }

    /// Soft assignment over the `top_k` nearest clusters
    /// (1 ..= [`MAX_SOFT_TOP_K`]).
    pub fn soft(mut self, top_k: usize) -> Self {
        self.assignment = Assignment::Soft { top_k };
        self
    }

    /// Sets the assignment mode.
    pub fn assignment(mut self, assignment: Assignment) -> Self {
        self.assignment = assignment;
        self
    }

    /// Softmax temperature over cosine similarities, used by soft weights
    /// and by the confidence; must be finite and ≥ `1e-6`. Default
    /// [`DEFAULT_TEMPERATURE`] (0.05).
    pub fn temperature(mut self, t: f32) -> Self {
        self.temperature = t;
        self
    }

    /// Confidence in `[0, 1]` below which the decision is not confident and
    /// the fallback model is used. Default 0 (never falls back).
    pub fn min_confidence(mut self, c: f32) -> Self {
        self.min_confidence = c;
        self
    }

    /// Cosine similarity in `[−1, 1]` to the nearest centroid below which the
    /// query is treated as out of distribution and the fallback model is
    /// used. Default: no threshold.
    pub fn min_similarity(mut self, s: f32) -> Self {
        self.min_similarity = Some(s);
        self
    }

    /// Restricts routing to these models (by index or name; at least one).
    /// Names and indices are resolved against the router at routing time
    /// ([`Router::check_options`](super::Router::check_options) resolves
    /// them up front).
    pub fn allowed_models<I>(mut self, models: I) -> Self
    where
        I: IntoIterator,
        I::Item: Into<ModelRef>,
    {
        self.allowed = Some(models.into_iter().map(Into::into).collect());
        self
    }

    /// Allows every model of the profile again (the default).
    pub fn allow_all_models(mut self) -> Self {
        self.allowed = None;
        self
    }

    /// The model used when the decision is not confident. It must be among
    /// the allowed models. Default: the model the same trade-off picks from
    /// the models' global error rates.
    pub fn fallback_model(mut self, model: impl Into<ModelRef>) -> Self {
        self.fallback = Some(model.into());
        self
    }

    /// Clears the fallback model (back to the global-error pick).
    pub fn no_fallback_model(mut self) -> Self {
        self.fallback = None;
        self
    }

    /// Checks every value and returns the usable options.
    pub fn check(self) -> Result<RouteOptions, RouteError> {
        let bad =
            |name: &'static str, reason: String| Err(RouteError::InvalidOption { name, reason });
        let (lambda, cost_preference) = match self.tradeoff {
            Tradeoff::Preference(p) => {
                if !(0.0..=1.0).contains(&p) {
                    return bad(
                        "cost_preference",
                        format!("must be between 0 and 1, got {p}"),
                    );
                }
                let lambda = if p >= 1.0 {
                    f64::INFINITY
                } else {
                    p / (1.0 - p)
                };
                (lambda, Some(p))
            }
            Tradeoff::Lambda(l) => {
                if l.is_nan() || l < 0.0 {
                    return bad(
                        "lambda",
                        format!("must be ≥ 0 (or +∞ for pure cost), got {l}"),
                    );
                }
                (l, None)
            }
        };
        if let Assignment::Soft { top_k } = self.assignment {
            if !(1..=MAX_SOFT_TOP_K).contains(&top_k) {
                return bad(
                    "soft.top_k",
                    format!("must be between 1 and {MAX_SOFT_TOP_K}, got {top_k}"),
                );
            }
        }
        if !(self.temperature.is_finite() && self.temperature >= 1e-6) {
            return bad(
                "temperature",
                format!("must be finite and ≥ 1e-6, got {}", self.temperature),
            );
        }
        if !(0.0..=1.0).contains(&self.min_confidence) {
            return bad(
                "min_confidence",
                format!("must be between 0 and 1, got {}", self.min_confidence),
            );
        }
        if let Some(s) = self.min_similarity {
            if !(-1.0..=1.0).contains(&s) {
                return bad("min_similarity", format!("must be in [-1, 1], got {s}"));
            }
        }
        if let Some(a) = &self.allowed {
            if a.is_empty() {
                return bad("allowed_models", "must name at least one model".into());
            }
        }
        Ok(RouteOptions {
            lambda,
            cost_preference,
            raw: self,
        })
    }
}

/// Checked routing options.
///
/// # The trade-off
///
/// For each allowed model `m` with expected error `e_m` (in the query's
/// cluster, or mixed over clusters, or global on fallback) and cost `c_m`,
///
/// ```text
/// score_m = e_m + λ · c_m / max_cost        λ = p / (1 − p)
/// ```
///
/// where `max_cost` is the largest cost among *all* the profile's models
/// (so `λ` means the same thing whatever subset is allowed) and `p` is the
/// cost preference. The model with the lowest score wins; equal scores go
/// to the lower cost, then the lower error, then the lower index. `p = 0`
/// (`λ = 0`) picks the lowest expected error (cheapest among equals);
/// `p = 1` (`λ = ∞`) picks the cheapest model (lowest error among equals).
/// For `λ₁ < λ₂` the chosen costs satisfy `c(λ₂) ≤ c(λ₁)` (add the two
/// optimality inequalities), so the chosen cost never rises with `p`.
///
/// `λ` reads as "one unit of expected error is worth `1/λ` of the most
/// expensive model's cost": `p = 0.5` trades one percentage point of error
/// for 1 % of `max_cost`.
///
/// ```
/// use aurora_router::route::{Assignment, RouteOptions};
/// let o = RouteOptions::builder().cost_preference(0.5).soft(3).check().unwrap();
/// assert_eq!(o.lambda(), 1.0);
/// assert_eq!(o.assignment(), Assignment::Soft { top_k: 3 });
/// assert!(RouteOptions::builder().cost_preference(1.5).check().is_err());
/// assert_eq!(RouteOptions::default().lambda(), 0.0);
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct RouteOptions {
    lambda: f64,
    cost_preference: Option<f64>,
    raw: RouteOptionsBuilder,
}

impl Default for RouteOptions {
    /// Lowest expected error (`p = 0`), hard assignment, temperature 0.05,
    /// no confidence threshold, every model allowed.
    fn default() -> Self {
        RouteOptionsBuilder::default()
            .check()
            .expect("the default options are valid")
    }
}

impl RouteOptions {
    /// Unchecked options with the defaults, to adjust and
    /// [`check`](RouteOptionsBuilder::check).
    pub fn builder() -> RouteOptionsBuilder {
        RouteOptionsBuilder::default()
    }

    /// Back to a builder holding these values, to change some and check again.
    pub fn into_builder(self) -> RouteOptionsBuilder {
        self.raw
    }

    /// The trade-off weight `λ` (`f64::INFINITY` = pure cost).
    pub fn lambda(&self) -> f64 {
        self.lambda
    }

    /// The cost preference `p`, if the trade-off was given that way.
    pub fn cost_preference(&self) -> Option<f64> {
        self.cost_preference
    }

    /// Hard or soft assignment.
    pub fn assignment(&self) -> Assignment {
        self.raw.assignment
    }

    /// Softmax temperature.
    pub fn temperature(&self) -> f32 {
        self.raw.temperature
    }

    /// Confidence threshold (0 = never falls back on confidence).
    pub fn min_confidence(&self) -> f32 {
        self.raw.min_confidence
    }

    /// Similarity threshold, if any.
    pub fn min_similarity(&self) -> Option<f32> {
        self.raw.min_similarity
    }

    /// The allowed models, or `None` for all.
    pub fn allowed_models(&self) -> Option<&[ModelRef]> {
        self.raw.allowed.as_deref()
    }

    /// The configured fallback model, if any.
    pub fn fallback_model(&self) -> Option<&ModelRef> {
        self.raw.fallback.as_ref()
    }
}
