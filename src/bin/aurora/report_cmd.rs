//! `aurora report`: one self-contained HTML page that shows a profile.

use std::path::{Path, PathBuf};

use aurora_router::data::read_prompts;
use aurora_router::eval::{EvalOptions, HtmlReport, RoutesConfusion};
use aurora_router::profile::ProfileFile;
use aurora_router::route::Router;
use aurora_router::routes::{read_examples, RouteSet};
use aurora_router::taxonomy::Taxonomy;
use clap::Args;

use crate::embedding_args::EmbeddingArgs;
use crate::eval_cmd::{held_out, source, BaselineArgs, HeldOut};
use crate::paths::check_out_path;
use crate::CliResult;

/// Flags of `aurora report`.
#[derive(Args, Debug)]
pub struct ReportArgs {
    /// The router profile to show.
    #[arg(long)]
    profile: PathBuf,
    /// Prompts (JSON Lines) to draw on the map; with --results, also the deferral curves on them.
    #[arg(long)]
    prompts: Option<PathBuf>,
    /// Per-model correctness of --prompts (CSV `id,<model>,…`): draws the deferral curves.
    #[arg(long, requires = "prompts")]
    results: Option<PathBuf>,
    #[command(flatten)]
    embedding: EmbeddingArgs,
    #[command(flatten)]
    baselines: BaselineArgs,
    /// A taxonomy file (`aurora taxonomy build --out`) to show as a tree.
    #[arg(long)]
    taxonomy: Option<PathBuf>,
    /// A route file (`aurora routes build --out`): its confusion matrix on --route-prompts.
    #[arg(long)]
    routes: Option<PathBuf>,
    /// Labelled lines for --routes (`{"text", "route"}` JSON Lines; default: --prompts).
    #[arg(long, requires = "routes")]
    route_prompts: Option<PathBuf>,
    /// Embeddings of --route-prompts (.npy); with --model/--mock the lines are embedded instead.
    #[arg(long, requires = "routes")]
    route_embeddings: Option<PathBuf>,
    /// Page title.
    #[arg(long)]
    title: Option<String>,
    /// The HTML file to write.
    #[arg(long)]
    out: PathBuf,
}

/// `aurora report`.
pub fn run(a: ReportArgs, quiet: bool) -> CliResult {
    check_out_path(&a.out, "--out", &["html", "htm"])?;
    let file = ProfileFile::read(&a.profile).map_err(|e| format!("--profile {e}"))?;
    let router =
        Router::from_file(&file).map_err(|e| format!("--profile {}: {e}", a.profile.display()))?;

    let mut eval: Option<HeldOut> = None;
    let mut map: Option<(aurora_router::embed::PrecomputedEmbeddings, Vec<String>)> = None;
    if let Some(prompts) = &a.prompts {
        if a.routes.is_some() && a.route_prompts.is_none() && a.results.is_none() {
            // --routes --prompts: the prompts are the routes' labelled lines.
        } else {
            let src = source(&router, &a.embedding)?;
            match &a.results {
                Some(results) => {
                    let opts = EvalOptions::default().route_options(router.options().check()?);
                    eval = Some(held_out(
                        &router,
                        &src,
                        a.embedding.embeddings.as_deref(),
                        prompts,
                        results,
                        &opts,
                        &a.baselines,
                        quiet,
                    )?);
                }
                None => {
                    let p = read_prompts(prompts)?;
                    let texts: Vec<String> = p.into_iter().map(|p| p.text).collect();
                    let refs: Vec<&str> = texts.iter().map(String::as_str).collect();
                    let x =
                        src.matrix(a.embedding.embeddings.as_deref(), &refs, "embedding", quiet)?;
                    map = Some((x, texts));
                }
            }
        }
    }

    let taxonomy = match &a.taxonomy {
        Some(p) => Some(
            ProfileFile::read(p)
                .map_err(|e| format!("--taxonomy {e}"))?
                .require::<Taxonomy>()
                .map_err(|e| format!("--taxonomy {}: {e}", p.display()))?,
        ),
        None => None,
    };

    let confusion = match &a.routes {
        Some(p) => Some(routes_confusion(&a, p, quiet)?),
        None => None,
    };

    let command = std::env::args()
        .skip(1)
        .map(|s| if s.contains(' ') { format!("'{s}'") } else { s })
        .collect::<Vec<_>>()
        .join(" ");
    let mut report = HtmlReport::new(&router)
        .title(a.title.clone().unwrap_or_else(|| {
            format!(
                "Router profile {}",
                a.profile.file_name().unwrap_or_default().to_string_lossy()
            )
        }))
        .command(format!("aurora {command}"));
    let note;
    if let Some(h) = &eval {
        let in_sample =
            router.profile().cluster_sizes.iter().sum::<u64>() as usize == h.texts.len();
        note = in_sample.then(|| {
            "as many prompts as built the profile: probably in-sample, so optimistic; use held-out prompts, or see aurora eval --cv".to_string()
        });
        report = report
            .prompts(h.x.view(), Some(&h.texts))
            .eval(&h.report, note.clone());
    } else if let Some((x, texts)) = &map {
        report = report.prompts(x.view(), Some(texts));
    }
    if let Some(t) = &taxonomy {
        report = report.taxonomy(t);
    }
    if let Some(c) = &confusion {
        report = report.routes(c);
    }
    let html = report.render()?;
    std::fs::write(&a.out, html).map_err(|e| format!("--out {}: {e}", a.out.display()))?;
    if !quiet {
        println!("wrote {}", a.out.display());
    }
    Ok(())
}

fn routes_confusion(a: &ReportArgs, path: &Path, quiet: bool) -> CliResult<RoutesConfusion> {
    let routes = RouteSet::from_path(path).map_err(|e| format!("--routes {e}"))?;
    let Some(lines_path) = a.route_prompts.as_ref().or(a.prompts.as_ref()) else {
        return Err("--routes needs labelled lines: give --route-prompts L.jsonl".into());
    };
    let lines = read_examples(lines_path)?;
    let x = match (&a.route_embeddings, a.embedding.embedder()?) {
        (Some(npy), _) => {
            let mut e = aurora_router::embed::PrecomputedEmbeddings::load(npy, routes.embedding_model())?;
            e.check_rows(lines.len())?;
            e.normalize_rows()?;
            e
        }
        (None, Some(emb)) => {
            if emb.model_id() != routes.embedding_model() || emb.dim() != routes.dim() {
                return Err(format!(
                    "--routes {} was built from `{}` embeddings ({} dimensions), --model gives `{}` ({})",
                    path.display(),
                    routes.embedding_model(),
                    routes.dim(),
                    emb.model_id(),
                    emb.dim()
                )
                .into());
            }
            let texts: Vec<&str> = lines.iter().map(|l| l.text.as_str()).collect();
            let data = crate::embedding_args::embed_rows(emb.as_ref(), &texts, quiet)?;
            aurora_router::embed::PrecomputedEmbeddings::from_rows(
                data,
                emb.dim(),
                emb.model_id(),
                "embedder output",
            )?
        }
        (None, None) if a.embedding.embeddings.is_some() && a.route_prompts.is_none() => {
            let mut e = aurora_router::embed::PrecomputedEmbeddings::load(
                a.embedding.embeddings.as_deref().unwrap_or(Path::new("")),
                routes.embedding_model(),
            )?;
            e.check_rows(lines.len())?;
            e.normalize_rows()?;
            e
        }
        (None, None) => {
            return Err(
                "--routes needs embeddings of its lines: give --route-embeddings E.npy, or --model/--mock"
                    .into(),
            )
        }
    };
    if x.dim() != routes.dim() {
        return Err(format!(
            "--route-embeddings have dimension {}, --routes {} expects {}",
            x.dim(),
            path.display(),
            routes.dim()
        )
        .into());
    }
    Ok(RoutesConfusion::compute(
        &routes,
        &lines,
        x.view(),
        &lines_path.display().to_string(),
    )?)
}
