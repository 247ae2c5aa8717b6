//! # Aurora Router
//!
//! On-device LLM routing for iOS and Android apps: decide *on the phone*
//! which local model should answer a prompt, from a compact **router
//! profile** built offline on a Mac or Linux box.
//!
//! * [`embed`] — the [`Embedder`](embed::Embedder) trait, the Cactus-backed
//!   embedder and precomputed `.npy` embeddings.
//! * [`dataset`] — labelled prompt sets: prompts JSONL, per-model results CSV
//!   and the models list, validated with errors that name file and line.
//! * [`cluster`] — spherical KMeans, HDBSCAN and cosine silhouette over one
//!   shared distance matrix, and the sweep that picks a clustering.
//! * [`profile`] — the JSON profile format (float16 centroids, per-cluster
//!   error rates) and the builder that produces it.
//! * [`stream`] — incremental per-group clustering with hero selection,
//!   durable on the device.
//! * [`ffi`] — the C ABI (`include/aurora_router.h`).
//! * `mobile` (feature `uniffi`) — the Swift / Kotlin API (`bindings/`).
//!
//! The Cactus engine is reached through the `cactus-sys` crate; on x86 hosts
//! a deterministic mock Cactus written in C serves the same FFI, and every
//! profile records which one produced its embeddings (`is_mock`).
#![warn(missing_docs)]

#[cfg(feature = "builder")]
pub mod cluster;
#[cfg(feature = "builder")]
pub mod dataset;
pub mod embed;
#[cfg(feature = "builder")]
pub mod eval;
pub mod ffi;
#[cfg(feature = "uniffi")]
pub mod mobile;
pub mod profile;
pub mod route;
pub mod stream;

#[cfg(feature = "uniffi")]
uniffi::setup_scaffolding!();

/// The crate version, as recorded in generated profiles.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");
