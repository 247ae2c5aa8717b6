//! Labelling: measure each model's correctness on multiple-choice questions
//! with the models the app will really run, through `cactus_complete`.
//!
//! * [`read_mc_questions`] reads MMLU-Pro-style questions (question +
//!   options + answer);
//! * [`McQuestion::prompt`] builds MMLU-Pro's zero-shot prompt;
//! * [`extract_answer`] finds the chosen letter with MMLU-Pro's patterns;
//! * [`run_labelling`] runs every question through every model and writes
//!   the correctness CSV that `aurora profile build` reads, resumably.
//!
//! With the mock Cactus backend (x86 hosts) the "answers" are a seeded hash:
//! the run exercises the plumbing only, and the provenance says `is_mock`.

mod extract;
mod questions;
mod run;

use std::path::PathBuf;

pub use extract::{extract_answer, Extraction};
pub use questions::{read_mc_questions, McQuestion, MAX_OPTIONS};
pub use run::{
    models_with_path, provenance_path, read_provenance_beside, run_labelling, runs_path,
    LabelModel, LabelParams, LabelSummary, ModelRun, RowRun,
};

/// Errors of the labelling layer.
#[derive(Debug, thiserror::Error)]
pub enum LabelError {
    /// A file could not be read or written.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// A question line is invalid.
    #[error("{}:{line}{}: {reason}", path.display(), if field.is_empty() { String::new() } else { format!(": field `{field}`") })]
    Question {
        /// The questions file.
        path: PathBuf,
        /// 1-based line (0 = the whole file).
        line: usize,
        /// The offending field ("" for the whole line).
        field: &'static str,
        /// What is wrong.
        reason: String,
    },
    /// No model in the models file has a `path`.
    #[error("{}: no model has a `path`: nothing to label with", path.display())]
    NoModelPaths {
        /// The models file.
        path: PathBuf,
    },
    /// A model name cannot be a CSV column.
    #[error("model name `{name}` cannot be a CSV column (no `,`, `\"` or newline)")]
    BadModelName {
        /// The name.
        name: String,
    },
    /// A question id cannot be a CSV cell.
    #[error("question id `{id}` cannot be a CSV cell (no `,`, `\"` or newline)")]
    BadId {
        /// The id.
        id: String,
    },
    /// The output exists and `resume` was not asked for.
    #[error("{} exists: pass --resume to continue it, or remove it", path.display())]
    Exists {
        /// The output CSV.
        path: PathBuf,
    },
    /// The existing output cannot be resumed.
    #[error("cannot resume {}: {reason}", path.display())]
    Resume {
        /// The file.
        path: PathBuf,
        /// Why.
        reason: String,
    },
    /// A model failed to load.
    #[error("model `{model}`: {source}")]
    Load {
        /// The model.
        model: String,
        /// Cactus's error.
        source: cactus_sys::CactusError,
    },
    /// A completion failed.
    #[error("model `{model}` on question {id}: {source}")]
    Complete {
        /// The model.
        model: String,
        /// The question id.
        id: String,
        /// Cactus's error.
        source: cactus_sys::CactusError,
    },
}
