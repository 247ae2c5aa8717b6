//! Router profiles: the compact JSON file a phone loads to route prompts.
//!
//! A profile holds the cluster centroids (float16, base64, little-endian),
//! each cluster's size, every model's expected error per cluster (shrunk
//! toward its global error), the raw counts behind those rates, the models'
//! costs, and metadata telling how the clustering was chosen. The format is
//! documented in `profiles/SCHEMA.md` and `profiles/profile.schema.json`.
//!
//! ```
//! use aurora_router::profile::Profile;
//! let json = br#"{"version":"2.0",
//!   "metadata":{"n_clusters":2,"feature_dim":2,"embedding_model":"toy","is_mock":false,
//!     "silhouette_score":0.5,"clustering_algorithm":"kmeans","params":{"k":2},"selection":[],
//!     "noise_fraction":0.0,"dataset_sha256":"0","seed":1,"generator":"hand"},
//!   "cluster_centers":{"dtype":"float16","encoding":"base64-le","shape":[2,2],"data":"ADwAAAAAADw="},
//!   "cluster_sizes":[10,10],
//!   "llm_profiles":{"small":[0.5,0.1],"big":[0.1,0.1]},
//!   "counts":{"small":{"n":[10,10],"errors":[5,1]},"big":{"n":[10,10],"errors":[1,1]}},
//!   "models":[{"name":"small","cost":1},{"name":"big","cost":10}]}"#;
//! let p = Profile::from_json(json).unwrap();
//! assert_eq!(p.n_clusters(), 2);
//! assert_eq!(p.centroid(1), &[0.0, 1.0]);
//! let again = Profile::from_json(&p.to_json()).unwrap();
//! assert_eq!(again, p);
//! ```

mod container;
mod error;
mod format;
mod matrix;
mod update;
pub use container::{ProfileFile, Section, CONTAINER_VERSION, MAX_FILE_BYTES};
pub use error::ProfileError;
pub use format::{
    Counts, Metadata, ModelInfo, Profile, RoutingDefaults, SelectionEntry, Shrinkage,
    FORMAT_VERSION,
};
pub use matrix::{F16Matrix, MAX_MATRIX_VALUES};
pub use update::{error_rates, AddModelReport, DEFAULT_PSEUDO_COUNT};

#[cfg(feature = "builder")]
mod build;
#[cfg(feature = "builder")]
pub mod routing_cv;
#[cfg(feature = "builder")]
pub use build::{
    dataset_sha256, BuildError, ProfileBuild, ProfileBuildParams, ProfileBuildValidParams,
    ProfileBuilder, Selection, ROUTING_CV_KS,
};
