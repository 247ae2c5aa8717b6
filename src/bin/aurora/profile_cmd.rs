//! `aurora profile build`: the SDK's main job; `aurora profile verify|seal`
//! check and re-seal a profile file.

use std::path::PathBuf;
use std::time::Instant;

use aurora_router::build::{
    centroids_sha256, merge_shards, ProfileBuilder, Selection, ShardCounts, ShardSpec,
};
use aurora_router::cluster::sweep::Sweep;
use aurora_router::data::{read_prompts, read_results, LabelledSet};
use aurora_router::eval::EvalError;
use aurora_router::profile::{
    ModelInfo, Profile, ProfileError, ProfileFile, Section, SelectionMethod,
};
use aurora_router::routes::RouteSet;
use aurora_router::taxonomy::Taxonomy;
use aurora_router::templates::TemplatesSection;
use clap::{Args, Subcommand};

use crate::embedding_args::{load_npy, EmbeddingArgs};
use crate::paths::check_out_path;
use crate::{progress, CliResult};

/// `aurora profile …`
#[derive(Subcommand, Debug)]
pub enum ProfileCommand {
    /// Embed a labelled prompt set, sweep KMeans and HDBSCAN, write a profile.
    Build(BuildArgs),
    /// Add a model to a profile from labelled prompts, without re-clustering.
    AddModel(AddModelArgs),
    /// Check a profile file: its seal (sha256 of the canonical content) and
    /// every section this version knows. Exit status 1 on any problem.
    Verify(VerifyArgs),
    /// Re-seal a hand-edited profile file (after validating its sections).
    Seal(SealArgs),
    /// Merge the shard files of `profile build --centroids-from P --shard
    /// I/N` exactly into a profile with P's centroids.
    Merge(MergeArgs),
}

/// Flags of `aurora profile merge`.
#[derive(Args, Debug)]
pub struct MergeArgs {
    /// The shard files (every shard 1..=N exactly once, in any order).
    #[arg(required = true)]
    shards: Vec<PathBuf>,
    /// The centroid profile the shards were computed with (its sha256 must
    /// match the one recorded in every shard).
    #[arg(long)]
    centroids_from: PathBuf,
    /// Where to write the merged profile.
    #[arg(long, short)]
    out: PathBuf,
}

/// Flags of `aurora profile verify`.
#[derive(Args, Debug)]
pub struct VerifyArgs {
    /// The profile file to check.
    profile: PathBuf,
    /// Accept a file without a seal (its sections are still validated).
    #[arg(long)]
    allow_unsealed: bool,
}

/// Flags of `aurora profile seal`.
#[derive(Args, Debug)]
pub struct SealArgs {
    /// The profile file to seal.
    profile: PathBuf,
    /// Where to write the sealed file (default: rewrite PROFILE in place).
    #[arg(long, short)]
    out: Option<PathBuf>,
}

/// Flags of `aurora profile add-model`.
#[derive(Args, Debug)]
pub struct AddModelArgs {
    /// The profile to extend.
    #[arg(long)]
    profile: PathBuf,
    /// Labelled prompts, JSON Lines.
    #[arg(long)]
    prompts: PathBuf,
    /// Correctness CSV with a column named like --name.
    #[arg(long)]
    results: PathBuf,
    #[command(flatten)]
    embedding: EmbeddingArgs,
    /// The model's name (its column in --results).
    #[arg(long)]
    name: String,
    /// The model's relative cost per call (> 0), in the profile's units.
    #[arg(long)]
    cost: f64,
    /// Path of the model file on the device, recorded as `path`.
    #[arg(long)]
    path: Option<String>,
    /// Re-estimate the model if the profile already has it.
    #[arg(long)]
    replace: bool,
    /// Where to write the extended profile.
    #[arg(long, short)]
    out: PathBuf,
}

/// Flags of `aurora profile build`.
#[derive(Args, Debug)]
pub struct BuildArgs {
    /// Prompts, JSON Lines: one {"id", "text", …} object per line.
    #[arg(long)]
    prompts: PathBuf,
    /// Per-model correctness, CSV with header id,<model>,…
    #[arg(long)]
    results: PathBuf,
    /// Models, JSON list of {"name", "cost", …}.
    #[arg(long)]
    models: PathBuf,
    #[command(flatten)]
    embedding: EmbeddingArgs,
    /// Output profile path.
    #[arg(long, short)]
    out: PathBuf,
    /// Smallest K of the KMeans sweep.
    #[arg(long, default_value_t = 5)]
    k_min: usize,
    /// Largest K of the KMeans sweep.
    #[arg(long, default_value_t = 15)]
    k_max: usize,
    /// HDBSCAN min_cluster_size grid (comma-separated; empty disables HDBSCAN).
    #[arg(long, value_delimiter = ',', default_value = "20,30,50")]
    min_cluster_sizes: Vec<usize>,
    /// HDBSCAN min_samples grid (`hdbscan` library convention: the point itself is not counted).
    #[arg(long, value_delimiter = ',', default_value = "5,10,15")]
    min_samples: Vec<usize>,
    /// Skip HDBSCAN.
    #[arg(long)]
    no_hdbscan: bool,
    /// KMeans restarts per K.
    #[arg(long, default_value_t = 3)]
    kmeans_runs: usize,
    /// Silhouette is exact up to this many points, else a seeded sample of this size.
    #[arg(long, default_value_t = 10_000)]
    silhouette_sample: usize,
    /// How to pick the clustering: `silhouette` (the KMeans + HDBSCAN sweep,
    /// best mean silhouette) or `routing-cv` (KMeans with the K and
    /// pseudo-count that route best on held-out folds; recommended for routing).
    #[arg(long, value_enum, default_value_t = SelectArg::Silhouette)]
    select: SelectArg,
    /// K values tried by `--select routing-cv`.
    #[arg(
        long,
        value_delimiter = ',',
        default_value = "5,10,15,20,30,40,50,60,80"
    )]
    cv_ks: Vec<usize>,
    /// Cluster assignments tried by --select routing-cv, as clusters mixed (1 = hard, n > 1 = soft over the n nearest).
    #[arg(long, value_delimiter = ',', default_value = "1,4,8,16")]
    cv_top_ks: Vec<usize>,
    /// Shrinkage pseudo-count (default: chosen by cross-validation).
    #[arg(long)]
    pseudo_count: Option<f64>,
    /// Seed: the same inputs and seed give a byte-identical profile.
    #[arg(long, default_value_t = 42)]
    seed: u64,
    /// Record the build time in the profile (breaks byte-identical rebuilds).
    #[arg(long)]
    stamp: bool,
    /// Print every candidate's scores.
    #[arg(long, short)]
    verbose: bool,
    /// Also write each training prompt's cluster as CSV `id,cluster`.
    #[arg(long)]
    labels_out: Option<PathBuf>,
    /// Skip clustering: assign the prompts to the centroids of this profile
    /// (its metadata and pseudo-count are kept; the models and error rates
    /// come from --models/--results).
    #[arg(long)]
    centroids_from: Option<PathBuf>,
    /// With --centroids-from: write only the per-cluster counts of shard I
    /// of N (the prompts whose id hashes to I) to --out, for `aurora
    /// profile merge`.
    #[arg(long, value_name = "I/N", requires = "centroids_from")]
    shard: Option<String>,
}

/// Values of `--select`.
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum SelectArg {
    /// Best mean cosine silhouette over the KMeans and HDBSCAN sweep.
    Silhouette,
    /// Best held-out routing quality (QAB) over K and the shrinkage.
    RoutingCv,
}

/// Runs a `profile` subcommand.
pub fn run(cmd: ProfileCommand, quiet: bool) -> CliResult {
    match cmd {
        ProfileCommand::Build(a) => build(a, quiet),
        ProfileCommand::AddModel(a) => add_model(a, quiet),
        ProfileCommand::Verify(a) => verify(a, quiet),
        ProfileCommand::Seal(a) => seal(a, quiet),
        ProfileCommand::Merge(a) => merge(a, quiet),
    }
}

/// Parses and validates every section this version knows; the names of the
/// sections checked.
fn validate_known_sections(file: &ProfileFile) -> Result<Vec<&'static str>, ProfileError> {
    let mut checked = Vec::new();
    if file.section::<Profile>()?.is_some() {
        checked.push(<Profile as Section>::NAME);
    }
    if file.section::<RouteSet>()?.is_some() {
        checked.push(<RouteSet as Section>::NAME);
    }
    if file.section::<Taxonomy>()?.is_some() {
        checked.push(<Taxonomy as Section>::NAME);
    }
    if file.section::<TemplatesSection>()?.is_some() {
        checked.push(<TemplatesSection as Section>::NAME);
    }
    Ok(checked)
}

fn verify(a: VerifyArgs, quiet: bool) -> CliResult {
    let name = a.profile.display().to_string();
    let bytes = std::fs::read(&a.profile).map_err(|e| format!("{name}: {e}"))?;
    let stored = ProfileFile::stored_seal(&bytes).map_err(|e| format!("{name}: {e}"))?;
    if stored.is_none() && !a.allow_unsealed {
        return Err(format!(
            "{name}: the profile is not sealed (written before seals, or by hand): \
             `aurora profile seal {name}` seals it, --allow-unsealed accepts it"
        )
        .into());
    }
    // `read` verifies the seal and names the file in a mismatch.
    let file = ProfileFile::read(&a.profile)?;
    let checked = validate_known_sections(&file).map_err(|e| format!("{name}: {e}"))?;
    let others: Vec<&str> = file
        .section_names()
        .filter(|n| !checked.contains(n))
        .collect();
    if !quiet {
        match &stored {
            Some(d) => println!("{name}: seal OK (sha256 {d})"),
            None => println!("{name}: not sealed (accepted: --allow-unsealed)"),
        }
        println!("{name}: valid sections: {}", list_or_none(&checked));
        if !others.is_empty() {
            println!(
                "{name}: sections this version does not know (not validated): {}",
                others.join(", ")
            );
        }
    }
    Ok(())
}

fn list_or_none(names: &[&str]) -> String {
    if names.is_empty() {
        "none".to_string()
    } else {
        names.join(", ")
    }
}

fn seal(a: SealArgs, quiet: bool) -> CliResult {
    let name = a.profile.display().to_string();
    let file = ProfileFile::read_ignoring_seal(&a.profile)?;
    validate_known_sections(&file).map_err(|e| format!("{name}: not sealed: {e}"))?;
    let out = a.out.as_ref().unwrap_or(&a.profile);
    file.write(out)?;
    if !quiet {
        eprintln!("sealed {} (sha256 {})", out.display(), file.digest());
    }
    Ok(())
}

/// Reads `--centroids-from`: the profile and the sha256 of its bytes.
fn read_centroids(path: &std::path::Path) -> CliResult<(Profile, String)> {
    let bytes =
        std::fs::read(path).map_err(|e| format!("--centroids-from {}: {e}", path.display()))?;
    let p = Profile::from_json(&bytes)
        .map_err(|e| format!("--centroids-from {}: {e}", path.display()))?;
    Ok((p, centroids_sha256(&bytes)))
}

/// `profile build --centroids-from P [--shard I/N]`: no clustering.
fn build_from_centroids(a: BuildArgs, centroids: PathBuf, quiet: bool) -> CliResult {
    let t0 = Instant::now();
    let spec: ShardSpec = match &a.shard {
        Some(s) => s.parse()?,
        None => ShardSpec::ALL,
    };
    let (p, sha) = read_centroids(&centroids)?;
    let set = LabelledSet::load(&a.prompts, &a.results, &a.models)?;
    let texts: Vec<&str> = set.prompts.iter().map(|p| p.text.as_str()).collect();
    let emb = a.embedding.embed_all(&texts, quiet)?;
    let md = &p.metadata;
    if emb.matrix.model_id() != md.embedding_model {
        return Err(EvalError::EmbeddingModelMismatch {
            profile: md.embedding_model.clone(),
            given: emb.matrix.model_id().to_string(),
        }
        .into());
    }
    if emb.matrix.dim() != p.dim() {
        return Err(format!(
            "embeddings have dimension {}, --centroids-from {} has {}",
            emb.matrix.dim(),
            centroids.display(),
            p.dim()
        )
        .into());
    }
    let counts = ShardCounts::compute(&p, &sha, spec, &set, emb.matrix.as_slice())?;
    if a.shard.is_some() {
        std::fs::write(&a.out, counts.to_json())
            .map_err(|e| format!("--out {}: {e}", a.out.display()))?;
        println!(
            "wrote {}: shard {spec} of {} prompts ({} in this shard), {} clusters, {} models, in {:.1} s",
            a.out.display(),
            set.prompts.len(),
            counts.prompts,
            counts.n_clusters,
            counts.models.len(),
            t0.elapsed().as_secs_f64()
        );
        return Ok(());
    }
    let out = merge_shards(&p, &sha, &[(a.prompts.display().to_string(), counts)])?;
    out.write(&a.out)?;
    println!(
        "wrote {}: {} prompts assigned to the {} clusters of {}, {} models, in {:.1} s",
        a.out.display(),
        set.prompts.len(),
        out.n_clusters(),
        centroids.display(),
        out.models.len(),
        t0.elapsed().as_secs_f64()
    );
    Ok(())
}

/// `aurora profile merge`.
fn merge(a: MergeArgs, _quiet: bool) -> CliResult {
    check_out_path(&a.out, "--out", &[])?;
    let (p, sha) = read_centroids(&a.centroids_from)?;
    let mut shards = Vec::with_capacity(a.shards.len());
    for path in &a.shards {
        let name = path.display().to_string();
        let bytes = std::fs::read(path).map_err(|e| format!("{name}: {e}"))?;
        shards.push((name.clone(), ShardCounts::from_json(&bytes, &name)?));
    }
    let out = merge_shards(&p, &sha, &shards)?;
    out.write(&a.out)?;
    println!(
        "merged {} shards ({} prompts) into {}: {} clusters, {} models",
        shards.len(),
        out.cluster_sizes.iter().sum::<u64>(),
        a.out.display(),
        out.n_clusters(),
        out.models.len()
    );
    Ok(())
}

fn build(a: BuildArgs, quiet: bool) -> CliResult {
    check_out_path(&a.out, "--out", &[])?;
    if let Some(c) = a.centroids_from.clone() {
        return build_from_centroids(a, c, quiet);
    }
    let t0 = Instant::now();
    if let Some(p) = &a.labels_out {
        check_out_path(p, "--labels-out", &[])?;
    }
    let set = LabelledSet::load(&a.prompts, &a.results, &a.models)?;
    let texts: Vec<&str> = set.prompts.iter().map(|p| p.text.as_str()).collect();
    let emb = a.embedding.embed_all(&texts, quiet)?;
    let (mcs, ms) = if a.no_hdbscan {
        (vec![], vec![])
    } else {
        (a.min_cluster_sizes.clone(), a.min_samples.clone())
    };
    let sweep = Sweep::params()
        .k_range(a.k_min, a.k_max)
        .hdbscan_grid(mcs, ms)
        .seed(a.seed)
        .kmeans_runs(a.kmeans_runs)
        .silhouette_max_exact(a.silhouette_sample)
        .check()?;
    let (selection, steps) = match a.select {
        SelectArg::Silhouette => (Selection::Silhouette, sweep.candidate_count()),
        SelectArg::RoutingCv => (
            Selection::RoutingCv {
                ks: a.cv_ks.clone(),
                top_ks: a.cv_top_ks.clone(),
            },
            a.cv_ks.len() * 5,
        ),
    };
    let pb = progress::bar(steps as u64, "clustering", quiet);
    let params = ProfileBuilder::params(sweep)
        .selection(selection)
        .pseudo_count(a.pseudo_count)
        .created_at(a.stamp.then(now_rfc3339))
        .check()?;
    let tick = |done: usize, _total: usize, label: &str| {
        pb.set_position(done as u64);
        pb.set_message(label.to_string());
    };
    let mut built = params.build(
        &set,
        emb.matrix.view(),
        emb.matrix.model_id(),
        emb.is_mock,
        &tick,
    )?;
    pb.finish_and_clear();
    // Labels measured by `aurora label` carry their provenance (backend,
    // is_mock, per-model latency) into the profile.
    if let Some(prov) = aurora_router::label::read_provenance_beside(&a.results)? {
        built
            .profile
            .metadata
            .extra
            .insert("label_provenance".into(), prov);
    }
    built.profile.write(&a.out)?;
    if let Some(path) = &a.labels_out {
        let mut csv = String::from("id,cluster\n");
        for (p, l) in set.prompts.iter().zip(&built.sweep.winner().labels) {
            csv.push_str(&format!("{},{l}\n", p.id));
        }
        std::fs::write(path, csv).map_err(|e| format!("{}: {e}", path.display()))?;
    }
    let p = &built.profile;
    let md = &p.metadata;
    if a.verbose && a.select == SelectArg::RoutingCv {
        for e in &md.selection {
            eprintln!(
                "  kmeans k={:<4} hard: cv_qab={} pseudo-count={}; best mixing {} clusters: cv_qab={} pseudo-count={}",
                e.n_clusters,
                e.cv_qab.unwrap_or(f64::NAN),
                e.cv_pseudo_count.unwrap_or(f64::NAN),
                e.cv_top_k.unwrap_or(0),
                e.cv_top_k_qab.unwrap_or(f64::NAN),
                e.cv_top_k_pseudo_count.unwrap_or(f64::NAN)
            );
        }
    }
    if a.select == SelectArg::RoutingCv && !quiet {
        let tried: Vec<u64> = md
            .selection
            .iter()
            .filter_map(|e| e.params.get("k")?.as_u64())
            .collect();
        let skipped: Vec<String> = a
            .cv_ks
            .iter()
            .filter(|&&k| !tried.contains(&(k as u64)))
            .map(|k| k.to_string())
            .collect();
        if !skipped.is_empty() {
            eprintln!(
                "note: K={} skipped by --select routing-cv: larger than a cross-validation training fold of these {} prompts",
                skipped.join(","),
                set.prompts.len()
            );
        }
    }
    if a.verbose && a.select == SelectArg::Silhouette {
        for c in &built.sweep.candidates {
            let score = c
                .silhouette
                .map(|s| format!("{s:.4}"))
                .unwrap_or_else(|| "-".into());
            let why = c.rejected.as_deref().unwrap_or("");
            eprintln!(
                "  {:<45} clusters={:<3} noise={:>5.1}% silhouette={score:<8} {why}",
                c.params.to_string(),
                c.n_clusters,
                c.noise_fraction * 100.0
            );
        }
    }
    let how = match md.selection_method {
        Some(SelectionMethod::RoutingCv) => {
            "the number that routed best in cross-validation on these prompts"
        }
        _ => "the best separated grouping (silhouette)",
    };
    println!(
        "wrote {} ({} KB): {} groups of similar prompts ({how}), {} models, {} prompts, {} embeddings{}, in {:.1} s",
        a.out.display(),
        std::fs::metadata(&a.out).map(|m| m.len()).unwrap_or(0).div_ceil(1024),
        md.n_clusters,
        p.models.len(),
        set.prompts.len(),
        md.embedding_model,
        if md.is_mock { " (mock)" } else { "" },
        t0.elapsed().as_secs_f64()
    );
    if a.verbose {
        eprintln!(
            "  details: {} {}, silhouette {}, {} dimensions, shrinkage pseudo-count {}",
            md.clustering_algorithm,
            md.params,
            md.silhouette_score
                .map(|s| format!("{s:.4}"))
                .unwrap_or_else(|| "not computed".into()),
            md.feature_dim,
            md.shrinkage.as_ref().map(|s| s.pseudo_count).unwrap_or(0.0),
        );
    }
    Ok(())
}

fn add_model(a: AddModelArgs, quiet: bool) -> CliResult {
    check_out_path(&a.out, "--out", &[])?;
    if !(a.cost.is_finite() && a.cost > 0.0) {
        return Err(format!("--cost {}: must be a number > 0", a.cost).into());
    }
    // Read → modify → write through the container: sections this version
    // does not know are written back byte for byte.
    let mut file = ProfileFile::read(&a.profile).map_err(|e| format!("--profile {e}"))?;
    let mut profile = file
        .require::<Profile>()
        .map_err(|e| format!("--profile {}: {e}", a.profile.display()))?;
    if profile.model_index(&a.name).is_some() && !a.replace {
        return Err(format!(
            "--name {}: the profile already has this model; give --replace to re-estimate it",
            a.name
        )
        .into());
    }
    let prompts = read_prompts(&a.prompts)?;
    let results = read_results(&a.results, &prompts)?;
    let column = results.model_index(&a.name).ok_or_else(|| {
        format!(
            "--results {}: no column named `{}` (--name); columns: {}",
            a.results.display(),
            a.name,
            results.models.join(", ")
        )
    })?;
    let md = &profile.metadata;
    if let Some(m) = &a.embedding.embedding_model {
        if m != &md.embedding_model {
            return Err(EvalError::EmbeddingModelMismatch {
                profile: md.embedding_model.clone(),
                given: m.clone(),
            }
            .into());
        }
    }
    let texts: Vec<&str> = prompts.iter().map(|p| p.text.as_str()).collect();
    let mut emb = a.embedding.embed_all(&texts, quiet)?;
    if let Some(path) = &a.embedding.embeddings {
        // The rows exactly as `aurora route --embeddings` reads them (not
        // re-normalised here), so each prompt lands in the cluster `route
        // --hard` gives it, to the last bit.
        let (m, _) = load_npy(
            path,
            a.embedding.embedding_model.as_deref(),
            Some(&md.embedding_model),
        )?;
        if m.model_id() != md.embedding_model {
            return Err(EvalError::EmbeddingModelMismatch {
                profile: md.embedding_model.clone(),
                given: m.model_id().to_string(),
            }
            .into());
        }
        emb.matrix = m;
    }
    if a.embedding.embeddings.is_none()
        && (emb.matrix.model_id() != md.embedding_model || emb.is_mock != md.is_mock)
    {
        return Err(format!(
            "embedder `{}` (mock: {}) does not match the profile's `{}` (mock: {})",
            emb.matrix.model_id(),
            emb.is_mock,
            md.embedding_model,
            md.is_mock
        )
        .into());
    }
    if emb.matrix.dim() != profile.dim() {
        return Err(format!(
            "embeddings have dimension {}, the profile {}",
            emb.matrix.dim(),
            profile.dim()
        )
        .into());
    }
    let mut extra = serde_json::Map::new();
    if let Some(p) = &a.path {
        extra.insert("path".into(), p.clone().into());
    }
    let info = ModelInfo {
        name: a.name.clone(),
        cost: a.cost,
        extra,
    };
    let correctness: Vec<f64> = results.correctness.iter().map(|r| r[column]).collect();
    let report = profile.add_model(info, emb.matrix.as_slice(), &correctness, a.replace)?;
    file.set_section(&profile)?;
    file.write(&a.out)?;
    println!(
        "{} `{}` (global error {:.3} on {} prompts, pseudo-count {}) -> {}",
        if report.replaced {
            "re-estimated"
        } else {
            "added"
        },
        a.name,
        report.global_error,
        correctness.len(),
        report.pseudo_count,
        a.out.display()
    );
    Ok(())
}

/// The current UTC time as RFC 3339 (seconds).
fn now_rfc3339() -> String {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0);
    let (days, rem) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}
