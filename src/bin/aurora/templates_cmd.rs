//! `aurora templates mine|calibrate|match|eval`: reply templates.

use std::path::{Path, PathBuf};

use aurora_router::embed::{open_model, CactusEmbedder, Embedder, PrecomputedEmbeddings};
use aurora_router::templates::{
    calibrate, evaluate, mine, read_dialogue_pairs, read_pairs, retrieval_baseline, EvalReport,
    LookupEmbedder, MineParams, PairSet, TemplateSet, TemplatesSection, DEFAULT_TARGET_PRECISION,
};
use clap::{ArgGroup, Args, Subcommand};
use ndarray::{Array2, Axis};

use crate::embedding_args::EmbeddingArgs;
use crate::paths::check_out_path;
use crate::{progress, CliResult};

/// `aurora templates …`.
#[derive(Subcommand, Debug)]
pub enum TemplatesCommand {
    /// Mine reply templates from incoming → response pairs (or dialogues).
    Mine(MineArgs),
    /// Fit the "a template fits" threshold for a serving model from held-out pairs.
    Calibrate(CalibrateArgs),
    /// Match one text (or embedding) against the templates.
    Match(MatchArgs),
    /// Evaluate on held-out dialogues: coverage, act precision, curve, retrieval baseline.
    Eval(EvalArgs),
}

/// Where the pairs come from.
#[derive(Args, Debug, Clone)]
#[command(group(ArgGroup::new("source").required(true).args(["pairs", "dialogues"])))]
pub struct PairsArgs {
    /// Pairs JSONL: one {"incoming", "response"} per line (with --embeddings: row 2i = incoming i, row 2i+1 = response i).
    #[arg(long)]
    pairs: Option<PathBuf>,
    /// Dialogues JSONL (the format of shared/data/sgd/dialogues.jsonl): each user turn → the next system turn (with --embeddings: one row per turn, in file order).
    #[arg(long)]
    dialogues: Option<PathBuf>,
}

impl PairsArgs {
    fn read(&self) -> CliResult<PairSet> {
        Ok(match (&self.pairs, &self.dialogues) {
            (Some(p), _) => read_pairs(p)?,
            (None, Some(d)) => read_dialogue_pairs(d)?,
            (None, None) => return Err("give --pairs P.jsonl or --dialogues D.jsonl".into()),
        })
    }
}

/// Flags of `aurora templates mine`.
#[derive(Args, Debug)]
pub struct MineArgs {
    #[command(flatten)]
    source: PairsArgs,
    #[command(flatten)]
    embedding: EmbeddingArgs,
    /// Output file (a profile file holding only the `templates` section).
    #[arg(long)]
    out: PathBuf,
    /// A pattern needs at least this many pairs.
    #[arg(long, default_value_t = 5)]
    min_support: usize,
    /// Keep at most this many templates.
    #[arg(long, default_value_t = 400)]
    max_templates: usize,
    /// Seed of the clusterings.
    #[arg(long, default_value_t = 42)]
    seed: u64,
    /// Incoming-message clusters (default: --max-templates).
    #[arg(long)]
    incoming_clusters: Option<usize>,
    /// Reply clusters (default 96).
    #[arg(long)]
    response_clusters: Option<usize>,
    /// Weight of ln(coherence) in the matching score.
    #[arg(long, default_value_t = aurora_router::templates::DEFAULT_COHERENCE_WEIGHT)]
    coherence_weight: f32,
}

/// The serving embedder and query vectors of calibrate / match / eval.
#[derive(Args, Debug, Clone)]
pub struct ServingArgs {
    /// Serving model: the Cactus (or MiniLM) model at this path re-embeds the templates and the queries.
    #[arg(long, conflicts_with = "mock")]
    model: Option<PathBuf>,
    /// Serving model: the mock Cactus (lexical n-gram hashing).
    #[arg(long)]
    mock: bool,
    /// Dimension of the mock's vectors.
    #[arg(long, default_value_t = 384)]
    mock_dim: usize,
    /// Precomputed query vectors (.npy; rows as the pairs or dialogues file's texts); must come from the serving model.
    #[arg(long)]
    embeddings: Option<PathBuf>,
    /// The model that made the precomputed vectors (checked against the serving model's id).
    #[arg(long)]
    embedding_model: Option<String>,
    /// Without --model/--mock: serve with the precomputed vectors themselves, looking every template text up in
    /// --embeddings and --text-vectors (stands in for --model when the serving model's vectors of every text are known).
    #[arg(long, conflicts_with_all = ["model", "mock"], requires = "embedding_model")]
    serve_precomputed: bool,
    /// More texts for --serve-precomputed: a dialogues (or pairs) file holding the templates' texts…
    #[arg(long, requires = "text_vectors")]
    text_vectors_dialogues: Option<PathBuf>,
    /// … and its vectors (.npy, same row convention).
    #[arg(long, requires = "text_vectors_dialogues")]
    text_vectors: Option<PathBuf>,
}

impl ServingArgs {
    /// The serving embedder; `tables` are (texts, vectors) for --serve-precomputed.
    fn embedder(
        &self,
        tables: &[(&[String], &PrecomputedEmbeddings)],
    ) -> CliResult<Box<dyn Embedder>> {
        if let Some(p) = &self.model {
            return Ok(open_model(p)?);
        }
        if self.mock {
            return Ok(Box::new(CactusEmbedder::mock(self.mock_dim)?));
        }
        if self.serve_precomputed {
            let mut all: Vec<(Vec<String>, PrecomputedEmbeddings)> = Vec::new();
            if let (Some(d), Some(v)) = (&self.text_vectors_dialogues, &self.text_vectors) {
                let set = read_any(d)?;
                all.push((set.row_texts.clone(), self.load_npy(v, set.rows)?));
            }
            let mut e: Option<LookupEmbedder> = None;
            let iter = tables
                .iter()
                .map(|(t, m)| (*t, *m))
                .chain(all.iter().map(|(t, m)| (t.as_slice(), m)));
            for (texts, m) in iter {
                let texts = texts.iter().map(String::as_str);
                match &mut e {
                    None => e = Some(LookupEmbedder::new(texts, m)?),
                    Some(e) => e.extend(texts, m)?,
                }
            }
            return Ok(Box::new(e.ok_or(
                "--serve-precomputed needs --embeddings or --text-vectors",
            )?));
        }
        Err(
            "no serving model: give --model DIR, --mock, or --serve-precomputed with --embeddings"
                .into(),
        )
    }

    fn load_npy(&self, path: &Path, rows: usize) -> CliResult<PrecomputedEmbeddings> {
        // The model named by the flag, else by the .npy's sidecar.
        let named = crate::embedding_args::npy_model_name(path, self.embedding_model.as_deref())?;
        let name = named.as_deref().unwrap_or("precomputed");
        let mut m = PrecomputedEmbeddings::load(path, name)?;
        m.check_rows(rows)?;
        m.normalize_rows()?;
        Ok(m)
    }

    /// The query vectors (incoming messages of `set`): precomputed, or embedded.
    fn queries(
        &self,
        set: &PairSet,
        pre: Option<&PrecomputedEmbeddings>,
        embedder: &dyn Embedder,
        serving: &TemplateSet,
        quiet: bool,
    ) -> CliResult<Array2<f32>> {
        if let Some(m) = pre {
            serving.check_model(m.model_id())?;
            return Ok(m.view().select(Axis(0), &set.incoming_rows));
        }
        embed_rows(
            embedder,
            set.pairs.iter().map(|p| p.incoming.as_str()),
            set.len(),
            quiet,
        )
    }
}

fn read_any(path: &Path) -> CliResult<PairSet> {
    // A dialogues file's lines have "turns"; a pairs file's have "incoming".
    let head = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let first = head.lines().find(|l| !l.trim().is_empty()).unwrap_or("");
    Ok(if first.contains("\"turns\"") {
        read_dialogue_pairs(path)?
    } else {
        read_pairs(path)?
    })
}

fn embed_rows<'a>(
    e: &dyn Embedder,
    texts: impl Iterator<Item = &'a str>,
    n: usize,
    quiet: bool,
) -> CliResult<Array2<f32>> {
    let pb = progress::bar(n as u64, "embedding", quiet);
    let mut data = Vec::with_capacity(n * e.dim());
    for (i, t) in texts.enumerate() {
        let mut v = e.embed(t).map_err(|err| format!("text {}: {err}", i + 1))?;
        aurora_router::embed::l2_normalize(&mut v);
        data.extend_from_slice(&v);
        pb.inc(1);
    }
    pb.finish_and_clear();
    Ok(Array2::from_shape_vec((n, e.dim()), data)?)
}

fn read_section(path: &Path) -> CliResult<Vec<u8>> {
    Ok(std::fs::read(path).map_err(|e| format!("{}: {e}", path.display()))?)
}

/// Runs a `templates` subcommand.
pub fn run(c: TemplatesCommand, quiet: bool) -> CliResult {
    match c {
        TemplatesCommand::Mine(a) => run_mine(a, quiet),
        TemplatesCommand::Calibrate(a) => run_calibrate(a, quiet),
        TemplatesCommand::Match(a) => run_match(a),
        TemplatesCommand::Eval(a) => run_eval(a, quiet),
    }
}

fn run_mine(a: MineArgs, quiet: bool) -> CliResult {
    check_out_path(&a.out, "--out", &[])?;
    let set = a.source.read()?;
    let texts: Vec<&str> = set.row_texts.iter().map(String::as_str).collect();
    let emb = a.embedding.embed_all(&texts, quiet)?;
    let mut p = MineParams::new()
        .min_support(a.min_support)
        .max_templates(a.max_templates)
        .seed(a.seed)
        .coherence_weight(a.coherence_weight);
    if let Some(k) = a.incoming_clusters {
        p = p.incoming_clusters(k);
    }
    if let Some(k) = a.response_clusters {
        p = p.response_clusters(k);
    }
    let p = p.check()?;
    let t0 = std::time::Instant::now();
    let section = mine(&set, emb.matrix.view(), emb.matrix.model_id(), &p)?;
    std::fs::write(&a.out, section.to_file_json()?)
        .map_err(|e| format!("{}: {e}", a.out.display()))?;
    if !quiet {
        eprintln!(
            "{} templates from {} pairs (mined with {} in {:.2} s) → {}",
            section.templates.len(),
            set.len(),
            section.mining_model,
            t0.elapsed().as_secs_f64(),
            a.out.display()
        );
    }
    Ok(())
}

/// Flags of `aurora templates calibrate`.
#[derive(Args, Debug)]
pub struct CalibrateArgs {
    /// The templates file (updated in place unless --out is given).
    #[arg(long)]
    templates: PathBuf,
    /// Held-out pairs, each with the true reply's `acts` label.
    #[command(flatten)]
    source: PairsArgs,
    #[command(flatten)]
    serving: ServingArgs,
    /// The act precision the threshold should reach (the lowest such threshold is kept).
    #[arg(long, default_value_t = DEFAULT_TARGET_PRECISION)]
    target_precision: f32,
    /// Write the calibrated file here instead of updating --templates.
    #[arg(long)]
    out: Option<PathBuf>,
    /// Print the calibration as JSON.
    #[arg(long)]
    json: bool,
}

fn run_calibrate(a: CalibrateArgs, quiet: bool) -> CliResult {
    let bytes = read_section(&a.templates)?;
    let mut file = aurora_router::profile::ProfileFile::from_json(&bytes)?;
    let mut section = TemplatesSection::from_file(&file)?;
    let set = a.source.read()?;
    let pre = match &a.serving.embeddings {
        Some(p) => Some(a.serving.load_npy(p, set.rows)?),
        None => None,
    };
    let tables: Vec<(&[String], &PrecomputedEmbeddings)> = pre
        .as_ref()
        .map(|m| (set.row_texts.as_slice(), m))
        .into_iter()
        .collect();
    let embedder = a.serving.embedder(&tables)?;
    let ts = TemplateSet::from_section(section.clone(), embedder.as_ref(), Some(1.0))?;
    let x = a
        .serving
        .queries(&set, pre.as_ref(), embedder.as_ref(), &ts, quiet)?;
    let acts: Vec<_> = set.pairs.iter().map(|p| p.acts.clone()).collect();
    let scored = evaluate(&ts, x.view(), &acts)?;
    let c = calibrate(&scored, ts.model(), ts.dim(), a.target_precision)?;
    section.set_calibration(c.clone());
    file.set_section(&section)?;
    let out = a.out.as_ref().unwrap_or(&a.templates);
    file.write(out)?;
    if a.json {
        println!("{}", serde_json::to_string(&c)?);
    } else {
        println!(
            "{}: threshold {:.4} (coverage {:.3}, act precision {:.3} on {} pairs; target {:.2}) → {}",
            c.embedding_model,
            c.threshold,
            c.coverage,
            c.precision,
            c.pairs,
            c.target_precision,
            out.display()
        );
    }
    Ok(())
}

/// Flags of `aurora templates match`.
#[derive(Args, Debug)]
#[command(group(ArgGroup::new("query").required(true).args(["text", "embedding_json"])))]
pub struct MatchArgs {
    /// The templates file.
    #[arg(long)]
    templates: PathBuf,
    /// Serving model: the Cactus (or MiniLM) model at this path.
    #[arg(long, conflicts_with = "mock")]
    model: Option<PathBuf>,
    /// Serving model: the mock Cactus.
    #[arg(long)]
    mock: bool,
    /// Dimension of the mock's vectors.
    #[arg(long, default_value_t = 384)]
    mock_dim: usize,
    /// Match this text.
    #[arg(long)]
    text: Option<String>,
    /// Match this embedding (a JSON array of numbers) made by the serving model.
    #[arg(long)]
    embedding_json: Option<String>,
    /// The model that made --embedding-json (checked against the serving model).
    #[arg(long)]
    embedding_model: Option<String>,
    /// Use this threshold instead of the calibrated one.
    #[arg(long)]
    threshold: Option<f32>,
    /// Print JSON.
    #[arg(long)]
    json: bool,
}

fn run_match(a: MatchArgs) -> CliResult {
    let bytes = read_section(&a.templates)?;
    let embedder: Box<dyn Embedder> = match (&a.model, a.mock) {
        (Some(p), _) => open_model(p)?,
        (None, true) => Box::new(CactusEmbedder::mock(a.mock_dim)?),
        (None, false) => return Err("no serving model: give --model DIR or --mock".into()),
    };
    let set = match a.threshold {
        Some(t) => TemplateSet::load_with_threshold(&bytes, embedder.as_ref(), t)?,
        None => TemplateSet::load(&bytes, embedder.as_ref())?,
    };
    let m = if let Some(t) = &a.text {
        set.match_text(t, embedder.as_ref())?
    } else {
        let js = a.embedding_json.as_deref().unwrap_or("");
        if let Some(name) = &a.embedding_model {
            set.check_model(name)?;
        }
        let v: Vec<f32> = serde_json::from_str(js)
            .map_err(|e| format!("--embedding-json: not a JSON array of numbers: {e}"))?;
        set.match_embedding(&v)?
    };
    let t = set.template(m.template);
    if a.json {
        println!(
            "{}",
            serde_json::json!({
                "template": m.template,
                "incoming": t.representative_incoming,
                "response": t.representative_response,
                "score": m.score,
                "matched": m.matched,
            })
        );
    } else if m.matched {
        println!(
            "template {} (score {:.3}): {:?} → {:?}",
            m.template, m.score, t.representative_incoming, t.representative_response
        );
    } else {
        println!(
            "no template fits (best: {} at score {:.3} < threshold {:.3})",
            m.template,
            m.score,
            set.threshold()
        );
    }
    Ok(())
}

/// Flags of `aurora templates eval`.
#[derive(Args, Debug)]
pub struct EvalArgs {
    /// The templates file.
    #[arg(long)]
    templates: PathBuf,
    /// Held-out dialogues (not mined).
    #[arg(long)]
    dialogues: PathBuf,
    #[command(flatten)]
    serving: ServingArgs,
    /// Also report the retrieval baseline over these training dialogues (every pair a template).
    #[arg(long)]
    baseline_dialogues: Option<PathBuf>,
    /// Vectors of --baseline-dialogues (one row per turn) from the serving model; else they are embedded.
    #[arg(long, requires = "baseline_dialogues")]
    baseline_embeddings: Option<PathBuf>,
    /// Use this threshold instead of the calibrated one.
    #[arg(long)]
    threshold: Option<f32>,
    /// Print the report as JSON.
    #[arg(long)]
    json: bool,
}

fn run_eval(a: EvalArgs, quiet: bool) -> CliResult {
    let bytes = read_section(&a.templates)?;
    let set = read_dialogue_pairs(&a.dialogues)?;
    let pre = match &a.serving.embeddings {
        Some(p) => Some(a.serving.load_npy(p, set.rows)?),
        None => None,
    };
    let base = match &a.baseline_dialogues {
        Some(d) => Some(read_dialogue_pairs(d)?),
        None => None,
    };
    let base_pre = match (&base, &a.baseline_embeddings) {
        (Some(b), Some(p)) => Some(a.serving.load_npy(p, b.rows)?),
        _ => None,
    };
    let mut tables: Vec<(&[String], &PrecomputedEmbeddings)> = Vec::new();
    if let Some(m) = &pre {
        tables.push((set.row_texts.as_slice(), m));
    }
    if let (Some(b), Some(m)) = (&base, &base_pre) {
        tables.push((b.row_texts.as_slice(), m));
    }
    let embedder = a.serving.embedder(&tables)?;
    let ts = match a.threshold {
        Some(t) => TemplateSet::load_with_threshold(&bytes, embedder.as_ref(), t)?,
        None => TemplateSet::load(&bytes, embedder.as_ref())?,
    };
    let x = a
        .serving
        .queries(&set, pre.as_ref(), embedder.as_ref(), &ts, quiet)?;
    let acts: Vec<_> = set.pairs.iter().map(|p| p.acts.clone()).collect();
    let scored = evaluate(&ts, x.view(), &acts)?;
    let baseline = match &base {
        Some(b) => {
            let train = match &base_pre {
                Some(m) => {
                    ts.check_model(m.model_id())?;
                    m.view().select(Axis(0), &b.incoming_rows)
                }
                None => embed_rows(
                    embedder.as_ref(),
                    b.pairs.iter().map(|p| p.incoming.as_str()),
                    b.len(),
                    quiet,
                )?,
            };
            let train_acts: Vec<_> = b.pairs.iter().map(|p| p.acts.clone()).collect();
            Some((
                b.len(),
                retrieval_baseline(train.view(), &train_acts, x.view(), &acts)?,
            ))
        }
        None => None,
    };
    let report = EvalReport::new(
        &ts,
        &scored,
        baseline.as_ref().map(|(n, s)| (*n, s.as_slice())),
    );
    if a.json {
        println!("{}", serde_json::to_string(&report)?);
    } else {
        println!(
            "{} pairs, {} templates (mined with {}, served with {}): threshold {:.4} → coverage {:.3}, act precision {:.3}",
            report.pairs, report.templates, ts.mining_model(), ts.model(), report.threshold, report.coverage, report.act_precision
        );
        println!(
            "coverage  threshold  act_precision{}",
            if report.baseline.is_some() {
                "  baseline"
            } else {
                ""
            }
        );
        for (i, c) in report.curve.iter().enumerate() {
            let b = report
                .baseline
                .as_ref()
                .and_then(|b| b.curve.get(i))
                .map(|p| format!("  {:.3}", p.act_precision))
                .unwrap_or_default();
            println!(
                "{:>8.2}  {:>9.4}  {:>13.3}{b}",
                c.coverage, c.threshold, c.act_precision
            );
        }
    }
    Ok(())
}
