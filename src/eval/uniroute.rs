//! The UniRoute-style baseline: a K-means router with hard assignment.
//!
//! UniRoute (Jitkrittum et al., 2025, "Universal Model Routing for Efficient
//! LLM Inference") represents a prompt by a one-hot vector of its nearest
//! K-means cluster and each model by its per-cluster error rates, and picks
//! `argmin_m error[cluster][m] + λ·cost[m]`. As the baseline of `aurora eval
//! --baseline uniroute` it gets the same help as the profile router: K and
//! the shrinkage of its error rates are chosen by the same routing
//! cross-validation on its training set (`Selection::RoutingCv` with
//! hard assignment only). What it lacks is what the profile router adds on
//! top: cross-validated soft assignment over neighbouring clusters.
//!
//! Training it needs the profile builder: see
//! `aurora_router::build::evaluate_uniroute`; this module holds its report.

use serde::Serialize;

use super::{CurvePoint, Qab};

/// The UniRoute-style baseline's result on a held-out set.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct UnirouteReport {
    /// Number of clusters chosen by cross-validation.
    pub k: usize,
    /// Shrinkage pseudo-count chosen by cross-validation.
    pub pseudo_count: f64,
    /// Number of training prompts.
    pub n_train: usize,
    /// Its deferral curve.
    pub points: Vec<CurvePoint>,
    /// Its QAB.
    pub qab: Qab,
}
