//! The data layer: what the SDK reads before anything is embedded.
//!
//! * [`ModelInfo`] — a model the router can pick and its cost (in the lean
//!   library: profiles carry it);
//! * with the `builder` feature, labelled prompt sets: the prompts JSONL,
//!   the per-model results CSV and the models list, validated with errors
//!   that name the file and the line ([`LabelledSet`], [`read_prompts`], …).
//!
//! A new input format (another dataset layout, a parquet reader) goes here,
//! one file per format; nothing here imports another layer of the crate.

#[cfg(feature = "builder")]
mod labelled;
mod model;

#[cfg(feature = "builder")]
pub use labelled::*;
pub use model::ModelInfo;
