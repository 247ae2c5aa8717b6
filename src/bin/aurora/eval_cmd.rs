//! `aurora eval`: a profile's deferral curve and QAB on a held-out labelled set.

use std::path::{Path, PathBuf};

use aurora_router::build::{evaluate_uniroute, ProfileBuilder, Selection};
use aurora_router::cluster::sweep::Sweep;
use aurora_router::data::{read_prompts, read_results, LabelledSet, Results};
use aurora_router::embed::{Embedder, PrecomputedEmbeddings};
use aurora_router::eval::{
    align_results, check_embedding_model, evaluate, evaluate_knn, EvalError, EvalOptions,
    EvalReport, KnnRouter, Qab, DEFAULT_KNN_K, DEFAULT_KNN_PSEUDO_COUNT,
};
use aurora_router::route::Router;
use clap::{Args, ValueEnum};
use sha2::{Digest, Sha256};

use crate::embedding_args::{embed_rows, load_npy, EmbeddingArgs};
use crate::paths::check_out_path;
use crate::progress;
use crate::route_cmd::option_error;
use crate::CliResult;

/// A baseline router evaluated next to the profile.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Baseline {
    /// k nearest labelled training prompts by cosine (needs --train-prompts and --train-results).
    Knn,
    /// UniRoute-style K-means router with hard assignment, K and shrinkage cross-validated on the training set (needs --train-prompts and --train-results).
    Uniroute,
}

/// Flags of `aurora eval`.
#[derive(Args, Debug)]
pub struct EvalArgs {
    /// The router profile to evaluate (not with --cv, which builds its own).
    #[arg(long, required_unless_present = "cv", conflicts_with = "cv")]
    profile: Option<PathBuf>,
    /// Cross-validate instead: split --prompts into N folds (by
    /// sha256("aurora-eval-split:<id>") mod N), build a profile on N−1 folds
    /// with `--select routing-cv` and score it on the fifth; needs --models.
    #[arg(long, requires = "models")]
    cv: Option<usize>,
    /// K values each --cv fold's routing cross-validation tries.
    #[arg(
        long,
        value_delimiter = ',',
        default_value = "5,10,15,20,30,40,50,60,80",
        requires = "cv"
    )]
    cv_ks: Vec<usize>,
    /// Models (JSON list of {"name", "cost"}) for --cv.
    #[arg(long, requires = "cv")]
    models: Option<PathBuf>,
    /// Held-out prompts (not used to build the profile), JSON Lines.
    #[arg(long)]
    prompts: PathBuf,
    /// Held-out per-model correctness, CSV `id,<model>,…` (columns of models not in the profile are ignored).
    #[arg(long)]
    results: PathBuf,
    #[command(flatten)]
    embedding: EmbeddingArgs,
    /// Print the report as JSON.
    #[arg(long)]
    json: bool,
    /// Write an SVG plot of the curves to this file.
    #[arg(long)]
    plot: Option<PathBuf>,
    /// Route with soft assignment over the K most similar clusters (default: the profile's recommendation, else hard).
    #[arg(long, conflicts_with = "hard")]
    soft: Option<usize>,
    /// Route with hard assignment, whatever the profile recommends.
    #[arg(long)]
    hard: bool,
    #[command(flatten)]
    baselines: BaselineArgs,
}

/// Baseline routers evaluated next to the profile (`aurora eval`, `aurora report`).
#[derive(Args, Debug, Default)]
pub struct BaselineArgs {
    /// Also evaluate baseline routers trained on --train-prompts/--train-results (comma-separated or repeated).
    #[arg(long, value_enum, value_delimiter = ',')]
    pub baseline: Vec<Baseline>,
    /// K values the UniRoute baseline's cross-validation tries.
    #[arg(
        long,
        value_delimiter = ',',
        default_value = "5,10,15,20,30,40,50,60,80"
    )]
    pub baseline_ks: Vec<usize>,
    /// Seed of the UniRoute baseline's K-means.
    #[arg(long, default_value_t = 42)]
    pub baseline_seed: u64,
    /// Training prompts of the baseline (JSON Lines), e.g. the profile's own training set.
    #[arg(long)]
    pub train_prompts: Option<PathBuf>,
    /// Training correctness of the baseline (CSV).
    #[arg(long)]
    pub train_results: Option<PathBuf>,
    /// Training embeddings of the baseline (.npy, same model as --embeddings); with --model/--mock the training prompts are embedded instead.
    #[arg(long)]
    pub train_embeddings: Option<PathBuf>,
    /// Neighbours of the kNN baseline.
    #[arg(long, default_value_t = DEFAULT_KNN_K)]
    pub knn_k: usize,
    /// Pseudo-count shrinking the kNN baseline's estimates toward each model's global error.
    #[arg(long, default_value_t = DEFAULT_KNN_PSEUDO_COUNT)]
    pub knn_pseudo_count: f64,
}

/// Where embeddings come from once the CLI flags are resolved.
pub enum Source {
    /// Rows from a `.npy`: the `--embedding-model` flag and the profile's model.
    Precomputed {
        /// `--embedding-model`, if given.
        flag: Option<String>,
        /// The profile's embedding model.
        profile: String,
    },
    Embedder(Box<dyn Embedder>),
}

impl Source {
    /// One row per text: loaded from `npy` or computed with the embedder.
    pub fn matrix(
        &self,
        npy: Option<&Path>,
        texts: &[&str],
        what: &str,
        quiet: bool,
    ) -> CliResult<PrecomputedEmbeddings> {
        match (self, npy) {
            (Source::Precomputed { flag, profile }, Some(path)) => {
                let (e, _) = load_npy(path, flag.as_deref(), Some(profile))?;
                if e.model_id() != profile {
                    return Err(EvalError::EmbeddingModelMismatch {
                        profile: profile.clone(),
                        given: e.model_id().to_string(),
                    }
                    .into());
                }
                e.check_rows(texts.len())?;
                Ok(e)
            }
            (Source::Embedder(emb), _) => {
                let dim = emb.dim();
                let data = embed_rows(emb.as_ref(), texts, quiet)
                    .map_err(|e| format!("{what}: {e}"))?;
                Ok(PrecomputedEmbeddings::from_rows(
                    data,
                    dim,
                    emb.model_id(),
                    "embedder output",
                )?)
            }
            (Source::Precomputed { .. }, None) => Err(format!(
                "no embeddings for the {what}: give the .npy, or --model PATH / --mock to embed them"
            )
            .into()),
        }
    }
}

/// Reads prompts and results and aligns the results with the router's models.
pub fn labelled(
    router: &Router,
    prompts: &Path,
    results: &Path,
) -> CliResult<(Vec<String>, Vec<Vec<f64>>)> {
    let p = read_prompts(prompts)?;
    let r = read_results(results, &p)?;
    let y =
        align_results(router.models(), &r).map_err(|e| format!("{}: {e}", results.display()))?;
    Ok((p.into_iter().map(|p| p.text).collect(), y))
}

/// Resolves the embedding flags against `router`: precomputed rows (checked
/// against the profile's model) or an embedder of the profile's model.
pub fn source(router: &Router, embedding: &EmbeddingArgs) -> CliResult<Source> {
    Ok(if embedding.embeddings.is_some() {
        if let Some(name) = &embedding.embedding_model {
            check_embedding_model(router, name)?;
        }
        Source::Precomputed {
            flag: embedding.embedding_model.clone(),
            profile: router.embedding_model().to_string(),
        }
    } else {
        let Some(emb) = embedding.embedder()? else {
            return Err("no embeddings: give --embeddings E.npy, --model PATH or --mock".into());
        };
        router
            .check_embedder(emb.as_ref())
            .map_err(EvalError::from)?;
        Source::Embedder(emb)
    })
}

/// A held-out evaluation with its baselines: the report, the prompts' texts
/// and their embeddings.
pub struct HeldOut {
    /// The evaluation.
    pub report: EvalReport,
    /// Prompt texts, in file order.
    pub texts: Vec<String>,
    /// Their embeddings (as loaded or computed).
    pub x: PrecomputedEmbeddings,
}

/// Evaluates `router` on `prompts`/`results` under `opts`, with the baselines asked for.
#[allow(clippy::too_many_arguments)]
pub fn held_out(
    router: &Router,
    source: &Source,
    npy: Option<&Path>,
    prompts: &Path,
    results: &Path,
    opts: &EvalOptions,
    b: &BaselineArgs,
    quiet: bool,
) -> CliResult<HeldOut> {
    let (texts, correctness) = labelled(router, prompts, results)?;
    let refs: Vec<&str> = texts.iter().map(String::as_str).collect();
    let x = source.matrix(npy, &refs, "embedding", quiet)?;
    let mut report = evaluate(router, x.view(), &correctness, opts)?;
    if !b.baseline.is_empty() {
        let (Some(tp), Some(tr)) = (&b.train_prompts, &b.train_results) else {
            return Err("--baseline needs --train-prompts and --train-results (and --train-embeddings unless --model/--mock)".into());
        };
        let (train_texts, train_y) = labelled(router, tp, tr)?;
        let train_refs: Vec<&str> = train_texts.iter().map(String::as_str).collect();
        let tx = source.matrix(
            b.train_embeddings.as_deref(),
            &train_refs,
            "training embeddings",
            quiet,
        )?;
        if tx.dim() != x.dim() {
            return Err(EvalError::Dimension {
                expected: x.dim(),
                got: tx.dim(),
            }
            .into());
        }
        let costs: Vec<f64> = router.models().iter().map(|m| m.cost).collect();
        if b.baseline.contains(&Baseline::Knn) {
            let knn = KnnRouter::new(tx.view(), &train_y, b.knn_k, b.knn_pseudo_count)?;
            report.knn = Some(evaluate_knn(&knn, x.view(), &correctness, &costs, opts)?);
        }
        if b.baseline.contains(&Baseline::Uniroute) {
            let pb =
                progress::spinner("UniRoute baseline: cross-validating K and shrinkage", quiet);
            let u = evaluate_uniroute(
                router,
                &train_texts,
                tx.view(),
                &train_y,
                x.view(),
                &correctness,
                opts,
                &b.baseline_ks,
                b.baseline_seed,
            );
            pb.finish_and_clear();
            report.uniroute = Some(u?);
        }
    } else if b.train_prompts.is_some() || b.train_results.is_some() || b.train_embeddings.is_some()
    {
        return Err(
            "--train-prompts/--train-results/--train-embeddings are only used with --baseline"
                .into(),
        );
    }
    Ok(HeldOut { report, texts, x })
}

/// `aurora eval`.
pub fn run(a: EvalArgs, quiet: bool) -> CliResult {
    if let Some(folds) = a.cv {
        return cross_validate(&a, folds, quiet);
    }
    if let Some(plot) = &a.plot {
        check_out_path(plot, "--plot", &["svg"])?;
    }
    let profile = a
        .profile
        .as_deref()
        .ok_or("give --profile P.json (or --cv N)")?;
    let router = Router::from_path(profile).map_err(|e| format!("--profile {e}"))?;
    let source = source(&router, &a.embedding)?;
    let mut route = router.options();
    if let Some(k) = a.soft {
        route = route.soft(k);
    }
    if a.hard {
        route = route.hard();
    }
    let opts = EvalOptions::default().route_options(route.check().map_err(option_error)?);
    let HeldOut { report, .. } = held_out(
        &router,
        &source,
        a.embedding.embeddings.as_deref(),
        &a.prompts,
        &a.results,
        &opts,
        &a.baselines,
        quiet,
    )?;

    if let Some(path) = &a.plot {
        std::fs::write(path, report.to_svg()).map_err(|e| format!("{}: {e}", path.display()))?;
    }
    if a.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        print_table(&router, &report);
        if let Some(path) = &a.plot {
            println!("wrote {}", path.display());
        }
    }
    Ok(())
}

fn qab_row(name: &str, q: &[f64], mean: f64) {
    let cells: String = q.iter().map(|v| format!(" {v:>6.3}")).collect();
    println!("{name:<28}{cells}  {mean:>6.3}");
}

fn print_table(router: &Router, r: &EvalReport) {
    println!(
        "{} held-out prompts, {} models, profile of {} clusters ({} embeddings)",
        r.n_prompts,
        r.models.len(),
        router.cluster_count(),
        router.embedding_model()
    );
    println!();
    println!("{:<28} {:>8} {:>8}", "model", "cost", "accuracy");
    for m in &r.models {
        println!("{:<28} {:>8} {:>8.3}", m.name, m.cost, m.accuracy);
    }
    println!(
        "{:<28} {:>8.2} {:>8.3}",
        "oracle", r.oracle.mean_cost, r.oracle.accuracy
    );
    let first = r.points.first();
    let last = r.points.last();
    if let (Some(f), Some(l)) = (first, last) {
        println!(
            "router curve: {} points, from cost {:.2} / accuracy {:.3} (λ = 0) to {:.2} / {:.3}",
            r.points.len(),
            f.mean_cost,
            f.accuracy,
            l.mean_cost,
            l.accuracy
        );
    }
    println!();
    let q: &Qab = &r.qab;
    let head: String = q
        .budgets
        .iter()
        .map(|b| format!(" {:>6}", format!("{:.0}%", b * 100.0)))
        .collect();
    println!("{:<28}{head}  {:>6}", "QAB (budget % of max cost)", "mean");
    qab_row("router", &q.values, q.mean);
    if let Some(k) = &r.knn {
        qab_row(&format!("kNN (k = {})", k.k), &k.qab.values, k.qab.mean);
    }
    if let Some(u) = &r.uniroute {
        qab_row(
            &format!("UniRoute (K = {})", u.k),
            &u.qab.values,
            u.qab.mean,
        );
    }
    qab_row("hull of single models", &r.hull_qab_values, r.hull_qab);
    qab_row("oracle", &r.oracle.qab.values, r.oracle.qab.mean);
}

/// `aurora eval --cv N`: build on N−1 folds, score the held-out fold, for
/// each fold; print the per-fold QAB of the router, the hull and the oracle
/// and their means.
fn cross_validate(a: &EvalArgs, folds: usize, quiet: bool) -> CliResult {
    if !(2..=20).contains(&folds) {
        return Err(format!("--cv {folds}: must be between 2 and 20 folds").into());
    }
    if !a.baselines.baseline.is_empty() {
        return Err(
            "--baseline is not available with --cv (see benches/routing_quality.sh)".into(),
        );
    }
    if let Some(plot) = &a.plot {
        check_out_path(plot, "--plot", &["svg"])?;
    }
    let models = a.models.as_deref().ok_or("--cv needs --models M.json")?;
    let set = LabelledSet::load(&a.prompts, &a.results, models)?;
    let texts: Vec<&str> = set.prompts.iter().map(|p| p.text.as_str()).collect();
    let emb = a.embedding.embed_all(&texts, quiet)?;
    let fold_of: Vec<usize> = set
        .prompts
        .iter()
        .map(|p| {
            let h = Sha256::digest(format!("aurora-eval-split:{}", p.id).as_bytes());
            (u64::from_be_bytes(h[..8].try_into().unwrap_or([0; 8])) % folds as u64) as usize
        })
        .collect();
    let subset = |keep: &dyn Fn(usize) -> bool| -> (LabelledSet, Vec<f32>) {
        let idx: Vec<usize> = (0..set.prompts.len()).filter(|&i| keep(i)).collect();
        let mut rows = Vec::with_capacity(idx.len() * emb.matrix.dim());
        for &i in &idx {
            rows.extend_from_slice(emb.matrix.row(i).unwrap_or(&[]));
        }
        (
            LabelledSet {
                prompts: idx.iter().map(|&i| set.prompts[i].clone()).collect(),
                results: Results {
                    models: set.results.models.clone(),
                    correctness: idx
                        .iter()
                        .map(|&i| set.results.correctness[i].clone())
                        .collect(),
                },
                models: set.models.clone(),
            },
            rows,
        )
    };
    let dim = emb.matrix.dim();
    let mut rows_out: Vec<(usize, usize, String, EvalReport)> = Vec::new();
    for f in 0..folds {
        let (train, tx) = subset(&|i| fold_of[i] != f);
        let (test, ex) = subset(&|i| fold_of[i] == f);
        if train.prompts.is_empty() || test.prompts.is_empty() {
            return Err(format!("--cv {folds}: fold {f} is empty; use fewer folds").into());
        }
        let pb = progress::spinner(
            &format!(
                "fold {}/{folds}: building a profile on {} prompts",
                f + 1,
                train.prompts.len()
            ),
            quiet,
        );
        let sweep = Sweep::params().seed(42).check()?;
        let params = ProfileBuilder::params(sweep)
            .selection(Selection::RoutingCv {
                ks: a.cv_ks.clone(),
                top_ks: vec![1, 4, 8, 16],
            })
            .check()?;
        let tx = ndarray::Array2::from_shape_vec((train.prompts.len(), dim), tx)?;
        let built = params.build(
            &train,
            tx.view(),
            emb.matrix.model_id(),
            emb.is_mock,
            &|_, _, _| {},
        )?;
        pb.finish_and_clear();
        let router = Router::from_profile(built.profile)?;
        let ex = ndarray::Array2::from_shape_vec((test.prompts.len(), dim), ex)?;
        let y = align_results(router.models(), &test.results)?;
        let opts =
            EvalOptions::default().route_options(router.options().check().map_err(option_error)?);
        let r = evaluate(&router, ex.view(), &y, &opts)?;
        let how = router
            .profile()
            .metadata
            .routing
            .as_ref()
            .map(|r| {
                if r.clusters_mixed() > 1 {
                    format!("soft top-{}", r.clusters_mixed())
                } else {
                    "hard".into()
                }
            })
            .unwrap_or_else(|| "hard".into());
        rows_out.push((f, router.cluster_count(), how, r));
    }
    let mean = |g: &dyn Fn(&EvalReport) -> f64| {
        rows_out.iter().map(|(_, _, _, r)| g(r)).sum::<f64>() / folds as f64
    };
    if a.json {
        let v: Vec<serde_json::Value> = rows_out
            .iter()
            .map(|(f, k, how, r)| {
                serde_json::json!({"fold": f, "clusters": k, "assignment": how, "n_prompts": r.n_prompts,
                    "router_qab": r.qab.mean, "hull_qab": r.hull_qab, "oracle_qab": r.oracle.qab.mean})
            })
            .collect();
        println!(
            "{}",
            serde_json::to_string_pretty(&serde_json::json!({
                "folds": v,
                "mean": {"router_qab": mean(&|r| r.qab.mean), "hull_qab": mean(&|r| r.hull_qab),
                         "oracle_qab": mean(&|r| r.oracle.qab.mean)}
            }))?
        );
        return Ok(());
    }
    println!(
        "{folds}-fold cross-validation on {} prompts (folds by sha256(\"aurora-eval-split:<id>\") mod {folds}; each profile built with --select routing-cv on the other folds)",
        set.prompts.len()
    );
    println!();
    println!(
        "{:<6} {:>8} {:>9} {:<12} {:>10} {:>9} {:>10}",
        "fold", "prompts", "clusters", "assignment", "router QAB", "hull QAB", "oracle QAB"
    );
    for (f, k, how, r) in &rows_out {
        println!(
            "{f:<6} {:>8} {k:>9} {how:<12} {:>10.4} {:>9.4} {:>10.4}",
            r.n_prompts, r.qab.mean, r.hull_qab, r.oracle.qab.mean
        );
    }
    println!(
        "{:<6} {:>8} {:>9} {:<12} {:>10.4} {:>9.4} {:>10.4}",
        "mean",
        "",
        "",
        "",
        mean(&|r| r.qab.mean),
        mean(&|r| r.hull_qab),
        mean(&|r| r.oracle.qab.mean)
    );
    let wins = rows_out
        .iter()
        .filter(|(_, _, _, r)| r.qab.mean > r.hull_qab)
        .count();
    println!(
        "router − hull of single models: {:+.4} QAB (router ahead on {wins} of {folds} folds)",
        mean(&|r| r.qab.mean - r.hull_qab)
    );
    if let (Some(path), Some((_, _, _, r))) = (&a.plot, rows_out.first()) {
        std::fs::write(path, r.to_svg()).map_err(|e| format!("--plot {}: {e}", path.display()))?;
        println!("wrote {} (fold 0)", path.display());
    }
    Ok(())
}
