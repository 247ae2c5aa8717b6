//! Evaluation of a router profile on a held-out labelled set.
//!
//! [`evaluate`] routes every held-out prompt once and sweeps the cost
//! trade-off `λ` exactly (see [`curve_from_expected_errors`] for how), giving
//! the router's **deferral curve**: for each operating point the mean cost per
//! prompt (in the models' own cost units) and the accuracy (mean correctness
//! of the chosen models). Next to it, [`EvalReport`] holds the baselines:
//!
//! * every single model, and their [upper convex hull](upper_hull) — the fair
//!   non-routing baseline, since mixing two models at random reaches any cost
//!   in between;
//! * the [oracle] — the cheapest correct model per prompt (a prompt
//!   no model gets right counts as wrong and costs the cheapest model);
//! * optionally a [`KnnRouter`] ([`evaluate_knn`]) and, with the `builder`
//!   feature, a UniRoute-style hard-assignment K-means router trained on the
//!   same training set (`evaluate_uniroute`).
//!
//! Everything is scored by **QAB**, quality at budget ([`qab`]): for budgets
//! of 5, 10, 15, 20, 30, 40, 50, 75 and 100 % of the most expensive model's
//! cost ([`QAB_BUDGETS`]), the best accuracy of any operating point — or
//! random mix of two operating points — whose mean cost fits the budget
//! (that is, the upper concave envelope of the points at the budget), 0 if
//! even the cheapest point costs more; and the mean over the budgets.
//!
//! The building blocks work without a [`Router`] (for routing
//! cross-validation): [`curve_from_expected_errors`], [`exact_curve`],
//! [`choose`], [`qab`], [`upper_hull`], [`oracle`].
//!
//! ```
//! use aurora_router::eval::{evaluate, EvalOptions};
//! use aurora_router::route::Router;
//! use ndarray::array;
//! let json = br#"{"version":"2.0",
//!   "metadata":{"n_clusters":2,"feature_dim":2,"embedding_model":"toy","is_mock":false,
//!     "silhouette_score":0.5,"clustering_algorithm":"kmeans","params":{"k":2},"selection":[],
//!     "noise_fraction":0.0,"dataset_sha256":"0","seed":1,"generator":"hand"},
//!   "cluster_centers":{"dtype":"float16","encoding":"base64-le","shape":[2,2],"data":"ADwAAAAAADw="},
//!   "cluster_sizes":[10,10],
//!   "llm_profiles":{"small":[0.5,0.1],"big":[0.1,0.1]},
//!   "models":[{"name":"small","cost":1},{"name":"big","cost":10}]}"#;
//! let router = Router::from_json(json)?;
//! // Two held-out prompts: one near each cluster.
//! let x = array![[0.9f32, 0.1], [0.1, 0.9]];
//! // Correctness per model (small, big).
//! let y = vec![vec![0.0, 1.0], vec![1.0, 1.0]];
//! let r = evaluate(&router, x.view(), &y, &EvalOptions::default())?;
//! // λ = 0: prompt 0 to `big`, prompt 1 to `small` (equal errors, cheaper).
//! assert_eq!((r.points[0].mean_cost, r.points[0].accuracy), (5.5, 1.0));
//! // Large λ: everything to `small`.
//! let last = r.points.last().unwrap();
//! assert_eq!((last.mean_cost, last.accuracy), (1.0, 0.5));
//! assert_eq!(r.oracle.accuracy, 1.0);
//! // The router matches the oracle here, so it beats the hull of single models.
//! assert!(r.qab.mean > r.hull_qab);
//! # Ok::<(), aurora_router::eval::EvalError>(())
//! ```

mod curve;
mod hull;
mod knn;
mod map2d;
mod plot;
mod report;
mod svg;
mod uniroute;

pub use curve::{choose, curve_from_expected_errors, default_lambdas, exact_curve, CurvePoint};
pub use hull::{
    oracle, qab, upper_hull, value_at_budget, CostAccuracy, HullPoint, Oracle, Qab, QAB_BUDGETS,
};
pub(crate) use knn::normalised;
pub use knn::{KnnRouter, DEFAULT_KNN_K, DEFAULT_KNN_PSEUDO_COUNT};
pub use map2d::{map_faithfulness, pca_map, umap_map};
pub use plot::plot_svg;
pub use report::{HtmlReport, Projection, RoutesConfusion, MAX_MAP_POINTS};
pub use uniroute::UnirouteReport;

use ndarray::ArrayView2;
use serde::Serialize;

use crate::data::Results;
use crate::profile::ModelInfo;
use crate::route::{RouteError, RouteOptions, Router};
use curve::{Sweep, SweepBuilder};

/// Errors of evaluation.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum EvalError {
    /// Routing options or the embedder do not fit the router.
    #[error(transparent)]
    Route(#[from] RouteError),
    /// One held-out embedding cannot be routed (zero, not finite, …).
    #[error("embedding row {row}: {source}")]
    Row {
        /// The row (0-based; row `i` embeds prompt line `i + 1`).
        row: usize,
        /// Why.
        source: RouteError,
    },
    /// A model of the profile has no column in the results.
    #[error(
        "model `{model}` of the profile has no column in the results (columns: {})",
        available.join(", ")
    )]
    MissingModel {
        /// The profile's model.
        model: String,
        /// The results' model columns.
        available: Vec<String>,
    },
    /// The embeddings were made by another model than the profile's.
    #[error(
        "embeddings from `{given}` do not match the profile, which was built from `{profile}` embeddings"
    )]
    EmbeddingModelMismatch {
        /// The profile's `embedding_model`.
        profile: String,
        /// The model named for the embeddings.
        given: String,
    },
    /// The embeddings have the wrong dimension.
    #[error("embeddings have dimension {got}, expected {expected}")]
    Dimension {
        /// Dimension expected (the profile's, or the training embeddings').
        expected: usize,
        /// Dimension received.
        got: usize,
    },
    /// A matrix has the wrong number of rows.
    #[error("{what}: {got} rows, expected {expected}")]
    RowCount {
        /// Which input.
        what: String,
        /// Rows expected.
        expected: usize,
        /// Rows received.
        got: usize,
    },
    /// A row has the wrong number of values.
    #[error("{what}: row {row} has {got} values, expected {expected} (one per model)")]
    RowLength {
        /// Which input.
        what: String,
        /// The row.
        row: usize,
        /// Values expected.
        expected: usize,
        /// Values received.
        got: usize,
    },
    /// A value or option is out of range.
    #[error("invalid {what}: {reason}")]
    Invalid {
        /// Which input or option.
        what: String,
        /// What is wrong.
        reason: String,
    },
    /// There is nothing to evaluate.
    #[error("no prompts to evaluate")]
    Empty,
}

/// Costs must be finite and positive, and there must be at least one.
pub(crate) fn check_costs(costs: &[f64]) -> Result<(), EvalError> {
    if costs.is_empty() {
        return Err(EvalError::Invalid {
            what: "costs".into(),
            reason: "no models".into(),
        });
    }
    match costs.iter().position(|c| !(c.is_finite() && *c > 0.0)) {
        Some(i) => Err(EvalError::Invalid {
            what: "costs".into(),
            reason: format!("model {i} has cost {}; it must be > 0", costs[i]),
        }),
        None => Ok(()),
    }
}

/// `rows × cols`, every value finite.
pub(crate) fn check_matrix(
    what: &str,
    x: &[Vec<f64>],
    rows: usize,
    cols: usize,
) -> Result<(), EvalError> {
    if x.len() != rows {
        return Err(EvalError::RowCount {
            what: what.into(),
            expected: rows,
            got: x.len(),
        });
    }
    for (row, r) in x.iter().enumerate() {
        if r.len() != cols {
            return Err(EvalError::RowLength {
                what: what.into(),
                row,
                expected: cols,
                got: r.len(),
            });
        }
        if let Some(v) = r.iter().find(|v| !v.is_finite()) {
            return Err(EvalError::Invalid {
                what: what.into(),
                reason: format!("row {row} has the non-finite value {v}"),
            });
        }
    }
    Ok(())
}

/// `rows × cols`, every value in `[0, 1]`.
pub(crate) fn check_correctness(x: &[Vec<f64>], rows: usize, cols: usize) -> Result<(), EvalError> {
    check_matrix("correctness", x, rows, cols)?;
    for (row, r) in x.iter().enumerate() {
        if let Some(v) = r.iter().find(|v| !(0.0..=1.0).contains(*v)) {
            return Err(EvalError::Invalid {
                what: "correctness".into(),
                reason: format!("row {row} has {v}, outside [0, 1]"),
            });
        }
    }
    Ok(())
}

/// The correctness columns of `results` in the order of `models` (a
/// router's or profile's models): results columns of other models are
/// ignored; a model without a column is [`EvalError::MissingModel`].
pub fn align_results(models: &[ModelInfo], results: &Results) -> Result<Vec<Vec<f64>>, EvalError> {
    let cols = models
        .iter()
        .map(|m| {
            results
                .model_index(&m.name)
                .ok_or_else(|| EvalError::MissingModel {
                    model: m.name.clone(),
                    available: results.models.clone(),
                })
        })
        .collect::<Result<Vec<usize>, _>>()?;
    Ok(results
        .correctness
        .iter()
        .map(|row| cols.iter().map(|&c| row[c]).collect())
        .collect())
}

/// Checks that embeddings said to come from `embedding_model` can be used
/// with `router`: the names must be equal.
pub fn check_embedding_model(router: &Router, embedding_model: &str) -> Result<(), EvalError> {
    if embedding_model != router.embedding_model() {
        return Err(EvalError::EmbeddingModelMismatch {
            profile: router.embedding_model().to_string(),
            given: embedding_model.to_string(),
        });
    }
    Ok(())
}

/// Options of [`evaluate`] and [`evaluate_knn`].
#[derive(Debug, Clone, PartialEq)]
pub struct EvalOptions {
    route: Option<RouteOptions>,
    lambdas: Option<Vec<f64>>,
    budgets: Vec<f64>,
    max_exact_points: usize,
}

impl Default for EvalOptions {
    /// The profile's recommended routing options
    /// ([`Router::options`]), the exact curve (up to 2000 points, else the
    /// [default λ grid](default_lambdas)), the standard [`QAB_BUDGETS`].
    fn default() -> Self {
        Self {
            route: None,
            lambdas: None,
            budgets: QAB_BUDGETS.to_vec(),
            max_exact_points: 2000,
        }
    }
}

impl EvalOptions {
    /// The defaults.
    pub fn new() -> Self {
        Self::default()
    }

    /// Routing options (assignment, temperature, confidence threshold,
    /// allowed models, fallback) instead of the profile's recommended ones;
    /// their own `λ` is ignored, since the evaluation sweeps it.
    pub fn route_options(mut self, route: RouteOptions) -> Self {
        self.route = Some(route);
        self
    }

    /// Evaluate at these λ values (each ≥ 0 or `+∞`) instead: one curve
    /// point per value, in the given order.
    pub fn lambdas(mut self, lambdas: Vec<f64>) -> Self {
        self.lambdas = Some(lambdas);
        self
    }

    /// QAB budgets as fractions of the most expensive model's cost (each
    /// finite and > 0). Default [`QAB_BUDGETS`].
    pub fn budgets(mut self, budgets: Vec<f64>) -> Self {
        self.budgets = budgets;
        self
    }

    /// Without explicit [`lambdas`](Self::lambdas), the curve holds every
    /// distinct operating point when there are at most this many breakpoints
    /// (default 2000), else the distinct points of the
    /// [default λ grid](default_lambdas).
    pub fn max_exact_points(mut self, n: usize) -> Self {
        self.max_exact_points = n;
        self
    }

    /// The routing options given; `None` means the profile's
    /// recommended ones ([`Router::options`]).
    pub fn route(&self) -> Option<&RouteOptions> {
        self.route.as_ref()
    }

    /// The QAB budgets.
    pub fn budget_fractions(&self) -> &[f64] {
        &self.budgets
    }

    fn check(&self) -> Result<(), EvalError> {
        if let Some(l) = &self.lambdas {
            curve::check_lambdas(l)?;
        }
        if self.budgets.is_empty() {
            return Err(EvalError::Invalid {
                what: "budgets".into(),
                reason: "no budgets".into(),
            });
        }
        if let Some(b) = self.budgets.iter().find(|b| !(b.is_finite() && **b > 0.0)) {
            return Err(EvalError::Invalid {
                what: "budgets".into(),
                reason: format!("each budget must be finite and > 0, got {b}"),
            });
        }
        Ok(())
    }

    /// The curve points of a sweep under these options.
    fn points(&self, sweep: &Sweep) -> Vec<CurvePoint> {
        match &self.lambdas {
            Some(l) => sweep.at(l),
            None if sweep.breakpoints() <= self.max_exact_points => sweep.exact(),
            None => curve::dedup(sweep.at(&default_lambdas())),
        }
    }
}

/// A single model on the held-out set.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ModelPoint {
    /// Model name.
    pub name: String,
    /// Its cost per call.
    pub cost: f64,
    /// Its mean correctness.
    pub accuracy: f64,
    /// Its own QAB mean (0 at budgets below its cost).
    pub qab_mean: f64,
}

impl CostAccuracy for ModelPoint {
    fn cost(&self) -> f64 {
        self.cost
    }
    fn accuracy(&self) -> f64 {
        self.accuracy
    }
}

/// The oracle on the held-out set (see [`Oracle`]), with its QAB.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct OracleReport {
    /// Mean correctness of the oracle's picks.
    pub accuracy: f64,
    /// Mean cost of the oracle's picks.
    pub mean_cost: f64,
    /// The oracle's frontier (see [`Oracle::curve`]).
    pub curve: Vec<HullPoint>,
    /// QAB of the frontier.
    pub qab: Qab,
}

/// A baseline router's curve (see [`evaluate_knn`]).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct KnnReport {
    /// Neighbours used.
    pub k: usize,
    /// Shrinkage pseudo-count.
    pub pseudo_count: f64,
    /// Number of training prompts.
    pub n_train: usize,
    /// Its deferral curve.
    pub points: Vec<CurvePoint>,
    /// Its QAB.
    pub qab: Qab,
}

/// The evaluation of a router on a held-out set (JSON via `serde`).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct EvalReport {
    /// Number of held-out prompts.
    pub n_prompts: usize,
    /// Cost of the most expensive model (QAB budgets are fractions of it).
    pub max_cost: f64,
    /// The router's deferral curve, λ increasing (mean cost non-increasing).
    pub points: Vec<CurvePoint>,
    /// The router's QAB.
    pub qab: Qab,
    /// Every model alone, in profile order.
    pub models: Vec<ModelPoint>,
    /// Upper convex hull of the single models.
    pub hull: Vec<HullPoint>,
    /// QAB mean of the hull.
    pub hull_qab: f64,
    /// QAB of the hull at each budget.
    pub hull_qab_values: Vec<f64>,
    /// The oracle.
    pub oracle: OracleReport,
    /// The kNN baseline, when evaluated.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub knn: Option<KnnReport>,
    /// The UniRoute-style baseline, when evaluated.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub uniroute: Option<UnirouteReport>,
}

impl EvalReport {
    /// The SVG plot of this report ([`plot_svg`]).
    pub fn to_svg(&self) -> String {
        plot_svg(self)
    }
}

/// Evaluates `router` on held-out prompts: `embeddings` has one row per
/// prompt (in the profile's embedding space; normalisation not needed) and
/// `correctness[p][m]` is the truth for prompt `p` and the router's model `m`
/// (see [`align_results`]).
///
/// Each prompt is routed once with `opts`' routing options; the curve over λ
/// is then exact (see [`curve_from_expected_errors`]), so this costs one
/// routing call per prompt.
///
/// Errors: [`EvalError::Dimension`] if the embeddings do not have the
/// profile's dimension, [`EvalError::RowCount`]/[`EvalError::RowLength`]/
/// [`EvalError::Invalid`] for misshapen or out-of-range inputs,
/// [`EvalError::Row`] for an embedding that cannot be routed,
/// [`EvalError::Route`] for options that do not fit the router.
pub fn evaluate(
    router: &Router,
    embeddings: ArrayView2<'_, f32>,
    correctness: &[Vec<f64>],
    opts: &EvalOptions,
) -> Result<EvalReport, EvalError> {
    opts.check()?;
    let n = embeddings.nrows();
    if n == 0 {
        return Err(EvalError::Empty);
    }
    if embeddings.ncols() != router.dim() {
        return Err(EvalError::Dimension {
            expected: router.dim(),
            got: embeddings.ncols(),
        });
    }
    let m = router.model_count();
    check_correctness(correctness, n, m)?;
    let route = match &opts.route {
        Some(r) => r.clone(),
        None => router.options().check()?,
    };
    router.check_options(&route)?;
    let costs: Vec<f64> = router.models().iter().map(|x| x.cost).collect();
    let fixed_fallback = route.fallback_model().is_some();
    let masked = route.allowed_models().is_some();
    let mut builder = SweepBuilder::new(&costs);
    let mut buf: Vec<f32> = Vec::new();
    let mut allowed: Vec<bool> = Vec::new();
    for (i, row) in embeddings.rows().into_iter().enumerate() {
        let q: &[f32] = match row.as_slice() {
            Some(s) => s,
            None => {
                buf.clear();
                buf.extend(row.iter());
                &buf
            }
        };
        let d = router
            .route_embedding(q, &route)
            .map_err(|source| EvalError::Row { row: i, source })?;
        let fixed = (fixed_fallback && !d.is_confident()).then(|| d.model_index());
        if masked {
            allowed.clear();
            allowed.extend((0..m).map(|j| d.is_allowed(j)));
        }
        builder.add(
            d.expected_errors(),
            masked.then_some(allowed.as_slice()),
            fixed,
            &correctness[i],
        );
    }
    let sweep = builder.finish();
    let max_cost = costs.iter().copied().fold(0.0, f64::max);
    let points = opts.points(&sweep);
    let qab_r = qab(&points, max_cost, &opts.budgets);
    let models: Vec<ModelPoint> = router
        .models()
        .iter()
        .enumerate()
        .map(|(j, info)| {
            let accuracy = correctness.iter().map(|r| r[j]).sum::<f64>() / n as f64;
            ModelPoint {
                name: info.name.clone(),
                cost: info.cost,
                accuracy,
                qab_mean: qab(&[(info.cost, accuracy)], max_cost, &opts.budgets).mean,
            }
        })
        .collect();
    let hull = upper_hull(&models);
    let hull_q = qab(&hull, max_cost, &opts.budgets);
    let orc = oracle(&costs, correctness)?;
    let orc_q = qab(&orc.curve, max_cost, &opts.budgets);
    Ok(EvalReport {
        n_prompts: n,
        max_cost,
        points,
        qab: qab_r,
        models,
        hull,
        hull_qab: hull_q.mean,
        hull_qab_values: hull_q.values,
        oracle: OracleReport {
            accuracy: orc.accuracy,
            mean_cost: orc.mean_cost,
            curve: orc.curve,
            qab: orc_q,
        },
        knn: None,
        uniroute: None,
    })
}

/// Evaluates a [`KnnRouter`] on the same held-out set: its expected errors
/// for each row of `embeddings`, picks by [`choose`] with the models'
/// `costs` (a profile's, aligned with the kNN's models), the curve and QAB
/// under `opts` (its λ grid and budgets; routing options do not apply).
/// Store the result in [`EvalReport::knn`].
pub fn evaluate_knn(
    knn: &KnnRouter,
    embeddings: ArrayView2<'_, f32>,
    correctness: &[Vec<f64>],
    costs: &[f64],
    opts: &EvalOptions,
) -> Result<KnnReport, EvalError> {
    opts.check()?;
    check_costs(costs)?;
    if costs.len() != knn.model_count() {
        return Err(EvalError::Invalid {
            what: "costs".into(),
            reason: format!(
                "{} costs for the kNN router's {} models",
                costs.len(),
                knn.model_count()
            ),
        });
    }
    if embeddings.nrows() == 0 {
        return Err(EvalError::Empty);
    }
    check_correctness(correctness, embeddings.nrows(), costs.len())?;
    let expected = knn.expected_errors_batch(embeddings)?;
    let mut builder = SweepBuilder::new(costs);
    for (e, y) in expected.iter().zip(correctness) {
        builder.add(e, None, None, y);
    }
    let sweep = builder.finish();
    let points = opts.points(&sweep);
    let max_cost = costs.iter().copied().fold(0.0, f64::max);
    let q = qab(&points, max_cost, &opts.budgets);
    Ok(KnnReport {
        k: knn.k(),
        pseudo_count: knn.pseudo_count(),
        n_train: knn.train_len(),
        points,
        qab: q,
    })
}
