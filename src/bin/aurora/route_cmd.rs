//! `aurora route`: route one prompt (or embedding) with a profile.

use std::path::PathBuf;

use aurora_router::embed::{open_model, CactusEmbedder, Embedder, PrecomputedEmbeddings};
use aurora_router::eval::check_embedding_model;
use aurora_router::route::{RouteDecision, RouteOptions, Router};
use clap::{ArgGroup, Args};

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
    /// Print JSON.
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
    Ok(b.check()?)
}

/// `aurora route`.
pub fn run(a: RouteArgs) -> CliResult {
    let router =
        Router::from_path(&a.profile).map_err(|e| format!("{}: {e}", a.profile.display()))?;
    let opts = options(&a, &router)?;
    router.check_options(&opts)?;
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
        let model = a.embedding_model.as_deref().unwrap_or("precomputed");
        let e = PrecomputedEmbeddings::load(path, model)?;
        for &r in &a.row {
            let d = router.route_embedding(e.row(r)?, &opts)?;
            print(&d, a.json, Some(r))?;
        }
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
