//! The build layer (feature `builder`): everything made offline on a Mac or
//! Linux box from labelled data.
//!
//! * [`ProfileBuilder`] — a router profile from a labelled set and its
//!   embeddings: the clustering sweep or routing cross-validation
//!   ([`routing_cv`]), shrinkage, the `router` section;
//! * [`ShardCounts`] / [`merge_shards`] — per-cluster counts of one shard
//!   assigned to an existing profile's centroids, merged exactly;
//! * [`evaluate_uniroute`] — the UniRoute-style baseline, trained with the
//!   same builder and evaluated like the profile router.
//!
//! A job's offline builder (`routes`, `taxonomy`, `templates`, …) lives in
//! its own module `src/<job>/` behind this feature; this module holds the
//! router's. Builders may use every layer below: data, embed, cluster, the
//! routing core, profile, route and eval.

mod profile;
pub mod routing_cv;
mod shard;
mod uniroute;

pub use profile::{
    dataset_sha256, BuildError, ProfileBuild, ProfileBuildParams, ProfileBuildValidParams,
    ProfileBuilder, Selection, ROUTING_CV_KS,
};
pub use shard::{
    centroids_sha256, merge_shards, ShardCounts, ShardError, ShardSpec, MAX_SHARDS, SHARD_FORMAT,
    SHARD_VERSION,
};
pub use uniroute::{evaluate_uniroute, UnirouteError};
