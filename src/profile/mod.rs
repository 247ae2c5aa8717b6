//! The profile file: the one JSON file a phone downloads.
//!
//! A [`ProfileFile`] is a container of named sections (format 3.0:
//! `{"version": "3.0", "router": {…}, "routes": {…}, …}`). Each job of the
//! SDK owns one [`Section`] type; a section this version does not know is
//! kept byte for byte through read → modify → write, and ignored by readers.
//! Vectors are stored as [`F16Matrix`] (float16, base64).
//!
//! The LLM router's section, `router`, is [`Profile`]: the cluster
//! centroids, each cluster's size, every model's expected error per cluster
//! (shrunk toward its global error), the raw counts behind those rates, the
//! models' costs, and metadata telling how the clustering was chosen. A
//! format-2 file (a bare router profile, written before the container)
//! reads as a container whose `router` section holds its fields. The wire
//! format is described in `profiles/SCHEMA.md`; `profiles/profile.schema.json`
//! is generated from these types (`cargo test --features schema --test
//! schema`).
//!
//! ```
//! use aurora_router::profile::{Profile, ProfileFile};
//! let json = br#"{"version":"3.0","x_future":{"a":[1, 2]},"router":{
//!   "metadata":{"n_clusters":2,"feature_dim":2,"embedding_model":"toy","is_mock":false,
//!     "silhouette_score":0.5,"clustering_algorithm":"kmeans","params":{"k":2},"selection":[],
//!     "noise_fraction":0.0,"dataset_sha256":"0","seed":1,"generator":"hand"},
//!   "cluster_centers":{"dtype":"float16","encoding":"base64-le","shape":[2,2],"data":"ADwAAAAAADw="},
//!   "cluster_sizes":[10,10],
//!   "llm_profiles":{"small":[0.5,0.1],"big":[0.1,0.1]},
//!   "counts":{"small":{"n":[10,10],"errors":[5,1]},"big":{"n":[10,10],"errors":[1,1]}},
//!   "models":[{"name":"small","cost":1},{"name":"big","cost":10}]}}"#;
//! let p = Profile::from_json(json).unwrap();
//! assert_eq!(p.n_clusters(), 2);
//! assert_eq!(p.centroid(1), &[0.0, 1.0]);
//! assert_eq!(Profile::from_json(&p.to_json()).unwrap(), p);
//!
//! // Read → modify → write keeps the sections this code does not know.
//! let mut file = ProfileFile::from_json(json).unwrap();
//! let mut router = file.require::<Profile>().unwrap();
//! router.cluster_sizes = vec![11, 9];
//! file.set_section(&router).unwrap();
//! let again = ProfileFile::from_json(&file.to_json()).unwrap();
//! assert_eq!(again.raw_section("x_future"), Some(r#"{"a":[1, 2]}"#));
//! ```

mod container;
mod error;
mod format;
mod matrix;
mod update;
pub use crate::routing::{error_rates, DEFAULT_PSEUDO_COUNT};
pub use container::{ProfileFile, Section, CONTAINER_VERSION, MAX_FILE_BYTES, SEAL_KEY};
pub use error::ProfileError;
#[cfg(feature = "schema")]
pub use format::router_schema;
pub use format::{
    ClusteringAlgorithm, Counts, Metadata, ModelInfo, Profile, RoutingAssignment, RoutingDefaults,
    SelectionEntry, SelectionMethod, Shrinkage, ShrinkageMethod, LEGACY_FORMAT_VERSION,
};
pub use matrix::{F16Matrix, MAX_MATRIX_VALUES};
pub use update::AddModelReport;
