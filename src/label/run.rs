//! The labelling run: every question through every model, one CSV row per
//! question, resumable.
//!
//! Files written beside `--out R.csv`:
//! * `R.csv` — the correctness CSV `aurora profile build` reads
//!   (`id,<model>,<model>…`, 1 = correct, 0 = wrong or no answer);
//! * `R.runs.jsonl` — one line per row: per model the letter, how it was
//!   extracted, the wall-clock latency, the engine's timings and token
//!   counts;
//! * `R.provenance.json` — the summary (backend, `is_mock`, per-model
//!   accuracy, no-answer rate, mean latency and tokens), which
//!   `aurora profile build` copies into the profile's
//!   `metadata.label_provenance`.
//!
//! A row's runs line is written before its CSV row, so every CSV row has
//! its details. `resume` keeps the complete rows of an existing CSV (a
//! half-written last line is dropped) and only labels the rest.

use std::collections::{BTreeMap, HashSet};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Instant;

use cactus_sys::{CactusModel, ChatMessage, CompleteOptions};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use super::extract::{extract_answer, Extraction};
use super::questions::McQuestion;
use super::LabelError;
use crate::profile::ModelInfo;

/// A model to label with: its name (the CSV column) and its file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LabelModel {
    /// Column name.
    pub name: String,
    /// Model path, resolved against the models file's directory.
    pub path: PathBuf,
}

/// The models of a models file that have a `path` (resolved against
/// `models_json`'s directory). Models without one are skipped; none at all
/// is an error.
pub fn models_with_path(
    models: &[ModelInfo],
    models_json: &Path,
) -> Result<Vec<LabelModel>, LabelError> {
    let base = models_json.parent().unwrap_or(Path::new(""));
    let out: Vec<LabelModel> = models
        .iter()
        .filter_map(|m| {
            let p = m.path()?;
            let resolved =
                if p.starts_with(cactus_sys::MOCK_PATH_PREFIX) || Path::new(p).is_absolute() {
                    PathBuf::from(p)
                } else {
                    base.join(p)
                };
            Some(LabelModel {
                name: m.name.clone(),
                path: resolved,
            })
        })
        .collect();
    if out.is_empty() {
        return Err(LabelError::NoModelPaths {
            path: models_json.to_path_buf(),
        });
    }
    Ok(out)
}

/// Options of a labelling run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LabelParams {
    /// Label only the first `limit` questions.
    pub limit: Option<usize>,
    /// Keep the complete rows of an existing output and label the rest.
    pub resume: bool,
    /// `max_tokens` of each completion.
    pub max_tokens: u32,
}

impl Default for LabelParams {
    fn default() -> Self {
        LabelParams {
            limit: None,
            resume: false,
            max_tokens: 512,
        }
    }
}

/// One model's answer to one question, as logged in `R.runs.jsonl`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ModelRun {
    /// Model name.
    pub model: String,
    /// The extracted letter, if any.
    pub letter: Option<char>,
    /// How it was extracted.
    pub extracted_by: Option<Extraction>,
    /// Whether it is the correct letter.
    pub correct: bool,
    /// Wall-clock time of the `cactus_complete` call, in ms.
    pub latency_ms: f64,
    /// The engine's own total time, in ms.
    pub engine_total_ms: f64,
    /// The engine's time to first token, in ms.
    pub time_to_first_token_ms: f64,
    /// Prompt tokens.
    pub prefill_tokens: u64,
    /// Generated tokens.
    pub decode_tokens: u64,
}

/// One line of `R.runs.jsonl`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RowRun {
    /// Question id.
    pub id: String,
    /// The correct letter.
    pub answer: char,
    /// One entry per model, in column order.
    pub runs: Vec<ModelRun>,
}

/// What a run did.
#[derive(Debug, Clone, PartialEq)]
pub struct LabelSummary {
    /// Rows already in the output (kept by `resume`).
    pub resumed_rows: usize,
    /// Rows labelled by this run.
    pub new_rows: usize,
    /// The provenance written to `R.provenance.json`.
    pub provenance: Value,
}

/// `R.runs.jsonl` beside `R.csv`.
pub fn runs_path(out: &Path) -> PathBuf {
    out.with_extension("runs.jsonl")
}

/// `R.provenance.json` beside `R.csv`.
pub fn provenance_path(out: &Path) -> PathBuf {
    out.with_extension("provenance.json")
}

/// The label provenance written beside a results CSV, if there is one.
pub fn read_provenance_beside(results_csv: &Path) -> Result<Option<Value>, LabelError> {
    let p = provenance_path(results_csv);
    match std::fs::read(&p) {
        Ok(bytes) => serde_json::from_slice(&bytes)
            .map(Some)
            .map_err(|e| LabelError::Resume {
                path: p,
                reason: format!("invalid JSON: {e}"),
            }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(source) => Err(LabelError::Io { path: p, source }),
    }
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> LabelError + '_ {
    move |source| LabelError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// Reads what an interrupted run left: the ids of the complete CSV rows and
/// their runs lines. Rewrites both files without any partial tail.
fn recover(out: &Path, header: &str) -> Result<(HashSet<String>, Vec<RowRun>), LabelError> {
    let text = match std::fs::read_to_string(out) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok((HashSet::new(), vec![])),
        Err(e) => return Err(io(out)(e)),
    };
    let cols = header.split(',').count();
    let mut lines: Vec<&str> = text.split_inclusive('\n').collect();
    if lines.last().is_some_and(|l| !l.ends_with('\n')) {
        lines.pop(); // half-written last row
    }
    let mut done = HashSet::new();
    let mut kept = String::new();
    for (i, line) in lines.iter().enumerate() {
        let row = line.trim_end_matches(['\n', '\r']);
        if i == 0 {
            if row != header {
                return Err(LabelError::Resume {
                    path: out.to_path_buf(),
                    reason: format!("header is `{row}`, this run writes `{header}`"),
                });
            }
        } else {
            let cells: Vec<&str> = row.split(',').collect();
            if cells.len() != cols || cells[1..].iter().any(|c| *c != "0" && *c != "1") {
                return Err(LabelError::Resume {
                    path: out.to_path_buf(),
                    reason: format!("line {} is not a complete row: `{row}`", i + 1),
                });
            }
            done.insert(cells[0].to_string());
        }
        kept.push_str(row);
        kept.push('\n');
    }
    if kept.is_empty() {
        kept = format!("{header}\n");
    }
    std::fs::write(out, kept).map_err(io(out))?;

    let rp = runs_path(out);
    let mut runs = Vec::new();
    if let Ok(t) = std::fs::read_to_string(&rp) {
        let mut seen = HashSet::new();
        for line in t.lines() {
            if let Ok(r) = serde_json::from_str::<RowRun>(line) {
                if done.contains(&r.id) && seen.insert(r.id.clone()) {
                    runs.push(r);
                }
            }
        }
    }
    let mut body = String::new();
    for r in &runs {
        body.push_str(&serde_json::to_string(r).unwrap_or_default());
        body.push('\n');
    }
    std::fs::write(&rp, body).map_err(io(&rp))?;
    Ok((done, runs))
}

/// Labels `questions` with `models`, writing `out` (see the module docs).
/// `progress(done, total)` is called after each row.
pub fn run_labelling(
    models: &[LabelModel],
    questions: &[McQuestion],
    out: &Path,
    params: &LabelParams,
    progress: &mut dyn FnMut(usize, usize),
) -> Result<LabelSummary, LabelError> {
    let questions = &questions[..params.limit.unwrap_or(usize::MAX).min(questions.len())];
    let names: Vec<&str> = models.iter().map(|m| m.name.as_str()).collect();
    if let Some(bad) = names.iter().find(|n| n.contains([',', '"', '\n'])) {
        return Err(LabelError::BadModelName {
            name: bad.to_string(),
        });
    }
    let header = format!("id,{}", names.join(","));
    if !params.resume && out.exists() {
        return Err(LabelError::Exists {
            path: out.to_path_buf(),
        });
    }
    let (done, mut runs) = if params.resume {
        recover(out, &header)?
    } else {
        std::fs::write(out, format!("{header}\n")).map_err(io(out))?;
        std::fs::write(runs_path(out), "").map_err(io(out))?;
        (HashSet::new(), vec![])
    };
    let resumed_rows = done.len();

    let todo: Vec<&McQuestion> = questions.iter().filter(|q| !done.contains(&q.id)).collect();
    if let Some(q) = todo.iter().find(|q| q.id.contains([',', '"', '\n'])) {
        return Err(LabelError::BadId { id: q.id.clone() });
    }
    let loaded: Vec<CactusModel> = if todo.is_empty() {
        vec![]
    } else {
        models
            .iter()
            .map(|m| {
                CactusModel::open(&m.path).map_err(|source| LabelError::Load {
                    model: m.name.clone(),
                    source,
                })
            })
            .collect::<Result<_, _>>()?
    };
    let options = CompleteOptions::new()
        .max_tokens(params.max_tokens)
        .temperature(0.0);
    let mut csv = std::fs::OpenOptions::new()
        .append(true)
        .open(out)
        .map_err(io(out))?;
    let rp = runs_path(out);
    let mut log = std::fs::OpenOptions::new()
        .append(true)
        .create(true)
        .open(&rp)
        .map_err(io(&rp))?;

    let total = todo.len();
    for (i, q) in todo.iter().enumerate() {
        let messages = [ChatMessage::user(q.prompt())];
        let mut row = RowRun {
            id: q.id.clone(),
            answer: q.answer_letter(),
            runs: Vec::with_capacity(models.len()),
        };
        for (m, model) in models.iter().zip(&loaded) {
            let t0 = Instant::now();
            let c = model
                .complete_messages(&messages, &options)
                .map_err(|source| LabelError::Complete {
                    model: m.name.clone(),
                    id: q.id.clone(),
                    source,
                })?;
            let latency_ms = t0.elapsed().as_secs_f64() * 1e3;
            let found = extract_answer(&c.response);
            row.runs.push(ModelRun {
                model: m.name.clone(),
                letter: found.map(|f| f.0),
                extracted_by: found.map(|f| f.1),
                correct: found.is_some_and(|f| f.0 == q.answer_letter()),
                latency_ms,
                engine_total_ms: c.total_time_ms,
                time_to_first_token_ms: c.time_to_first_token_ms,
                prefill_tokens: c.prefill_tokens,
                decode_tokens: c.decode_tokens,
            });
        }
        let line = serde_json::to_string(&row).unwrap_or_default();
        writeln!(log, "{line}")
            .and_then(|_| log.flush())
            .map_err(io(&rp))?;
        let cells: Vec<&str> = row
            .runs
            .iter()
            .map(|r| if r.correct { "1" } else { "0" })
            .collect();
        writeln!(csv, "{},{}", q.id, cells.join(","))
            .and_then(|_| csv.flush())
            .map_err(io(out))?;
        runs.push(row);
        progress(i + 1, total);
    }

    let provenance = provenance(models, &runs, params);
    let pp = provenance_path(out);
    let text = serde_json::to_string_pretty(&provenance).unwrap_or_default();
    std::fs::write(&pp, text + "\n").map_err(io(&pp))?;
    Ok(LabelSummary {
        resumed_rows,
        new_rows: total,
        provenance,
    })
}

fn provenance(models: &[LabelModel], runs: &[RowRun], params: &LabelParams) -> Value {
    let mut per_model = Vec::new();
    for (k, m) in models.iter().enumerate() {
        let rs: Vec<&ModelRun> = runs.iter().filter_map(|r| r.runs.get(k)).collect();
        let n = rs.len().max(1) as f64;
        let mean = |f: &dyn Fn(&ModelRun) -> f64| rs.iter().map(|r| f(r)).sum::<f64>() / n;
        let mut by: BTreeMap<String, usize> = BTreeMap::new();
        for r in &rs {
            let key = match r.extracted_by {
                Some(e) => serde_json::to_value(e)
                    .ok()
                    .and_then(|v| v.as_str().map(str::to_string))
                    .unwrap_or_default(),
                None => "none".into(),
            };
            *by.entry(key).or_default() += 1;
        }
        per_model.push(json!({
            "name": m.name,
            "path": m.path.display().to_string(),
            "n": rs.len(),
            "accuracy": mean(&|r| f64::from(u8::from(r.correct))),
            "no_answer_rate": mean(&|r| f64::from(u8::from(r.letter.is_none()))),
            "extracted_by": by,
            "mean_latency_ms": mean(&|r| r.latency_ms),
            "mean_engine_total_ms": mean(&|r| r.engine_total_ms),
            "mean_prefill_tokens": mean(&|r| r.prefill_tokens as f64),
            "mean_decode_tokens": mean(&|r| r.decode_tokens as f64),
        }));
    }
    json!({
        "is_mock": cactus_sys::is_mock(),
        "backend": cactus_sys::link_info(),
        "generator": format!("aurora-router {}", crate::VERSION),
        "prompt": "mmlu-pro zero-shot chain-of-thought; answer extracted with MMLU-Pro's patterns",
        "max_tokens": params.max_tokens,
        "temperature": 0.0,
        "rows": runs.len(),
        "models": per_model,
    })
}
