//! Incremental clustering with hero selection: per-group clusters that
//! update as items arrive, durable on the device, never recomputed from
//! scratch.
//!
//! A pet app files each new photo embedding of a pet (the *group*) into that
//! pet's clusters and keeps the best few photos of each cluster as *heroes*.
//! The engine is embedding-agnostic: any unit-normalisable vectors of one
//! model and dimension, which the store records and enforces.
//!
//! ```
//! use aurora_router::stream::{ClusterStore, StreamParams};
//!
//! let params = StreamParams::new().min_founders(2).check().unwrap();
//! let store = ClusterStore::in_memory("toy", 2, params).unwrap();
//! store.insert("rex", "a", &[1.0, 0.0], None, 1.0).unwrap(); // pending
//! let r = store.insert("rex", "b", &[0.99, 0.1], Some(0.8), 2.0).unwrap();
//! assert!(r.new_cluster);
//! let c = &store.clusters("rex").unwrap()[0];
//! assert_eq!(c.size, 2);
//! assert_eq!(c.heroes[0], "b"); // central enough, and sharper
//! ```
//!
//! # The algorithm
//!
//! Vectors are L2-normalised and rounded to float16 (stored, logged and
//! summed exactly that way). Each cluster keeps sufficient statistics:
//! its count and the float64 sum of its unit vectors; the centre is
//! `sum / |sum|` and the spread is the mean cosine of the members to it,
//! `|sum| / n` (the mean resultant length of a von Mises–Fisher fit). One
//! insert costs one scan of the group's centres (O(clusters · d)), plus the
//! pending pool when the item fits no cluster.
//!
//! 1. **Join** — the item joins the nearest centre when its cosine is at
//!    least `join_threshold` (a DP-means threshold: λ = 2 − 2·τ). Lower
//!    joins more and founds fewer clusters (coarser, purer-per-item lost);
//!    higher founds more, smaller, purer clusters.
//! 2. **Pending and founding** — an item that fits no cluster waits in the
//!    group's pending pool. When it and at least `min_founders − 1` pending
//!    items agree (cosine ≥ `found_threshold`), they found a cluster, and
//!    pending items that now fit it join. Larger `min_founders` resists
//!    outliers but leaves more items pending for longer; `min_founders = 1`
//!    is plain DP-means. The pool holds at most `pending_capacity` items;
//!    past it the oldest joins its nearest cluster (bounded memory and
//!    latency, at some purity cost).
//! 3. **Merge** — after a cluster grows, a centre within `merge_threshold`
//!    cosine of it is merged in (statistics add up; the larger cluster keeps
//!    its id). Lower merges more (fewer, broader clusters).
//! 4. **Split** — every 8th growth of a cluster of at least `min_split_size`
//!    members whose spread is below `split_spread`, spherical 2-means over
//!    *its own members only* (never the whole group) proposes two halves;
//!    the split happens when each half holds a quarter of the members and
//!    their centres are further apart than `merge_threshold`. The larger
//!    half keeps the id.
//!
//! Removing an item subtracts it exactly (float16 values in float64 sums);
//! an emptied cluster disappears. Everything is deterministic: the same
//! operations in the same order give the same clusters, which is what the
//! log replay relies on.
//!
//! # Heroes
//!
//! `score = hero_centrality · cos(item, centre) + hero_quality · quality +
//! hero_recency · 2^(−(last_seen − t) / recency_half_life)`, where quality is
//! the app's (0 when absent) and `last_seen` is the cluster's latest
//! timestamp, so scores depend on the cluster alone. The top `heroes` are
//! cached per cluster and recomputed only when that cluster changes.
//!
//! # Durability
//!
//! `DIR/meta.json` (format version, embedding model, dimension, parameters,
//! written atomically) and `DIR/log.bin`, an append-only log of inserts and
//! removes, each record `[len][crc32][payload]` with the float16 vector.
//! A call returns only after its record is written ([`Durability::Flush`]:
//! survives a killed process) or written and `fdatasync`ed
//! ([`Durability::Fsync`], the default: survives power loss). Opening
//! replays the log; a torn or corrupted tail is truncated with a warning,
//! never loaded. A failed write (a full disk) is rolled back and the store
//! is unchanged. Why a log and not SQLite: see BENCHMARKS.md.

mod error;
mod group;
mod heroes;
mod log;
mod params;
pub mod quality;
mod stats;
mod store;
#[cfg(test)]
mod tests;

pub use error::StreamError;
pub use log::Recovery;
pub use params::{CheckedStreamParams, Durability, StreamParams};
pub use store::{
    BatchInsertion, BatchItem, ClusterInfo, ClusterStore, GroupDigest, Hero, Insertion, StoreStats,
    FORMAT_VERSION,
};
