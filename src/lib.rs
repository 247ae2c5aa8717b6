//! # Aurora Router
//!
//! On-device LLM routing for iOS and Android apps: decide *on the phone*
//! which local model should answer a prompt, from a compact **router
//! profile** built offline on a Mac or Linux box.
//!
//! The modules are layers, lowest first; a module never imports a layer
//! above it (`ARCHITECTURE.md`):
//!
//! * [`data`] — models, and (feature `builder`) labelled prompt sets:
//!   prompts JSONL, per-model results CSV and the models list, validated
//!   with errors that name file and line.
//! * [`embed`] — the [`Embedder`](embed::Embedder) trait, the Cactus-backed
//!   embedder and precomputed `.npy` embeddings.
//! * `cluster` (feature `builder`) — the [`ClusterAlgorithm`](cluster::ClusterAlgorithm)
//!   trait, spherical KMeans, HDBSCAN and cosine silhouette over one shared
//!   distance matrix, and the sweep that picks a clustering.
//! * [`routing`] — the routing core: nearest centroid, soft mixing,
//!   shrinkage, the λ choice rule.
//! * [`profile`] — the profile file: a container of sections (float16
//!   matrices), with the router's section ([`Profile`](profile::Profile)).
//! * [`route`] — the runtime router.
//! * [`routes`] — semantic routes: named routes from example utterances, a
//!   calibrated "none", and sessions that route a conversation turn by turn.
//! * [`taxonomy`] — a recursive cluster taxonomy: the `taxonomy` section,
//!   its runtime (an embedding's path), the builder, annotations and tests of
//!   where models fail.
//! * [`templates`] — reply templates mined offline, stored as text,
//!   re-embedded and matched on the device.
//! * [`stream`] — incremental clustering: a durable per-group cluster store
//!   updated as items arrive, with hero items.
//! * [`pool`] — a model pool: route, load lazily under a memory budget, and
//!   generate with `cactus_complete`.
//! * `eval` (feature `builder`) — deferral curves, QAB and baselines.
//! * `build` (feature `builder`) — building profiles (the clustering sweep,
//!   routing cross-validation) and the UniRoute baseline.
//! * `label` (feature `builder`) — measuring per-model correctness on
//!   multiple-choice questions with `cactus_complete`.
//! * [`ffi`] — the C ABI (`include/aurora_router.h`).
//! * `mobile` (feature `uniffi`) — the Swift / Kotlin API (`bindings/`).
//!
//! The Cactus engine is reached through the `cactus-sys` crate; on x86 hosts
//! a deterministic mock Cactus written in C serves the same FFI, and every
//! profile records which one produced its embeddings (`is_mock`).
#![warn(missing_docs)]

#[cfg(feature = "builder")]
pub mod build;
#[cfg(feature = "builder")]
pub mod cluster;
pub mod data;
pub mod embed;
#[cfg(feature = "builder")]
pub mod eval;
pub mod ffi;
#[cfg(feature = "builder")]
pub mod label;
#[cfg(feature = "uniffi")]
pub mod mobile;
pub mod pool;
pub mod profile;
pub mod route;
pub mod routes;
pub mod routing;
#[cfg(feature = "serve")]
pub mod serve;
pub mod stream;
pub mod taxonomy;
pub mod templates;

/// The data layer's old name (`aurora_router::dataset`), kept for callers
/// written before the layers were named.
#[doc(hidden)]
pub use data as dataset;

#[cfg(feature = "uniffi")]
uniffi::setup_scaffolding!();

/// The crate version, as recorded in generated profiles.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");
