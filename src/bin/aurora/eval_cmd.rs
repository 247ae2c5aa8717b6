//! `aurora eval`: a profile's deferral curve and QAB on a held-out labelled set.

use std::path::{Path, PathBuf};

use aurora_router::build::evaluate_uniroute;
use aurora_router::data::{read_prompts, read_results};
use aurora_router::embed::{Embedder, PrecomputedEmbeddings};
use aurora_router::eval::{
    align_results, check_embedding_model, evaluate, evaluate_knn, EvalError, EvalOptions,
    EvalReport, KnnRouter, Qab, DEFAULT_KNN_K, DEFAULT_KNN_PSEUDO_COUNT,
};
use aurora_router::route::Router;
use clap::{Args, ValueEnum};

use crate::embedding_args::{embed_rows, EmbeddingArgs};
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
    /// The router profile to evaluate.
    #[arg(long)]
    profile: PathBuf,
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
    /// Also evaluate baseline routers trained on --train-prompts/--train-results (comma-separated or repeated).
    #[arg(long, value_enum, value_delimiter = ',')]
    baseline: Vec<Baseline>,
    /// K values the UniRoute baseline's cross-validation tries.
    #[arg(
        long,
        value_delimiter = ',',
        default_value = "5,10,15,20,30,40,50,60,80"
    )]
    baseline_ks: Vec<usize>,
    /// Seed of the UniRoute baseline's K-means.
    #[arg(long, default_value_t = 42)]
    baseline_seed: u64,
    /// Training prompts of the baseline (JSON Lines), e.g. the profile's own training set.
    #[arg(long)]
    train_prompts: Option<PathBuf>,
    /// Training correctness of the baseline (CSV).
    #[arg(long)]
    train_results: Option<PathBuf>,
    /// Training embeddings of the baseline (.npy, same model as --embeddings); with --model/--mock the training prompts are embedded instead.
    #[arg(long)]
    train_embeddings: Option<PathBuf>,
    /// Neighbours of the kNN baseline.
    #[arg(long, default_value_t = DEFAULT_KNN_K)]
    knn_k: usize,
    /// Pseudo-count shrinking the kNN baseline's estimates toward each model's global error.
    #[arg(long, default_value_t = DEFAULT_KNN_PSEUDO_COUNT)]
    knn_pseudo_count: f64,
}

/// Where embeddings come from once the CLI flags are resolved.
enum Source {
    Precomputed(Option<String>),
    Embedder(Box<dyn Embedder>),
}

impl Source {
    /// One row per text: loaded from `npy` or computed with the embedder.
    fn matrix(
        &self,
        npy: Option<&Path>,
        texts: &[&str],
        what: &str,
        quiet: bool,
    ) -> CliResult<PrecomputedEmbeddings> {
        match (self, npy) {
            (Source::Precomputed(name), Some(path)) => {
                let e = PrecomputedEmbeddings::load(path, name.as_deref().unwrap_or("precomputed"))?;
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
            (Source::Precomputed(_), None) => Err(format!(
                "no embeddings for the {what}: give the .npy, or --model PATH / --mock to embed them"
            )
            .into()),
        }
    }
}

/// Reads prompts and results and aligns the results with the router's models.
fn labelled(
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

/// `aurora eval`.
pub fn run(a: EvalArgs, quiet: bool) -> CliResult {
    let router =
        Router::from_path(&a.profile).map_err(|e| format!("{}: {e}", a.profile.display()))?;
    let source = if a.embedding.embeddings.is_some() {
        if let Some(name) = &a.embedding.embedding_model {
            check_embedding_model(&router, name)?;
        }
        Source::Precomputed(a.embedding.embedding_model.clone())
    } else {
        let Some(emb) = a.embedding.embedder()? else {
            return Err("no embeddings: give --embeddings E.npy, --model PATH or --mock".into());
        };
        router
            .check_embedder(emb.as_ref())
            .map_err(EvalError::from)?;
        Source::Embedder(emb)
    };
    let (texts, correctness) = labelled(&router, &a.prompts, &a.results)?;
    let texts: Vec<&str> = texts.iter().map(String::as_str).collect();
    let x = source.matrix(
        a.embedding.embeddings.as_deref(),
        &texts,
        "embedding",
        quiet,
    )?;

    let mut route = router.options();
    if let Some(k) = a.soft {
        route = route.soft(k);
    }
    if a.hard {
        route = route.hard();
    }
    let opts = EvalOptions::default().route_options(route.check()?);
    let mut report = evaluate(&router, x.view(), &correctness, &opts)?;

    if !a.baseline.is_empty() {
        let (Some(tp), Some(tr)) = (&a.train_prompts, &a.train_results) else {
            return Err("--baseline needs --train-prompts and --train-results (and --train-embeddings unless --model/--mock)".into());
        };
        let (train_texts, train_y) = labelled(&router, tp, tr)?;
        let train_refs: Vec<&str> = train_texts.iter().map(String::as_str).collect();
        let tx = source.matrix(
            a.train_embeddings.as_deref(),
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
        if a.baseline.contains(&Baseline::Knn) {
            let knn = KnnRouter::new(tx.view(), &train_y, a.knn_k, a.knn_pseudo_count)?;
            report.knn = Some(evaluate_knn(&knn, x.view(), &correctness, &costs, &opts)?);
        }
        if a.baseline.contains(&Baseline::Uniroute) {
            report.uniroute = Some(evaluate_uniroute(
                &router,
                &train_texts,
                tx.view(),
                &train_y,
                x.view(),
                &correctness,
                &opts,
                &a.baseline_ks,
                a.baseline_seed,
            )?);
        }
    } else if a.train_prompts.is_some() || a.train_results.is_some() || a.train_embeddings.is_some()
    {
        return Err(
            "--train-prompts/--train-results/--train-embeddings are only used with --baseline"
                .into(),
        );
    }

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
