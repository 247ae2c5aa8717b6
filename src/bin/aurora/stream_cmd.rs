//! `aurora stream ingest|clusters|eval`: the incremental cluster store.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::Instant;

use aurora_router::stream::quality::scores;
use aurora_router::stream::{ClusterStore, Durability, StreamParams};
use clap::{Args, Subcommand};
use rand_xoshiro::rand_core::{RngCore, SeedableRng};
use serde_json::{json, Value};

use crate::embedding_args::EmbeddingArgs;
use crate::{progress, CliResult};

/// `aurora stream …`
#[derive(Subcommand, Debug)]
pub enum StreamCommand {
    /// Insert items (one JSON line each: id, group, timestamp?, quality?) into a store.
    Ingest(IngestArgs),
    /// Print a group's clusters.
    Clusters(ClustersArgs),
    /// Score a store's clusters against labels of the items file.
    Eval(EvalArgs),
}

/// Flags of `aurora stream ingest`.
#[derive(Args, Debug)]
pub struct IngestArgs {
    /// The store directory (created when missing).
    #[arg(long)]
    store: PathBuf,
    /// Items JSONL: `{id, group, timestamp?, quality?}` (+ `text` when embedding with --model).
    #[arg(long)]
    items: PathBuf,
    #[command(flatten)]
    embedding: EmbeddingArgs,
    /// Embed image files (the `path` field) with `cactus_image_embed` (not available yet).
    #[arg(long)]
    images: bool,
    /// Insert the lines in a random order drawn from this seed (default: file order).
    #[arg(long)]
    order_seed: Option<u64>,
    /// Write with `write(2)` only (survives a killed process, not a power loss) instead of fsync.
    #[arg(long)]
    no_fsync: bool,
    #[command(flatten)]
    params: ParamArgs,
    /// Print the summary as JSON.
    #[arg(long)]
    json: bool,
}

/// Clustering parameters (fixed when the store is created).
#[derive(Args, Debug)]
pub struct ParamArgs {
    /// Cosine to the nearest centre needed to join it.
    #[arg(long)]
    join_threshold: Option<f32>,
    /// Cosine at which pending items agree.
    #[arg(long)]
    found_threshold: Option<f32>,
    /// Agreeing pending items needed to found a cluster.
    #[arg(long)]
    min_founders: Option<usize>,
    /// Cosine between centres at which clusters merge.
    #[arg(long)]
    merge_threshold: Option<f32>,
    /// Spread (mean cosine to the centre) below which a cluster is split.
    #[arg(long)]
    split_spread: Option<f32>,
    /// Smallest cluster considered for a split.
    #[arg(long)]
    min_split_size: Option<usize>,
    /// Pending pool capacity per group.
    #[arg(long)]
    pending_capacity: Option<usize>,
    /// Heroes per cluster.
    #[arg(long)]
    heroes: Option<usize>,
}

impl ParamArgs {
    pub(crate) fn any(&self) -> bool {
        self.join_threshold.is_some()
            || self.found_threshold.is_some()
            || self.min_founders.is_some()
            || self.merge_threshold.is_some()
            || self.split_spread.is_some()
            || self.min_split_size.is_some()
            || self.pending_capacity.is_some()
    }

    pub(crate) fn build(&self, mut p: StreamParams) -> StreamParams {
        macro_rules! set {
            ($($f:ident),*) => { $( if let Some(v) = self.$f { p = p.$f(v); } )* };
        }
        set!(
            join_threshold,
            found_threshold,
            min_founders,
            merge_threshold,
            split_spread,
            min_split_size,
            pending_capacity,
            heroes
        );
        p
    }
}

/// Flags of `aurora stream clusters`.
#[derive(Args, Debug)]
pub struct ClustersArgs {
    /// The store directory.
    #[arg(long)]
    store: PathBuf,
    /// The group.
    #[arg(long)]
    group: String,
    /// Print JSON (with centroids).
    #[arg(long)]
    json: bool,
}

/// Flags of `aurora stream eval`.
#[derive(Args, Debug)]
pub struct EvalArgs {
    /// The store directory.
    #[arg(long)]
    store: PathBuf,
    /// The items JSONL that was ingested.
    #[arg(long)]
    items: PathBuf,
    /// The field holding each item's true label (lines where it is null are skipped).
    #[arg(long)]
    label_field: String,
    /// Print JSON.
    #[arg(long)]
    json: bool,
}

/// Runs `aurora stream …`.
/// Opens an existing store with its recorded parameters (read from its
/// metadata, so the log is replayed once), the flags' overrides and
/// `durability`.
pub(crate) fn reopen(
    store: &Path,
    params: &ParamArgs,
    durability: Durability,
    model: &str,
    dim: usize,
) -> CliResult<ClusterStore> {
    let recorded = ClusterStore::read_params(store)?;
    let p = params
        .build(StreamParams::from(recorded))
        .durability(durability)
        .check()?;
    Ok(ClusterStore::open(store, model, dim, p)?)
}

pub fn run(c: StreamCommand, quiet: bool) -> CliResult {
    match c {
        StreamCommand::Ingest(a) => ingest(a, quiet),
        StreamCommand::Clusters(a) => clusters(a),
        StreamCommand::Eval(a) => eval(a),
    }
}

/// One line of the items file.
struct ItemLine {
    id: String,
    group: String,
    timestamp: Option<f64>,
    quality: Option<f32>,
    raw: Value,
}

fn read_items(path: &Path) -> CliResult<Vec<ItemLine>> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let at = || format!("{}:{}", path.display(), i + 1);
        let v: Value = serde_json::from_str(line).map_err(|e| format!("{}: {e}", at()))?;
        let s = |f: &str| -> CliResult<String> {
            match v.get(f) {
                Some(Value::String(s)) => Ok(s.clone()),
                Some(Value::Number(n)) => Ok(n.to_string()),
                _ => Err(format!("{}: field `{f}` is missing or not a string", at()).into()),
            }
        };
        let num = |f: &str| -> CliResult<Option<f64>> {
            match v.get(f) {
                None | Some(Value::Null) => Ok(None),
                Some(x) => x
                    .as_f64()
                    .map(Some)
                    .ok_or_else(|| format!("{}: field `{f}` is not a number", at()).into()),
            }
        };
        out.push(ItemLine {
            id: s("id")?,
            group: s("group")?,
            timestamp: num("timestamp")?,
            quality: num("quality")?.map(|q| q as f32),
            raw: v,
        });
    }
    Ok(out)
}

fn ingest(a: IngestArgs, quiet: bool) -> CliResult {
    if a.images {
        return Err(
            "--images: cactus_image_embed is not available in this build yet; \
                    embed the photos elsewhere and pass --embeddings E.npy --embedding-model NAME"
                .into(),
        );
    }
    let items = read_items(&a.items)?;
    let texts: Vec<String> = items
        .iter()
        .map(|it| {
            it.raw
                .get("text")
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_string()
        })
        .collect();
    let refs: Vec<&str> = texts.iter().map(String::as_str).collect();
    if a.embedding.embeddings.is_some() && a.embedding.embedding_model.is_none() {
        return Err("--embeddings needs --embedding-model NAME (the store records it)".into());
    }
    let emb = a.embedding.embed_all(&refs, quiet)?;
    let model = emb.matrix.model_id().to_string();
    let dim = emb.matrix.dim();
    let durability = if a.no_fsync {
        Durability::Flush
    } else {
        Durability::Fsync
    };
    let store = if a.store.join("meta.json").exists() && !a.params.any() {
        let (m, d) = ClusterStore::read_model(&a.store)?;
        if m != model || d != dim {
            return Err(format!(
                "{}: the store holds `{m}` vectors of dimension {d}, not `{model}` of dimension {dim}",
                a.store.display()
            )
            .into());
        }
        reopen(&a.store, &a.params, durability, &model, dim)?
    } else {
        let p = a
            .params
            .build(StreamParams::new())
            .durability(durability)
            .check()?;
        ClusterStore::open(&a.store, &model, dim, p)?
    };
    let mut order: Vec<usize> = (0..items.len()).collect();
    if let Some(seed) = a.order_seed {
        let mut rng = rand_xoshiro::Xoshiro256PlusPlus::seed_from_u64(seed);
        for i in (1..order.len()).rev() {
            let j = (rng.next_u64() % (i as u64 + 1)) as usize;
            order.swap(i, j);
        }
    }
    let pb = progress::bar(items.len() as u64, "inserting", quiet);
    let t0 = Instant::now();
    let mut new_clusters = 0usize;
    for &i in &order {
        let it = &items[i];
        let r = store
            .insert(
                &it.group,
                &it.id,
                emb.matrix.row(i)?,
                it.quality,
                it.timestamp.unwrap_or(i as f64),
            )
            .map_err(|e| format!("{}:{}: {e}", a.items.display(), i + 1))?;
        new_clusters += usize::from(r.new_cluster);
        pb.inc(1);
    }
    pb.finish_and_clear();
    let secs = t0.elapsed().as_secs_f64();
    let st = store.stats();
    let summary = json!({
        "inserted": items.len(),
        "new_clusters": new_clusters,
        "groups": st.groups,
        "items": st.items,
        "clusters": st.clusters,
        "pending": st.pending,
        "seconds": secs,
        "inserts_per_second": items.len() as f64 / secs.max(1e-9),
        "embedding_model": model,
        "dim": dim,
    });
    if a.json {
        println!("{summary}");
    } else {
        println!(
            "inserted {} items in {:.2}s ({:.0}/s): {} groups, {} clusters, {} pending",
            items.len(),
            secs,
            items.len() as f64 / secs.max(1e-9),
            st.groups,
            st.clusters,
            st.pending
        );
    }
    Ok(())
}

fn clusters(a: ClustersArgs) -> CliResult {
    let store = ClusterStore::open_existing(&a.store)?;
    let cl = store.clusters(&a.group)?;
    if a.json {
        println!("{}", serde_json::to_string(&cl)?);
        return Ok(());
    }
    println!(
        "{:>6} {:>6} {:>7} {:>12} {:>12}  heroes",
        "id", "size", "spread", "first", "last"
    );
    for c in &cl {
        println!(
            "{:>6} {:>6} {:>7.3} {:>12} {:>12}  {}",
            c.id,
            c.size,
            c.spread,
            c.first_seen,
            c.last_seen,
            c.heroes.join(", ")
        );
    }
    let pending = store.pending(&a.group)?;
    println!("{} clusters, {} pending items", cl.len(), pending.len());
    Ok(())
}

fn eval(a: EvalArgs) -> CliResult {
    let store = ClusterStore::open_existing(&a.store)?;
    let items = read_items(&a.items)?;
    let mut pred: Vec<(String, Option<u64>, String)> = Vec::new();
    let mut truth: Vec<(String, String)> = Vec::new();
    let mut label_of: HashMap<(String, String), String> = HashMap::new();
    let mut pending = 0usize;
    for it in &items {
        let label = match it.raw.get(&a.label_field) {
            None | Some(Value::Null) => continue,
            Some(Value::String(s)) => s.clone(),
            Some(v) => v.to_string(),
        };
        let c = store.assignment(&it.group, &it.id)?;
        // A pending item counts as a cluster of its own.
        let key = match c {
            Some(c) => (it.group.clone(), Some(c), String::new()),
            None => {
                pending += 1;
                (it.group.clone(), None, it.id.clone())
            }
        };
        pred.push(key);
        truth.push((it.group.clone(), label.clone()));
        label_of.insert((it.group.clone(), it.id.clone()), label);
    }
    if pred.is_empty() {
        return Err(format!(
            "{}: no line has a `{}` label",
            a.items.display(),
            a.label_field
        )
        .into());
    }
    let s = scores(&pred, &truth);
    // Hero label precision: heroes whose label is their cluster's majority label.
    let mut members: HashMap<(String, u64), HashMap<String, usize>> = HashMap::new();
    for (p, t) in pred.iter().zip(&truth) {
        if let Some(c) = p.1 {
            *members
                .entry((p.0.clone(), c))
                .or_default()
                .entry(t.1.clone())
                .or_default() += 1;
        }
    }
    let (mut heroes, mut good) = (0usize, 0usize);
    let mut groups: Vec<&String> = items.iter().map(|i| &i.group).collect();
    groups.sort();
    groups.dedup();
    for g in groups {
        let Ok(cl) = store.clusters(g) else { continue };
        for c in cl {
            let Some(counts) = members.get(&(g.clone(), c.id)) else {
                continue;
            };
            let majority = counts
                .iter()
                .max_by(|a, b| a.1.cmp(b.1).then(b.0.cmp(a.0)))
                .map(|(l, _)| l.clone());
            for h in &c.heroes {
                if let Some(l) = label_of.get(&(g.clone(), h.clone())) {
                    heroes += 1;
                    good += usize::from(Some(l) == majority.as_ref());
                }
            }
        }
    }
    let hp = if heroes == 0 {
        0.0
    } else {
        good as f64 / heroes as f64
    };
    let out = json!({
        "purity": s.purity,
        "ari": s.ari,
        "nmi": s.nmi,
        "clusters": s.clusters - pending,
        "true_clusters": s.true_clusters,
        "hero_label_precision": hp,
        "pending": pending,
        "items": pred.len(),
    });
    if a.json {
        println!("{out}");
    } else {
        println!(
            "purity {:.3}  ARI {:.3}  NMI {:.3}  clusters {} (true {})  hero label precision {:.3}  pending {}",
            s.purity, s.ari, s.nmi, s.clusters - pending, s.true_clusters, hp, pending
        );
    }
    Ok(())
}
