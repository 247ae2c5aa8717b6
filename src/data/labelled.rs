//! Labelled prompt sets: the inputs of profile building and evaluation.
//!
//! * prompts — JSON Lines, one `{"id": …, "text": …}` object per line
//!   (`id` a string or an integer; other fields such as `category` are kept);
//! * results — CSV with header `id,<model>,…` and one row per prompt id, each
//!   cell the model's correctness on that prompt in `[0, 1]`;
//! * models — a JSON list of `{"name": …, "cost": …}` objects; extra fields
//!   (`params_b`, `size_mb`, `path`, …) are carried into the profile.
//!
//! Every error names the file, the line (and column where there is one) and
//! what is wrong.

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};

use serde_json::Value;

/// Errors in labelled input files.
#[derive(Debug, thiserror::Error)]
pub enum DatasetError {
    /// The file cannot be read.
    #[error("{path}: cannot read: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// Something is wrong at a given place in a file.
    #[error(
        "{}{}{}: {reason}",
        path.display(),
        if *line > 0 { format!(":{line}") } else { String::new() },
        column.as_ref().map(|c| format!(": column `{c}`")).unwrap_or_default()
    )]
    Invalid {
        /// The file.
        path: PathBuf,
        /// 1-based line number (0 when the problem is the file as a whole).
        line: usize,
        /// Column name, when the problem is in one cell.
        column: Option<String>,
        /// What is wrong.
        reason: String,
    },
}

fn invalid(
    path: &Path,
    line: usize,
    column: Option<&str>,
    reason: impl Into<String>,
) -> DatasetError {
    DatasetError::Invalid {
        path: path.to_path_buf(),
        line,
        column: column.map(str::to_string),
        reason: reason.into(),
    }
}

fn read(path: &Path) -> Result<Vec<u8>, DatasetError> {
    std::fs::read(path).map_err(|source| DatasetError::Io {
        path: path.to_path_buf(),
        source,
    })
}

/// One prompt of a labelled set.
#[derive(Debug, Clone, PartialEq)]
pub struct Prompt {
    /// The prompt's id, as a string (integer ids are written in decimal).
    pub id: String,
    /// The prompt text.
    pub text: String,
    /// The `category` field, when present (used in reports).
    pub category: Option<String>,
}

use super::ModelInfo;

/// Reads a prompts JSONL file. Blank lines are not allowed except at the end.
pub fn read_prompts(path: &Path) -> Result<Vec<Prompt>, DatasetError> {
    let bytes = read(path)?;
    let text = std::str::from_utf8(&bytes).map_err(|e| {
        let line = bytes[..e.valid_up_to()]
            .iter()
            .filter(|&&b| b == b'\n')
            .count()
            + 1;
        invalid(path, line, None, "not valid UTF-8")
    })?;
    let mut prompts = Vec::new();
    let mut seen = HashSet::new();
    let lines: Vec<&str> = text.lines().collect();
    let last_non_blank = lines.iter().rposition(|l| !l.trim().is_empty());
    for (i, line) in lines.iter().enumerate() {
        let lineno = i + 1;
        if line.trim().is_empty() {
            if last_non_blank.is_some_and(|last| i < last) {
                return Err(invalid(path, lineno, None, "blank line"));
            }
            continue;
        }
        let v: Value = serde_json::from_str(line)
            .map_err(|e| invalid(path, lineno, None, format!("invalid JSON: {e}")))?;
        let obj = v
            .as_object()
            .ok_or_else(|| invalid(path, lineno, None, "expected a JSON object"))?;
        let id = match obj.get("id") {
            Some(Value::String(s)) if !s.is_empty() => s.clone(),
            Some(Value::Number(n)) if n.is_i64() || n.is_u64() => n.to_string(),
            Some(other) => {
                return Err(invalid(
                    path,
                    lineno,
                    Some("id"),
                    format!("must be a non-empty string or an integer, got {other}"),
                ))
            }
            None => return Err(invalid(path, lineno, Some("id"), "missing")),
        };
        let text = match obj.get("text") {
            Some(Value::String(s)) if !s.trim().is_empty() => s.clone(),
            Some(Value::String(_)) => return Err(invalid(path, lineno, Some("text"), "is empty")),
            Some(other) => {
                return Err(invalid(
                    path,
                    lineno,
                    Some("text"),
                    format!("must be a string, got {other}"),
                ))
            }
            None => return Err(invalid(path, lineno, Some("text"), "missing")),
        };
        if text.contains('\0') {
            return Err(invalid(
                path,
                lineno,
                Some("text"),
                "contains a NUL character",
            ));
        }
        if !seen.insert(id.clone()) {
            return Err(invalid(
                path,
                lineno,
                Some("id"),
                format!("duplicate id {id}"),
            ));
        }
        let category = obj
            .get("category")
            .and_then(Value::as_str)
            .map(str::to_string);
        prompts.push(Prompt { id, text, category });
    }
    if prompts.is_empty() {
        return Err(invalid(path, 0, None, "no prompts"));
    }
    Ok(prompts)
}

/// Per-prompt, per-model correctness, aligned with a prompt list.
#[derive(Debug, Clone, PartialEq)]
pub struct Results {
    /// Model names, in column order.
    pub models: Vec<String>,
    /// `correctness[p][m]` ∈ `[0, 1]`: model `m` on prompt `p` (prompt order).
    pub correctness: Vec<Vec<f64>>,
}

impl Results {
    /// Number of prompts.
    pub fn len(&self) -> usize {
        self.correctness.len()
    }

    /// Whether there are no prompts.
    pub fn is_empty(&self) -> bool {
        self.correctness.is_empty()
    }

    /// Index of the column named `name`.
    pub fn model_index(&self, name: &str) -> Option<usize> {
        self.models.iter().position(|m| m == name)
    }
}

/// Reads a results CSV and aligns its rows with `prompts` (by id): every
/// prompt needs exactly one row and every row a prompt.
pub fn read_results(path: &Path, prompts: &[Prompt]) -> Result<Results, DatasetError> {
    let bytes = read(path)?;
    let mut rdr = csv::ReaderBuilder::new()
        .has_headers(true)
        .flexible(true)
        .from_reader(bytes.as_slice());
    let header = rdr
        .headers()
        .map_err(|e| invalid(path, 1, None, format!("cannot read header: {e}")))?
        .clone();
    if header.get(0).map(str::trim) != Some("id") {
        return Err(invalid(path, 1, None, "header must start with `id`"));
    }
    if header.len() < 2 {
        return Err(invalid(path, 1, None, "header names no model column"));
    }
    let models: Vec<String> = header
        .iter()
        .skip(1)
        .map(|s| s.trim().to_string())
        .collect();
    let mut names = HashSet::new();
    for m in &models {
        if m.is_empty() {
            return Err(invalid(path, 1, None, "empty model name in header"));
        }
        if !names.insert(m.as_str()) {
            return Err(invalid(path, 1, Some(m), "duplicate model column"));
        }
    }
    let index: HashMap<&str, usize> = prompts
        .iter()
        .enumerate()
        .map(|(i, p)| (p.id.as_str(), i))
        .collect();
    let mut rows: Vec<Option<Vec<f64>>> = vec![None; prompts.len()];
    for rec in rdr.records() {
        let rec = rec.map_err(|e| {
            let line = e.position().map(|p| p.line() as usize).unwrap_or(0);
            invalid(path, line, None, format!("malformed CSV: {e}"))
        })?;
        let line = rec.position().map(|p| p.line() as usize).unwrap_or(0);
        if rec.len() != header.len() {
            return Err(invalid(
                path,
                line,
                None,
                format!("has {} cells, the header has {}", rec.len(), header.len()),
            ));
        }
        let id = rec[0].trim();
        let &p = index.get(id).ok_or_else(|| {
            invalid(
                path,
                line,
                Some("id"),
                format!("id {id} is not in the prompts file"),
            )
        })?;
        if rows[p].is_some() {
            return Err(invalid(
                path,
                line,
                Some("id"),
                format!("duplicate id {id}"),
            ));
        }
        let mut row = Vec::with_capacity(models.len());
        for (m, cell) in models.iter().zip(rec.iter().skip(1)) {
            let v: f64 = cell
                .trim()
                .parse()
                .map_err(|_| invalid(path, line, Some(m), format!("`{cell}` is not a number")))?;
            if !(0.0..=1.0).contains(&v) {
                return Err(invalid(
                    path,
                    line,
                    Some(m),
                    format!("{v} is outside [0, 1]"),
                ));
            }
            row.push(v);
        }
        rows[p] = Some(row);
    }
    let missing: Vec<&str> = rows
        .iter()
        .zip(prompts)
        .filter(|(r, _)| r.is_none())
        .map(|(_, p)| p.id.as_str())
        .collect();
    if !missing.is_empty() {
        let shown: Vec<&str> = missing.iter().take(5).copied().collect();
        return Err(invalid(
            path,
            0,
            None,
            format!(
                "{} prompt id(s) have no row, e.g. {}",
                missing.len(),
                shown.join(", ")
            ),
        ));
    }
    Ok(Results {
        models,
        correctness: rows.into_iter().map(|r| r.unwrap_or_default()).collect(),
    })
}

/// Reads a models JSON list.
pub fn read_models(path: &Path) -> Result<Vec<ModelInfo>, DatasetError> {
    let bytes = read(path)?;
    let v: Value = serde_json::from_slice(&bytes)
        .map_err(|e| invalid(path, e.line(), None, format!("invalid JSON: {e}")))?;
    let list = v.as_array().ok_or_else(|| {
        invalid(
            path,
            1,
            None,
            "expected a JSON list of {name, cost} objects",
        )
    })?;
    let mut models = Vec::with_capacity(list.len());
    let mut names = HashSet::new();
    for (i, item) in list.iter().enumerate() {
        let at = |field: Option<&str>, reason: String| {
            invalid(path, 0, field, format!("model #{i}: {reason}"))
        };
        let obj = item
            .as_object()
            .ok_or_else(|| at(None, "expected an object".into()))?;
        let name = match obj.get("name") {
            Some(Value::String(s)) if !s.trim().is_empty() => s.clone(),
            _ => return Err(at(Some("name"), "missing or not a non-empty string".into())),
        };
        let cost = obj
            .get("cost")
            .and_then(Value::as_f64)
            .ok_or_else(|| at(Some("cost"), format!("`{name}` has no numeric cost")))?;
        if !(cost > 0.0 && cost.is_finite()) {
            return Err(at(
                Some("cost"),
                format!("`{name}` has cost {cost}; it must be > 0"),
            ));
        }
        if !names.insert(name.clone()) {
            return Err(at(Some("name"), format!("duplicate model `{name}`")));
        }
        let mut extra = obj.clone();
        extra.remove("name");
        extra.remove("cost");
        models.push(ModelInfo { name, cost, extra });
    }
    if models.is_empty() {
        return Err(invalid(path, 0, None, "no models"));
    }
    Ok(models)
}

/// A validated labelled set: prompts, results aligned with them, and the
/// spec of every results column (in column order).
#[derive(Debug, Clone)]
pub struct LabelledSet {
    /// The prompts, in file order.
    pub prompts: Vec<Prompt>,
    /// Correctness aligned with `prompts`.
    pub results: Results,
    /// One spec per results column, same order.
    pub models: Vec<ModelInfo>,
}

impl LabelledSet {
    /// Reads and cross-checks the three files: every results column needs a
    /// model with `cost > 0`; models without a results column are ignored.
    pub fn load(prompts: &Path, results: &Path, models: &Path) -> Result<Self, DatasetError> {
        let p = read_prompts(prompts)?;
        let r = read_results(results, &p)?;
        let specs = read_models(models)?;
        let mut ordered = Vec::with_capacity(r.models.len());
        for name in &r.models {
            let spec = specs.iter().find(|s| &s.name == name).ok_or_else(|| {
                invalid(
                    models,
                    0,
                    None,
                    format!(
                        "results column `{name}` (in {}) has no model entry with a cost",
                        results.display()
                    ),
                )
            })?;
            ordered.push(spec.clone());
        }
        Ok(Self {
            prompts: p,
            results: r,
            models: ordered,
        })
    }
}
