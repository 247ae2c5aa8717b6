//! `aurora label`: measure each model's correctness on multiple-choice
//! questions through `cactus_complete` and write the correctness CSV that
//! `aurora profile build` reads.

use std::path::PathBuf;

use aurora_router::dataset::read_models;
use aurora_router::label::{
    models_with_path, provenance_path, read_mc_questions, run_labelling, runs_path, LabelParams,
};
use clap::Args;

use crate::{progress, CliResult};

/// `aurora label --models M.json --prompts Q.jsonl --out R.csv [--limit N] [--resume]`.
#[derive(Args)]
pub struct LabelArgs {
    /// Models file (JSON list); the models with a `path` are run (relative
    /// paths are resolved against this file's directory).
    #[arg(long)]
    models: PathBuf,
    /// Multiple-choice questions, JSONL: `id`, `question` (or `text`),
    /// `options`, `answer` (letter) or `answer_index`, optional `category`.
    #[arg(long)]
    prompts: PathBuf,
    /// Output correctness CSV (`id,<model>,…`). Beside it: `R.runs.jsonl`
    /// (per answer: letter, latency, tokens) and `R.provenance.json`.
    #[arg(long)]
    out: PathBuf,
    /// Label only the first N questions.
    #[arg(long)]
    limit: Option<usize>,
    /// Continue an interrupted run: keep the complete rows of --out.
    #[arg(long)]
    resume: bool,
    /// Largest number of generated tokens per answer.
    #[arg(long, default_value_t = 512)]
    max_tokens: u32,
}

/// Runs `aurora label`.
pub fn run(a: LabelArgs, quiet: bool) -> CliResult {
    let models = read_models(&a.models)?;
    let label_models = models_with_path(&models, &a.models)?;
    let skipped: Vec<&str> = models
        .iter()
        .filter(|m| m.path().is_none())
        .map(|m| m.name.as_str())
        .collect();
    if !skipped.is_empty() && !quiet {
        eprintln!("skipping models without a `path`: {}", skipped.join(", "));
    }
    let questions = read_mc_questions(&a.prompts)?;
    if cactus_sys::is_mock() && !quiet {
        eprintln!(
            "note: the mock Cactus backend is linked: answers are a seeded hash, not a model \
             (the provenance records is_mock)"
        );
    }
    let params = LabelParams {
        limit: a.limit,
        resume: a.resume,
        max_tokens: a.max_tokens,
    };
    let n = params.limit.unwrap_or(usize::MAX).min(questions.len());
    let pb = progress::bar(n as u64, "labelling", quiet);
    let summary = run_labelling(
        &label_models,
        &questions,
        &a.out,
        &params,
        &mut |done, total| {
            pb.set_length(total as u64);
            pb.set_position(done as u64);
        },
    )?;
    pb.finish_and_clear();
    if !quiet {
        eprintln!(
            "{}: {} rows ({} resumed, {} new); details in {}, summary in {}",
            a.out.display(),
            summary.resumed_rows + summary.new_rows,
            summary.resumed_rows,
            summary.new_rows,
            runs_path(&a.out).display(),
            provenance_path(&a.out).display()
        );
        if let Some(ms) = summary.provenance["models"].as_array() {
            for m in ms {
                eprintln!(
                    "  {:<24} accuracy {:.3}  no answer {:.1}%  latency {:.2} ms  tokens {:.0}+{:.0}",
                    m["name"].as_str().unwrap_or(""),
                    m["accuracy"].as_f64().unwrap_or(0.0),
                    100.0 * m["no_answer_rate"].as_f64().unwrap_or(0.0),
                    m["mean_latency_ms"].as_f64().unwrap_or(0.0),
                    m["mean_prefill_tokens"].as_f64().unwrap_or(0.0),
                    m["mean_decode_tokens"].as_f64().unwrap_or(0.0),
                );
            }
        }
    }
    Ok(())
}
