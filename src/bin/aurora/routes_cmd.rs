//! `aurora routes build|match|eval`: semantic routes from example utterances.

use std::path::PathBuf;

use aurora_router::embed::{open_model, CactusEmbedder, Embedder, PrecomputedEmbeddings};
use aurora_router::routes::{
    evaluate_dialogues, evaluate_prompts, read_dialogues, read_examples, read_json_map, NoneRule,
    RouteMatch, RouteSet, RoutesBuilder, RoutesError, RoutesParams, SessionParams,
};
use clap::{ArgGroup, Args, Subcommand, ValueEnum};
use ndarray::ArrayView2;

use crate::embedding_args::EmbeddingArgs;
use crate::paths::check_out_path;
use crate::CliResult;

/// `aurora routes …`
#[derive(Subcommand, Debug)]
pub enum RoutesCommand {
    /// Build a route file from example utterances (JSONL `{"text", "route"}`).
    Build(BuildArgs),
    /// Match one text or embedding against a route file.
    Match(MatchArgs),
    /// Evaluate a route file on labelled prompts or on dialogues.
    Eval(EvalArgs),
}

/// Flags of `aurora routes build`.
#[derive(Args, Debug)]
pub struct BuildArgs {
    /// Examples, one JSON object per line: `{"text", "route"}` (`"route": null` = out of scope).
    #[arg(long)]
    examples: PathBuf,
    /// Validation lines (same format) to fit the "none" threshold on.
    #[arg(long)]
    val: Option<PathBuf>,
    /// Precomputed embeddings of --val (row i = line i), with --embeddings.
    #[arg(long, requires = "val")]
    val_embeddings: Option<PathBuf>,
    #[command(flatten)]
    emb: EmbeddingArgs,
    /// Route descriptions, a JSON object `{route: text}` (kept in the file).
    #[arg(long)]
    descriptions: Option<PathBuf>,
    /// Route keywords, a JSON object `{route: [words]}` (kept in the file).
    #[arg(long)]
    keywords: Option<PathBuf>,
    /// Training epochs of the head.
    #[arg(long, default_value_t = 4)]
    epochs: usize,
    /// Softmax temperature of the scores.
    #[arg(long, default_value_t = 4.0)]
    temperature: f32,
    /// The score the "none" threshold applies to: the head's energy, or
    /// the best route's softmax probability.
    #[arg(long, value_enum, default_value_t = NoneRuleArg::Energy)]
    none_rule: NoneRuleArg,
    /// Adam learning rate of the head.
    #[arg(long, default_value_t = 0.02)]
    learning_rate: f32,
    /// Cross-validation folds (threshold without --val).
    #[arg(long, default_value_t = 5)]
    folds: usize,
    /// Session decay stored in the routes.
    #[arg(long, default_value_t = SessionParams::default().decay)]
    decay: f32,
    /// Session switch score stored in the routes.
    #[arg(long, default_value_t = SessionParams::default().switch)]
    switch: f32,
    /// The route file to write.
    #[arg(long)]
    out: PathBuf,
}

/// `--none-rule` values.
#[derive(ValueEnum, Clone, Copy, Debug)]
pub enum NoneRuleArg {
    /// `log Σ exp(logit)`: how strongly any route fits.
    Energy,
    /// The best route's softmax probability.
    MaxProbability,
}

impl From<NoneRuleArg> for NoneRule {
    fn from(a: NoneRuleArg) -> Self {
        match a {
            NoneRuleArg::Energy => NoneRule::Energy,
            NoneRuleArg::MaxProbability => NoneRule::MaxProbability,
        }
    }
}

/// Flags of `aurora routes match`.
#[derive(Args, Debug)]
#[command(group(ArgGroup::new("query").required(true).args(["text", "embedding_json", "embeddings"])))]
pub struct MatchArgs {
    /// The route file (or a profile holding a `routes` section).
    #[arg(long)]
    routes: PathBuf,
    /// Match this text (embedded with --model, or the mock for mock routes).
    #[arg(long)]
    text: Option<String>,
    /// Cactus model to embed --text with.
    #[arg(long)]
    model: Option<PathBuf>,
    /// Match this embedding, a JSON array of numbers.
    #[arg(long)]
    embedding_json: Option<String>,
    /// Match row --row of this .npy.
    #[arg(long, requires = "row")]
    embeddings: Option<PathBuf>,
    /// Row of --embeddings (0-based).
    #[arg(long)]
    row: Option<usize>,
    /// The model that made --embeddings; checked against the routes'.
    #[arg(long)]
    embedding_model: Option<String>,
    /// Print JSON.
    #[arg(long)]
    json: bool,
}

/// Flags of `aurora routes eval`.
#[derive(Args, Debug)]
#[command(group(ArgGroup::new("set").required(true).args(["prompts", "dialogues"])))]
pub struct EvalArgs {
    /// The route file.
    #[arg(long)]
    routes: PathBuf,
    /// Labelled lines `{"text", "route"}` (`null` = out of scope).
    #[arg(long)]
    prompts: Option<PathBuf>,
    /// Dialogues (format of SGD's dialogues.jsonl); --embeddings rows = every turn in file order.
    #[arg(long)]
    dialogues: Option<PathBuf>,
    #[command(flatten)]
    emb: EmbeddingArgs,
    /// Override the routes' session decay.
    #[arg(long)]
    decay: Option<f32>,
    /// Override the routes' session switch score.
    #[arg(long)]
    switch: Option<f32>,
    /// Override the routes' threshold.
    #[arg(long)]
    threshold: Option<f32>,
    /// Print JSON.
    #[arg(long)]
    json: bool,
}

/// Runs `aurora routes …`.
pub fn run(c: RoutesCommand, quiet: bool) -> CliResult {
    match c {
        RoutesCommand::Build(a) => build(a, quiet),
        RoutesCommand::Match(a) => run_match(a),
        RoutesCommand::Eval(a) => eval(a, quiet),
    }
}

fn view(e: &PrecomputedEmbeddings) -> ArrayView2<'_, f32> {
    e.view()
}

fn check_model(routes: &RouteSet, model: Option<&str>, dim: usize) -> Result<(), RoutesError> {
    let model_ok = model.is_none_or(|m| m == routes.embedding_model());
    if !model_ok || dim != routes.dim() {
        return Err(RoutesError::EmbedderMismatch {
            routes_model: routes.embedding_model().into(),
            routes_dim: routes.dim(),
            routes_is_mock: routes.is_mock(),
            embedder_model: model.unwrap_or("precomputed").into(),
            embedder_dim: dim,
            embedder_is_mock: false,
        });
    }
    Ok(())
}

fn build(a: BuildArgs, quiet: bool) -> CliResult {
    check_out_path(&a.out, "--out", &[])?;
    let examples = read_examples(&a.examples)?;
    let texts: Vec<&str> = examples.iter().map(|e| e.text.as_str()).collect();
    let embedded = a.emb.embed_all(&texts, quiet)?;
    let model = embedded.matrix.model_id().to_string();
    let val = a.val.as_ref().map(read_examples).transpose()?;
    let val_emb = match (&val, &a.val_embeddings) {
        (None, _) => None,
        (Some(v), Some(path)) => {
            let mut m = PrecomputedEmbeddings::load(path, &model)?;
            m.check_rows(v.len())?;
            m.normalize_rows()?;
            Some(m)
        }
        (Some(v), None) => {
            if a.emb.embeddings.is_some() {
                return Err("--val with --embeddings needs --val-embeddings V.npy".into());
            }
            let texts: Vec<&str> = v.iter().map(|e| e.text.as_str()).collect();
            Some(a.emb.embed_all(&texts, quiet)?.matrix)
        }
    };
    let params = RoutesParams::new()
        .epochs(a.epochs)
        .folds(a.folds)
        .temperature(a.temperature)
        .none_rule(a.none_rule.into())
        .learning_rate(a.learning_rate)
        .session(SessionParams {
            decay: a.decay,
            switch: a.switch,
        })
        .check()?;
    let mut b = RoutesBuilder::new(params, &model, embedded.is_mock).source_names(
        &a.examples.display().to_string(),
        &a.val
            .as_ref()
            .map(|p| p.display().to_string())
            .unwrap_or_default(),
    );
    if let Some(p) = &a.descriptions {
        b = b.descriptions(read_json_map(p)?);
    }
    if let Some(p) = &a.keywords {
        b = b.keywords(read_json_map(p)?);
    }
    let start = std::time::Instant::now();
    let routes = b.build(
        &examples,
        view(&embedded.matrix),
        val.as_deref().zip(val_emb.as_ref().map(view)),
    )?;
    let secs = start.elapsed().as_secs_f64();
    std::fs::write(&a.out, routes.to_json()?).map_err(|e| format!("{}: {e}", a.out.display()))?;
    if !quiet {
        let info = routes.build_info();
        let threshold = if routes.threshold() == f32::MIN {
            "never none".to_string()
        } else {
            format!(
                "{:.4} on the {:?} score",
                routes.threshold(),
                routes.none_rule()
            )
        };
        eprintln!(
            "{} routes from {} examples; threshold {threshold} ({}, {} out-of-scope lines); built in {secs:.2} s → {}",
            routes.len(),
            info.n_examples,
            info.threshold_source,
            info.n_out_of_scope,
            a.out.display()
        );
    }
    Ok(())
}

fn text_embedder(routes: &RouteSet, model: Option<&PathBuf>) -> CliResult<Box<dyn Embedder>> {
    Ok(match model {
        Some(p) => open_model(p)?,
        None if routes.is_mock() => Box::new(CactusEmbedder::mock(routes.dim())?),
        None => {
            return Err(format!(
                "the routes were built with `{}` embeddings: give --model DIR, or match --embeddings/--embedding-json",
                routes.embedding_model()
            )
            .into())
        }
    })
}

fn run_match(a: MatchArgs) -> CliResult {
    let routes =
        RouteSet::from_path(&a.routes).map_err(|e| format!("{}: {e}", a.routes.display()))?;
    let m = if let Some(text) = &a.text {
        let e = text_embedder(&routes, a.model.as_ref())?;
        routes.match_text(text, e.as_ref())?
    } else if let Some(js) = &a.embedding_json {
        let v: Vec<f32> = serde_json::from_str(js)
            .map_err(|e| format!("--embedding-json: not a JSON array of numbers: {e}"))?;
        check_model(&routes, a.embedding_model.as_deref(), v.len()).map_err(|e| match e {
            RoutesError::EmbedderMismatch { .. } if a.embedding_model.is_none() => {
                RoutesError::Dimension {
                    expected: routes.dim(),
                    got: v.len(),
                }
            }
            e => e,
        })?;
        routes.match_embedding(&v)?
    } else if let (Some(path), Some(row)) = (&a.embeddings, a.row) {
        // The model named by the flag, else by the .npy's sidecar.
        let named = crate::embedding_args::npy_model_name(path, a.embedding_model.as_deref())?;
        let model = named.as_deref();
        let e = PrecomputedEmbeddings::load(path, model.unwrap_or(routes.embedding_model()))?;
        check_model(&routes, model, e.dim())?;
        routes.match_embedding(e.row(row)?)?
    } else {
        return Err("give --text, --embedding-json or --embeddings with --row".into());
    };
    print(&m, a.json);
    Ok(())
}

fn print(m: &RouteMatch, json: bool) {
    if json {
        println!("{}", m.to_json());
    } else {
        let runner = m
            .runner_up
            .as_ref()
            .map(|r| format!(", runner-up {} ({:.3})", r.route, r.score))
            .unwrap_or_default();
        println!(
            "{} (score {:.3}, margin {:.3}{runner})",
            m.route.as_deref().unwrap_or("none"),
            m.score,
            m.margin
        );
    }
}

fn eval(a: EvalArgs, quiet: bool) -> CliResult {
    let mut routes =
        RouteSet::from_path(&a.routes).map_err(|e| format!("{}: {e}", a.routes.display()))?;
    if let Some(t) = a.threshold {
        routes.set_threshold(t)?;
    }
    let mut sp = routes.session_params();
    sp.decay = a.decay.unwrap_or(sp.decay);
    sp.switch = a.switch.unwrap_or(sp.switch);
    routes.set_session_params(sp)?;
    if let Some(e) = a.emb.embedder()? {
        routes.check_embedder(&e as &dyn Embedder)?;
    }
    let embed = |texts: &[&str]| -> CliResult<PrecomputedEmbeddings> {
        let m = a.emb.embed_all(texts, quiet)?.matrix;
        check_model(&routes, a.emb.embedding_model.as_deref(), m.dim())?;
        Ok(m)
    };
    let out = if let Some(p) = &a.prompts {
        let lines = read_examples(p)?;
        let texts: Vec<&str> = lines.iter().map(|e| e.text.as_str()).collect();
        let m = embed(&texts)?;
        serde_json::to_value(evaluate_prompts(
            &routes,
            &lines,
            m.view(),
            &p.display().to_string(),
        )?)?
    } else if let Some(p) = &a.dialogues {
        let ds = read_dialogues(p)?;
        let texts: Vec<&str> = ds
            .iter()
            .flat_map(|d| d.turns.iter().map(|t| t.text.as_str()))
            .collect();
        let m = embed(&texts)?;
        serde_json::to_value(evaluate_dialogues(
            &routes,
            &ds,
            m.view(),
            &p.display().to_string(),
        )?)?
    } else {
        return Err("give --prompts or --dialogues".into());
    };
    if a.json {
        println!("{out}");
    } else {
        println!("{}", serde_json::to_string_pretty(&out)?);
    }
    Ok(())
}
