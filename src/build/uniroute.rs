//! Training the UniRoute-style baseline ([`UnirouteReport`]) with the
//! profile builder, and evaluating it like the profile router.
use ndarray::ArrayView2;

use super::profile::{BuildError, ProfileBuilder, Selection};
#[cfg(doc)]
use super::ROUTING_CV_KS;
use crate::cluster::sweep::Sweep;
use crate::data::{LabelledSet, Prompt, Results};
use crate::eval::{evaluate, normalised, EvalError, EvalOptions, UnirouteReport};
use crate::route::{RouteOptions, Router};

/// Why the baseline could not be trained or evaluated.
#[derive(Debug, thiserror::Error)]
pub enum UnirouteError {
    /// Building its profile failed.
    #[error("UniRoute baseline: {0}")]
    Build(#[from] BuildError),
    /// Evaluating it failed.
    #[error("UniRoute baseline: {0}")]
    Eval(#[from] EvalError),
    /// Its profile did not load as a router.
    #[error("UniRoute baseline: {0}")]
    Route(#[from] crate::route::RouteError),
}

/// Trains the baseline on a labelled training set and evaluates it on the
/// held-out set, like [`evaluate`] does the profile router.
///
/// `router` supplies the models (names, costs, order: `train_correctness`
/// and `correctness` are aligned with them, see
/// [`align_results`](crate::eval::align_results)) and the embedding model.
/// `train_x` holds one row per training prompt, `x` one per held-out
/// prompt, both in the profile's embedding space. `ks` are the numbers
/// of clusters its cross-validation tries (those that fit its training
/// folds; [`ROUTING_CV_KS`] is the profile builder's default). The λ
/// grid and budgets come from `opts`; its routing options are replaced
/// by hard assignment.
#[allow(clippy::too_many_arguments)]
pub fn evaluate_uniroute(
    router: &Router,
    train_texts: &[String],
    train_x: ArrayView2<'_, f32>,
    train_correctness: &[Vec<f64>],
    x: ArrayView2<'_, f32>,
    correctness: &[Vec<f64>],
    opts: &EvalOptions,
    ks: &[usize],
    seed: u64,
) -> Result<UnirouteReport, UnirouteError> {
    let n = train_texts.len();
    if train_x.nrows() != n || train_correctness.len() != n {
        return Err(EvalError::Invalid {
            what: "training set".into(),
            reason: format!(
                "{n} prompts, {} embeddings, {} correctness rows",
                train_x.nrows(),
                train_correctness.len()
            ),
        }
        .into());
    }
    let set = LabelledSet {
        prompts: train_texts
            .iter()
            .enumerate()
            .map(|(i, t)| Prompt {
                id: i.to_string(),
                text: t.clone(),
                category: None,
            })
            .collect(),
        results: Results {
            models: router.models().iter().map(|m| m.name.clone()).collect(),
            correctness: train_correctness.to_vec(),
        },
        models: router.models().to_vec(),
    };
    // The builder wants unit rows.
    let xt = normalised(train_x, "training embeddings")?;
    let sweep = Sweep::params()
        .seed(seed)
        .check()
        .map_err(BuildError::from)?;
    let built = ProfileBuilder::params(sweep)
        .selection(Selection::RoutingCv {
            ks: ks.to_vec(),
            top_ks: vec![1],
        })
        .check()?
        .build(
            &set,
            xt.view(),
            router.embedding_model(),
            router.is_mock(),
            &|_, _, _| {},
        )?;
    let pseudo_count = built
        .profile
        .metadata
        .shrinkage
        .as_ref()
        .map_or(0.0, |s| s.pseudo_count);
    let baseline = Router::from_profile(built.profile)?;
    let hard = opts.clone().route_options(RouteOptions::default());
    let r = evaluate(&baseline, x, correctness, &hard)?;
    Ok(UnirouteReport {
        k: baseline.cluster_count(),
        pseudo_count,
        n_train: n,
        points: r.points,
        qab: r.qab,
    })
}
