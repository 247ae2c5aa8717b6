//! `aurora route`: route one prompt (or embedding) with a profile.

use std::path::PathBuf;

use aurora_router::data::{read_prompts, read_results};
use aurora_router::embed::{open_model, CactusEmbedder, Embedder, PrecomputedEmbeddings};
use aurora_router::eval::{align_results, check_embedding_model};
use aurora_router::route::{RouteDecision, RouteError, RouteOptions, Router};
use aurora_router::routing::{unit_row, Centroids};
use aurora_router::taxonomy::ctfidf::keywords;
use clap::{ArgGroup, Args};

use crate::embedding_args::load_npy;
use crate::CliResult;

/// Flags of `aurora route`.
#[derive(Args, Debug)]
#[command(group(ArgGroup::new("query").required(true).args(["text", "embedding_json", "embeddings"])))]
pub struct RouteArgs {
    /// The router profile.
    #[arg(long)]
    profile: PathBuf,
    /// Route this text (embedded with --model, or the mock for a mock profile).
    #[arg(long)]
    text: Option<String>,
    /// Route this embedding, a JSON array of numbers.
    #[arg(long)]
    embedding_json: Option<String>,
    /// Route rows of this .npy (with --row).
    #[arg(long, requires = "row")]
    embeddings: Option<PathBuf>,
    /// Row(s) of --embeddings to route (repeatable).
    #[arg(long)]
    row: Vec<usize>,
    /// The model that made the embeddings; checked against the profile's.
    #[arg(long)]
    embedding_model: Option<String>,
    /// Model to embed --text with: a sentence-transformers folder (e.g.
    /// models/all-MiniLM-L6-v2) or a Cactus model.
    #[arg(long)]
    model: Option<PathBuf>,
    /// 0 = lowest expected error … 1 = cheapest model.
    #[arg(long, default_value_t = 0.0)]
    cost_preference: f64,
    /// Explicit trade-off λ (overrides --cost-preference).
    #[arg(long)]
    lambda: Option<f64>,
    /// Soft assignment over the K most similar clusters (default: the profile's recommendation, else hard).
    #[arg(long, conflicts_with = "hard")]
    soft: Option<usize>,
    /// Hard assignment to the nearest cluster, whatever the profile recommends.
    #[arg(long)]
    hard: bool,
    /// Below this confidence, fall back to the default model.
    #[arg(long, default_value_t = 0.0)]
    min_confidence: f32,
    /// Only consider these models (repeatable, by name).
    #[arg(long)]
    allow: Vec<String>,
    /// The prompts of --embeddings (JSON Lines): each routed row then shows
    /// the start of its prompt and its cluster's keywords.
    #[arg(long, requires = "embeddings")]
    prompts: Option<PathBuf>,
    /// Per-model correctness of --prompts (CSV): adds a summary of the routed
    /// rows' accuracy and mean cost against every single model.
    #[arg(long, requires = "prompts")]
    results: Option<PathBuf>,
    /// Print JSON (with --row: one JSON array, an object per row with its `row`).
    #[arg(long)]
    json: bool,
}

fn options(a: &RouteArgs, router: &Router) -> CliResult<RouteOptions> {
    let mut b = router
        .options()
        .cost_preference(a.cost_preference)
        .min_confidence(a.min_confidence);
    if let Some(l) = a.lambda {
        b = b.lambda(l);
    }
    if let Some(k) = a.soft {
        b = b.soft(k);
    }
    if a.hard {
        b = b.hard();
    }
    if !a.allow.is_empty() {
        b = b.allowed_models(a.allow.iter());
    }
    b.check().map_err(|e| option_error(e).into())
}

/// A routing option's error in the words of the flag the user typed.
pub fn option_error(e: RouteError) -> String {
    match e {
        RouteError::InvalidOption { name, reason } => {
            let flag = match name {
                "cost_preference" => "--cost-preference",
                "lambda" => "--lambda",
                "soft.top_k" => "--soft",
                "min_confidence" => "--min-confidence",
                "allowed_models" => "--allow",
                other => return format!("routing option `{other}` of the profile: {reason}"),
            };
            format!("{flag}: {reason}")
        }
        other => other.to_string(),
    }
}

/// `aurora route`.
pub fn run(a: RouteArgs) -> CliResult {
    let router = Router::from_path(&a.profile).map_err(|e| format!("--profile {e}"))?;
    let opts = options(&a, &router)?;
    router.check_options(&opts).map_err(option_error)?;
    if let Some(name) = &a.embedding_model {
        check_embedding_model(&router, name)?;
    }
    if let Some(text) = &a.text {
        let embedder: Box<dyn Embedder> = match &a.model {
            Some(p) => open_model(p)?,
            None if router.is_mock() => Box::new(CactusEmbedder::mock(router.dim())?),
            None => {
                return Err(format!(
                    "the profile was built with `{}` embeddings: give --model PATH to the model that makes them (e.g. models/all-MiniLM-L6-v2), or route --embeddings",
                    router.embedding_model()
                )
                .into())
            }
        };
        let d = router.route_text(text, embedder.as_ref(), &opts)?;
        return print(&d, a.json, None);
    }
    if let Some(js) = &a.embedding_json {
        let v: Vec<f32> = serde_json::from_str(js)
            .map_err(|e| format!("--embedding-json: not a JSON array of numbers: {e}"))?;
        let d = router.route_embedding(&v, &opts)?;
        return print(&d, a.json, None);
    }
    if let Some(path) = &a.embeddings {
        let (e, _) = load_npy(
            path,
            a.embedding_model.as_deref(),
            Some(router.embedding_model()),
        )?;
        check_embedding_model(&router, e.model_id())
            .map_err(|err| format!("--embeddings {}: {err}", path.display()))?;
        let texts = match &a.prompts {
            Some(p) => {
                let t: Vec<String> = read_prompts(p)?.into_iter().map(|p| p.text).collect();
                e.check_rows(t.len())?;
                Some(t)
            }
            None => None,
        };
        let keywords = match &texts {
            Some(t) => Some(cluster_keywords(&router, &e, t)?),
            None => None,
        };
        let mut all = Vec::new();
        let mut picks = Vec::new();
        for &r in &a.row {
            let d = router
                .route_embedding(e.row(r).map_err(|err| format!("--row {r}: {err}"))?, &opts)?;
            picks.push(d.model_index());
            let mut v = d.to_json();
            v["row"] = serde_json::json!(r);
            if let (Some(t), Some(kw)) = (&texts, &keywords) {
                v["prompt"] = serde_json::json!(t[r]);
                v["cluster_keywords"] = serde_json::json!(kw[d.cluster()]);
            }
            if a.json {
                all.push(v);
            } else if let (Some(t), Some(kw)) = (&texts, &keywords) {
                println!(
                    "row {r:>4}  {:<44}  → {:<26} cluster {:>2}: {}",
                    start_of(&t[r], 44),
                    d.model_name(),
                    d.cluster(),
                    kw[d.cluster()].join(", ")
                );
            } else {
                print(&d, false, Some(r))?;
            }
        }
        if a.json {
            println!("{}", serde_json::to_string_pretty(&all)?);
        }
        if let (Some(results), Some(prompts)) = (&a.results, &a.prompts) {
            summary(&router, prompts, results, &a.row, &picks, a.json)?;
        }
    }
    Ok(())
}

/// The first `n` characters of a prompt on one line.
fn start_of(text: &str, n: usize) -> String {
    let flat: String = text.split_whitespace().collect::<Vec<_>>().join(" ");
    let mut s: String = flat.chars().take(n).collect();
    if flat.chars().count() > n {
        s.pop();
        s.push('…');
    }
    s
}

/// c-TF-IDF keywords of each cluster over the prompts nearest to it.
fn cluster_keywords(
    router: &Router,
    e: &PrecomputedEmbeddings,
    texts: &[String],
) -> CliResult<Vec<Vec<String>>> {
    let centroids = Centroids::new(&router.profile().centroids, router.dim());
    let mut classes: Vec<Vec<&str>> = vec![Vec::new(); router.cluster_count()];
    for (i, t) in texts.iter().enumerate() {
        let mut v = e.row(i)?.to_vec();
        if unit_row(&mut v) {
            if let Ok(c) = centroids.nearest(&v) {
                classes[c].push(t.as_str());
            }
        }
    }
    Ok(keywords(&classes, 3))
}

/// Accuracy and mean cost of the routed rows against every single model on the same rows.
fn summary(
    router: &Router,
    prompts: &std::path::Path,
    results: &std::path::Path,
    rows: &[usize],
    picks: &[usize],
    json: bool,
) -> CliResult {
    let p = read_prompts(prompts)?;
    let r = read_results(results, &p)?;
    let y = align_results(router.models(), &r)
        .map_err(|e| format!("--results {}: {e}", results.display()))?;
    let n = rows.len().max(1) as f64;
    let acc = rows.iter().zip(picks).map(|(&i, &m)| y[i][m]).sum::<f64>() / n;
    let cost = picks.iter().map(|&m| router.models()[m].cost).sum::<f64>() / n;
    if json {
        return Ok(());
    }
    println!();
    println!(
        "{:<30} {:>9} {:>10}",
        format!("on these {} prompts", rows.len()),
        "accuracy",
        "mean cost"
    );
    println!("{:<30} {:>9.3} {:>10.2}", "router", acc, cost);
    for (j, m) in router.models().iter().enumerate() {
        let a = rows.iter().map(|&i| y[i][j]).sum::<f64>() / n;
        println!("{:<30} {:>9.3} {:>10.2}", m.name, a, m.cost);
    }
    Ok(())
}

fn print(d: &RouteDecision<'_>, json: bool, row: Option<usize>) -> CliResult {
    if json {
        let mut v = d.to_json();
        if let Some(r) = row {
            v["row"] = serde_json::json!(r);
        }
        println!("{v}");
    } else {
        let at = row.map(|r| format!("row {r}: ")).unwrap_or_default();
        println!(
            "{at}{} (cost {}, expected error {:.3}) — cluster {} (similarity {:.3}, confidence {:.2}{})",
            d.model_name(),
            d.model().cost,
            d.expected_error(),
            d.cluster(),
            d.similarity(),
            d.confidence(),
            if d.is_confident() { "" } else { ", not confident: fallback" }
        );
    }
    Ok(())
}
