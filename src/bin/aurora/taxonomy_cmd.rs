//! `aurora taxonomy build|annotate|stats|eval|show`: a recursive cluster
//! taxonomy of a prompt set, item paths, and where models fail.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use aurora_router::dataset::{read_prompts, read_results, Prompt};
use aurora_router::embed::Embedder;
use aurora_router::profile::ProfileFile;
use aurora_router::taxonomy::annotate::{annotate, read_annotations, write_annotations};
use aurora_router::taxonomy::build::{build, BuildInput};
use aurora_router::taxonomy::params::{Method, Reduce, SizeFrom, TaxonomyParams};
use aurora_router::taxonomy::{cache, metrics, naming, stats, Taxonomy, TaxonomyError};
use clap::{Args, Subcommand};
use ndarray::ArrayView2;

use crate::embedding_args::EmbeddingArgs;
use crate::paths::check_out_path;
use crate::CliResult;

/// The taxonomy subcommands.
#[derive(Subcommand)]
pub enum TaxonomyCommand {
    /// Build the tree: recursive reduce + cluster, names, representatives.
    Build(BuildArgs),
    /// Write each item's path in the tree (JSON Lines).
    Annotate(AnnotateArgs),
    /// Test where each model's errors concentrate (χ², Fisher, BH q-values).
    Stats(StatsArgs),
    /// Compare the tree's levels with label fields: NMI, ARI, purity.
    Eval(EvalArgs),
    /// Print the tree, indented, with sizes, names and keywords.
    Show(ShowArgs),
}

/// `aurora taxonomy build`.
#[derive(Args)]
pub struct BuildArgs {
    /// Prompts JSONL (`id`, `text`, …).
    #[arg(long)]
    prompts: PathBuf,
    #[command(flatten)]
    embedding: EmbeddingArgs,
    /// Output file (a profile file holding the `taxonomy` section).
    #[arg(long)]
    out: PathBuf,
    /// Deepest level of children.
    #[arg(long, default_value_t = 3)]
    max_depth: usize,
    /// `min_cluster_size` at depth 0, as a fraction of all items.
    #[arg(long, default_value_t = 0.05)]
    base_pct: f64,
    /// Factor on `base_pct` per level.
    #[arg(long, default_value_t = 0.7)]
    decay: f64,
    /// Smallest `min_cluster_size`.
    #[arg(long, default_value_t = 10)]
    floor: usize,
    /// HDBSCAN `min_samples`.
    #[arg(long, default_value_t = 10)]
    min_samples: usize,
    /// A child is split again only when its silhouette is below this.
    #[arg(long, default_value_t = 0.3)]
    silhouette_threshold: f64,
    /// Per-node reduction, fitted on each node's own points: `umap:N`, `pca:N` or `none`.
    #[arg(long, default_value = "none")]
    reduce: String,
    /// Split method: `auto` (HDBSCAN and KMeans, best silhouette), `hdbscan` (the seed's), `kmeans`.
    #[arg(long, default_value = "auto")]
    method: String,
    /// Largest number of children per node.
    #[arg(long, default_value_t = 20)]
    max_children: usize,
    /// What `min_cluster_size` scales: `total` (the seed's rule as written) or `node` (each node's own count).
    #[arg(long, default_value = "node")]
    size_from: String,
    /// Seed.
    #[arg(long, default_value_t = 42)]
    seed: u64,
    /// Cache embeddings and trees here.
    #[arg(long)]
    cache_dir: Option<PathBuf>,
    /// Also label every node with this generation model (a Cactus model path; `mock` for the deterministic mock).
    #[arg(long)]
    name_with: Option<String>,
}

/// `aurora taxonomy annotate`.
#[derive(Args)]
pub struct AnnotateArgs {
    /// The tree.
    #[arg(long)]
    tree: PathBuf,
    /// Prompts JSONL.
    #[arg(long)]
    prompts: PathBuf,
    #[command(flatten)]
    embedding: EmbeddingArgs,
    /// Output JSONL.
    #[arg(long)]
    out: PathBuf,
}

/// `aurora taxonomy stats`.
#[derive(Args)]
pub struct StatsArgs {
    /// The tree.
    #[arg(long)]
    tree: PathBuf,
    /// Annotations JSONL.
    #[arg(long)]
    annotations: PathBuf,
    /// Correctness CSV (`id,<model>,…`), as for `profile build`.
    #[arg(long)]
    results: PathBuf,
    /// Significance level for "significantly worse" nodes.
    #[arg(long, default_value_t = 0.05)]
    alpha: f64,
    /// Print JSON.
    #[arg(long)]
    json: bool,
}

/// `aurora taxonomy eval`.
#[derive(Args)]
pub struct EvalArgs {
    /// The tree.
    #[arg(long)]
    tree: PathBuf,
    /// Annotations JSONL.
    #[arg(long)]
    annotations: PathBuf,
    /// Prompts JSONL holding the label fields.
    #[arg(long)]
    prompts: PathBuf,
    /// Label fields, coarse to fine (depth 1 is the first).
    #[arg(long, value_delimiter = ',', required = true)]
    labels: Vec<String>,
    /// Print JSON.
    #[arg(long)]
    json: bool,
}

/// `aurora taxonomy show`.
#[derive(Args)]
pub struct ShowArgs {
    /// The tree.
    #[arg(long)]
    tree: PathBuf,
    /// Keywords per node.
    #[arg(long, default_value_t = 5)]
    keywords: usize,
}

/// Runs a taxonomy subcommand.
pub fn run(cmd: TaxonomyCommand, quiet: bool) -> CliResult {
    match cmd {
        TaxonomyCommand::Build(a) => run_build(a, quiet),
        TaxonomyCommand::Annotate(a) => run_annotate(a, quiet),
        TaxonomyCommand::Stats(a) => run_stats(a),
        TaxonomyCommand::Eval(a) => run_eval(a),
        TaxonomyCommand::Show(a) => {
            let tree = read_tree(&a.tree)?;
            print!("{}", tree.render(a.keywords));
            Ok(())
        }
    }
}

fn read_tree(path: &Path) -> CliResult<Taxonomy> {
    Ok(ProfileFile::read(path)?.require::<Taxonomy>()?)
}

/// Embeddings for the prompts, through the cache when one is given (only
/// for computed embeddings; a `.npy` is already a cache).
fn embeddings(
    args: &EmbeddingArgs,
    texts: &[&str],
    cache_dir: Option<&Path>,
    quiet: bool,
) -> CliResult<(Vec<f32>, usize, String, bool, String)> {
    if let (Some(dir), None) = (cache_dir, &args.embeddings) {
        if let Some(e) = args.embedder()? {
            let model = e.model_id().to_string();
            let key = cache::embeddings_key(texts, &model);
            let path = cache::embeddings_path(dir, &key);
            if let Some((rows, dim, data)) = cache::read_embeddings(&path) {
                if rows == texts.len() && dim == e.dim() {
                    eprintln!("loaded embeddings from cache {}", path.display());
                    return Ok((data, dim, model, e.is_mock(), key));
                }
            }
            let emb = args.embed_all(texts, quiet)?;
            let m = emb.matrix;
            cache::write_embeddings(&path, m.rows(), m.dim(), m.as_slice())?;
            return Ok((m.as_slice().to_vec(), m.dim(), model, emb.is_mock, key));
        }
    }
    let emb = args.embed_all(texts, quiet)?;
    let m = emb.matrix;
    let model = m.model_id().to_string();
    let key = cache::embeddings_key(texts, &model);
    Ok((m.as_slice().to_vec(), m.dim(), model, emb.is_mock, key))
}

fn run_build(a: BuildArgs, quiet: bool) -> CliResult {
    check_out_path(&a.out, "--out", &[])?;
    let params = TaxonomyParams::new()
        .max_depth(a.max_depth)
        .base_pct(a.base_pct)
        .decay(a.decay)
        .floor(a.floor)
        .min_samples(a.min_samples)
        .silhouette_threshold(a.silhouette_threshold)
        .reduce(a.reduce.parse::<Reduce>()?)
        .method(a.method.parse::<Method>()?)
        .max_children(a.max_children)
        .size_from(a.size_from.parse::<SizeFrom>()?)
        .seed(a.seed);
    let checked = params.clone().check()?;
    let prompts = read_prompts(&a.prompts)?;
    let texts: Vec<&str> = prompts.iter().map(|p| p.text.as_str()).collect();
    let (data, dim, model, is_mock, emb_key) =
        embeddings(&a.embedding, &texts, a.cache_dir.as_deref(), quiet)?;
    let config = serde_json::json!({"params": params, "name_with": a.name_with}).to_string();
    let tree_cache = a
        .cache_dir
        .as_ref()
        .map(|d| cache::tree_path(d, &cache::tree_key(&emb_key, &data, &config)));
    if let Some(p) = tree_cache.as_ref().filter(|p| p.exists()) {
        let file = ProfileFile::read(p)?;
        let tree = file.require::<Taxonomy>()?;
        file.write(&a.out)?;
        eprintln!(
            "loaded tree from cache {} ({} nodes); wrote {}",
            p.display(),
            tree.nodes.len(),
            a.out.display()
        );
        return Ok(());
    }
    let view = ArrayView2::from_shape((prompts.len(), dim), &data)?;
    let ids: Vec<String> = prompts.iter().map(|p| p.id.clone()).collect();
    let owned_texts: Vec<String> = prompts.iter().map(|p| p.text.clone()).collect();
    let start = std::time::Instant::now();
    let mut tree = build(
        BuildInput {
            ids: &ids,
            texts: &owned_texts,
            embeddings: view,
            embedding_model: &model,
            is_mock,
        },
        &checked,
        &[],
    )?;
    if let Some(name_model) = &a.name_with {
        label(&mut tree, &prompts, name_model)?;
    }
    let mut file = ProfileFile::new();
    file.set_section(&tree)?;
    file.write(&a.out)?;
    if let Some(p) = &tree_cache {
        cache::write_atomic(p, &file.to_json())?;
    }
    let leaves = tree.nodes.iter().filter(|n| n.children.is_empty()).count();
    eprintln!(
        "built {} nodes ({} leaves, depth {}) from {} items in {:.1}s; wrote {}",
        tree.nodes.len(),
        leaves,
        tree.max_depth(),
        tree.n_items,
        start.elapsed().as_secs_f64(),
        a.out.display()
    );
    Ok(())
}

/// `--name-with`: labels from a Cactus generation model, or the
/// deterministic mock completion (`mock`, or any model when the mock Cactus
/// is linked), which is marked as mock.
fn label(tree: &mut Taxonomy, prompts: &[Prompt], model: &str) -> CliResult {
    let by_id: HashMap<&str, &str> = prompts
        .iter()
        .map(|p| (p.id.as_str(), p.text.as_str()))
        .collect();
    let text_of = |id: &str| by_id.get(id).map(|t| t.to_string());
    if model == "mock" {
        // Deterministic: the node's first two keywords, title-cased.
        let mut complete = |prompt: &str| -> Result<String, String> {
            let kw = prompt
                .split("Keywords: ")
                .nth(1)
                .and_then(|s| s.split('.').next())
                .unwrap_or("");
            let words: Vec<String> = kw
                .split(", ")
                .filter(|w| !w.is_empty())
                .take(2)
                .map(|w| {
                    let mut c = w.chars();
                    c.next()
                        .map(|f| f.to_uppercase().collect::<String>() + c.as_str())
                        .unwrap_or_default()
                })
                .collect();
            Ok(format!("{} topics", words.join(" ")))
        };
        naming::label_nodes(tree, &text_of, &mut complete, "mock", true)?;
        return Ok(());
    }
    let engine = cactus_sys::CactusModel::open(model)?;
    let mut complete = |messages: &str| -> Result<String, String> {
        let raw = engine
            .complete(messages, Some(r#"{"max_tokens": 16, "temperature": 0.0}"#))
            .map_err(|e| e.to_string())?;
        let v: serde_json::Value = serde_json::from_str(&raw).map_err(|e| e.to_string())?;
        if v.get("success").and_then(|s| s.as_bool()) == Some(false) {
            return Err(raw);
        }
        Ok(v.get("response")
            .and_then(|r| r.as_str())
            .unwrap_or_default()
            .to_string())
    };
    naming::label_nodes(tree, &text_of, &mut complete, model, cactus_sys::is_mock())?;
    Ok(())
}

fn run_annotate(a: AnnotateArgs, quiet: bool) -> CliResult {
    check_out_path(&a.out, "--out", &[])?;
    let tree = read_tree(&a.tree)?;
    let prompts = read_prompts(&a.prompts)?;
    let texts: Vec<&str> = prompts.iter().map(|p| p.text.as_str()).collect();
    let (data, dim, model, _, _) = embeddings(&a.embedding, &texts, None, quiet)?;
    if dim != tree.dim {
        return Err(TaxonomyError::DimensionMismatch {
            what: "embeddings".into(),
            expected: tree.dim,
            got: dim,
        }
        .into());
    }
    let view = ArrayView2::from_shape((prompts.len(), dim), &data)?;
    let ids: Vec<String> = prompts.iter().map(|p| p.id.clone()).collect();
    let ann = annotate(&tree, &ids, view, &model)?;
    write_annotations(&a.out, &ann)?;
    eprintln!("annotated {} items; wrote {}", ann.len(), a.out.display());
    Ok(())
}

fn run_stats(a: StatsArgs) -> CliResult {
    if !(a.alpha > 0.0 && a.alpha < 1.0) {
        return Err(TaxonomyError::InvalidParam {
            name: "alpha",
            reason: format!("{} is not in (0, 1)", a.alpha),
        }
        .into());
    }
    let tree = read_tree(&a.tree)?;
    let ann = read_annotations(&a.annotations, &tree)?;
    let prompts: Vec<Prompt> = ann
        .iter()
        .map(|x| Prompt {
            id: x.id.clone(),
            text: String::new(),
            category: None,
        })
        .collect();
    let results = read_results(&a.results, &prompts)?;
    let report = stats::stats(&tree, &ann, &results.models, &results.correctness, a.alpha)?;
    if a.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
        return Ok(());
    }
    for m in &report.models {
        println!("{}  accuracy {:.3}", m.model, m.accuracy);
        for d in &m.depths {
            println!(
                "  depth {}: {} nodes, χ² {} p {} Cramér's V {}",
                d.depth,
                d.nodes,
                fmt_opt(d.chi2, 1),
                fmt_p(d.p_value),
                fmt_opt(d.cramers_v, 3)
            );
        }
        for &id in m.worse.iter().take(5) {
            if let Some(t) = m.nodes.iter().find(|t| t.node == id) {
                println!(
                    "  worse at [{}] {} (n {}): {:.3} vs {:.3} in the rest of its parent, q {:.2e}",
                    t.node, t.name, t.n, t.accuracy, t.rest_accuracy, t.q_value
                );
            }
        }
    }
    Ok(())
}

fn fmt_opt(v: Option<f64>, digits: usize) -> String {
    v.map(|x| format!("{x:.digits$}"))
        .unwrap_or_else(|| "–".into())
}

fn fmt_p(v: Option<f64>) -> String {
    v.map(|x| format!("{x:.2e}")).unwrap_or_else(|| "–".into())
}

/// Reads label fields of a prompts file: `(ids, labels[field][item])`.
fn read_labels(path: &Path, fields: &[String]) -> CliResult<(Vec<String>, Vec<Vec<String>>)> {
    let text = std::fs::read_to_string(path).map_err(|source| TaxonomyError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    let mut ids = Vec::new();
    let mut labels = vec![Vec::new(); fields.len()];
    for (i, l) in text.lines().enumerate() {
        if l.trim().is_empty() {
            continue;
        }
        let v: serde_json::Value = serde_json::from_str(l).map_err(|e| TaxonomyError::Input {
            path: path.to_path_buf(),
            line: i + 1,
            reason: format!("not JSON: {e}"),
        })?;
        let as_str = |x: &serde_json::Value| match x {
            serde_json::Value::String(s) => Some(s.clone()),
            serde_json::Value::Number(n) => Some(n.to_string()),
            serde_json::Value::Bool(b) => Some(b.to_string()),
            _ => None,
        };
        let id = v
            .get("id")
            .and_then(as_str)
            .ok_or_else(|| TaxonomyError::Input {
                path: path.to_path_buf(),
                line: i + 1,
                reason: "no `id`".into(),
            })?;
        ids.push(id);
        for (f, out) in fields.iter().zip(labels.iter_mut()) {
            let val =
                v.get(f)
                    .and_then(as_str)
                    .ok_or_else(|| TaxonomyError::UnknownLabelField {
                        path: path.to_path_buf(),
                        line: i + 1,
                        field: f.clone(),
                    })?;
            out.push(val);
        }
    }
    Ok((ids, labels))
}

fn run_eval(a: EvalArgs) -> CliResult {
    let tree = read_tree(&a.tree)?;
    let ann = read_annotations(&a.annotations, &tree)?;
    let (ids, labels) = read_labels(&a.prompts, &a.labels)?;
    let by_id: HashMap<&str, usize> = ann
        .iter()
        .enumerate()
        .map(|(i, x)| (x.id.as_str(), i))
        .collect();
    let mut order = Vec::with_capacity(ids.len());
    for id in &ids {
        let i = by_id
            .get(id.as_str())
            .ok_or_else(|| TaxonomyError::AnnotationMismatch {
                path: a.annotations.clone(),
                line: 0,
                reason: format!("prompt id `{id}` has no annotation"),
            })?;
        order.push(*i);
    }
    if ann.len() != ids.len() {
        return Err(TaxonomyError::AnnotationMismatch {
            path: a.annotations.clone(),
            line: 0,
            reason: format!("{} annotations for {} prompts", ann.len(), ids.len()),
        }
        .into());
    }
    let mut depths = Vec::new();
    for (d0, field) in a.labels.iter().enumerate() {
        let d = d0 + 1;
        let groups: Vec<usize> = order.iter().map(|&i| ann[i].node_at(d)).collect();
        let lab = &labels[d0];
        let noise = order.iter().filter(|&&i| ann[i].path.len() <= d).count();
        let nodes = groups
            .iter()
            .collect::<std::collections::HashSet<_>>()
            .len();
        depths.push(serde_json::json!({
            "depth": d,
            "label": field,
            "nmi": metrics::nmi(&groups, lab),
            "ari": metrics::ari(&groups, lab),
            "purity": metrics::purity(&groups, lab),
            "nodes": nodes,
            "noise_fraction": noise as f64 / groups.len() as f64,
        }));
    }
    let out = serde_json::json!({ "depths": depths });
    if a.json {
        println!("{}", serde_json::to_string_pretty(&out)?);
    } else {
        for d in &depths {
            println!(
                "depth {} vs {}: NMI {:.3}  ARI {:.3}  purity {:.3}  {} nodes  {:.1}% stopped above",
                d["depth"],
                d["label"].as_str().unwrap_or(""),
                d["nmi"].as_f64().unwrap_or(0.0),
                d["ari"].as_f64().unwrap_or(0.0),
                d["purity"].as_f64().unwrap_or(0.0),
                d["nodes"],
                d["noise_fraction"].as_f64().unwrap_or(0.0) * 100.0
            );
        }
    }
    Ok(())
}
