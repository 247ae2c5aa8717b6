//! The `router` section: the LLM router's data (centroids, per-cluster
//! error rates, models), its wire format, its validation, and its reader and
//! writer through the [`ProfileFile`] container.

use std::collections::{BTreeMap, HashSet};
use std::path::Path;

use base64::Engine as _;
use half::f16;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::container::{ProfileFile, Section};
use super::error::ProfileError;

/// The format version of a bare router profile written before the
/// container existed; such files still load (their fields become the
/// `router` section). New files are written as container format
/// [`CONTAINER_VERSION`](super::CONTAINER_VERSION).
pub const LEGACY_FORMAT_VERSION: &str = "2.0";

fn invalid(field: impl Into<String>, reason: impl Into<String>) -> ProfileError {
    ProfileError::invalid(field, reason)
}

pub use crate::data::ModelInfo;

/// A clustering algorithm, as named in `metadata.clustering_algorithm` and
/// the selection table. Algorithms this version does not know (added by a
/// later one) are kept by name.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub enum ClusteringAlgorithm {
    /// Spherical KMeans.
    #[serde(rename = "kmeans")]
    KMeans,
    /// HDBSCAN over cosine distance.
    #[serde(rename = "hdbscan")]
    Hdbscan,
    /// Another algorithm, by name.
    #[serde(untagged)]
    Other(String),
}

impl ClusteringAlgorithm {
    /// The algorithm's name (`kmeans`, `hdbscan`, …).
    pub fn name(&self) -> &str {
        match self {
            ClusteringAlgorithm::KMeans => "kmeans",
            ClusteringAlgorithm::Hdbscan => "hdbscan",
            ClusteringAlgorithm::Other(s) => s,
        }
    }

    /// The algorithm called `name`.
    pub fn from_name(name: &str) -> Self {
        match name {
            "kmeans" => ClusteringAlgorithm::KMeans,
            "hdbscan" => ClusteringAlgorithm::Hdbscan,
            other => ClusteringAlgorithm::Other(other.to_string()),
        }
    }
}

impl From<&str> for ClusteringAlgorithm {
    fn from(name: &str) -> Self {
        ClusteringAlgorithm::from_name(name)
    }
}

impl std::fmt::Display for ClusteringAlgorithm {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// One clustering candidate considered when the profile was built.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct SelectionEntry {
    /// The algorithm.
    pub algorithm: ClusteringAlgorithm,
    /// Its parameters (`{"k"}` or `{"min_cluster_size", "min_samples"}`).
    pub params: Value,
    /// Number of clusters it found.
    pub n_clusters: usize,
    /// Fraction of noise points (HDBSCAN).
    pub noise_fraction: f64,
    /// Mean cosine silhouette (noise assigned), if scored.
    pub silhouette: Option<f64>,
    /// Why it was not eligible, if it was not.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rejected: Option<String>,
    /// Routing cross-validation's mean held-out QAB at this K under hard
    /// assignment (the K criterion), with its best pseudo-count.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cv_qab: Option<f64>,
    /// The pseudo-count behind [`cv_qab`](Self::cv_qab).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cv_pseudo_count: Option<f64>,
    /// The best assignment at this K (clusters mixed; 1 = hard).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cv_top_k: Option<usize>,
    /// Its mean held-out QAB.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cv_top_k_qab: Option<f64>,
    /// Its pseudo-count.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cv_top_k_pseudo_count: Option<f64>,
}

/// How the shrinkage pseudo-count was chosen.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "kebab-case")]
pub enum ShrinkageMethod {
    /// Cross-validated Brier score.
    CrossValidation,
    /// Given by the user.
    Fixed,
    /// Routing cross-validation (held-out QAB).
    RoutingCv,
}

/// How the clustering was selected.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "kebab-case")]
pub enum SelectionMethod {
    /// The best mean cosine silhouette of the sweep.
    Silhouette,
    /// The best held-out routing QAB.
    RoutingCv,
}

/// How the per-cluster error rates were shrunk toward each model's global error.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct Shrinkage {
    /// Pseudo-count `a` in `(errors + a·global) / (n + a)`.
    pub pseudo_count: f64,
    /// How `a` was chosen.
    pub method: ShrinkageMethod,
    /// Cross-validated score per tried pseudo-count (`[a, score]`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub cv_scores: Vec<[f64; 2]>,
}

/// The cluster assignment a profile recommends.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "lowercase")]
pub enum RoutingAssignment {
    /// The nearest cluster.
    Hard,
    /// A similarity-weighted mix of the `top_k` nearest clusters.
    Soft,
}

/// The cluster assignment a profile recommends
/// ([`Router::options`](crate::route::Router::options) starts from it).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct RoutingDefaults {
    /// Hard or soft.
    pub assignment: RoutingAssignment,
    /// Clusters mixed by soft assignment (1 ..= 64).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub top_k: Option<usize>,
    /// Softmax temperature of the soft weights and the confidence (> 0).
    pub temperature: f64,
    /// How it was chosen (`routing-cv`), with the cross-validated QAB of
    /// every assignment tried (`[top_k, qab]`, `top_k = 1` being hard).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub cv_scores: Vec<[f64; 2]>,
}

impl RoutingDefaults {
    /// Hard assignment at the default temperature.
    pub fn hard() -> Self {
        RoutingDefaults {
            assignment: RoutingAssignment::Hard,
            top_k: None,
            // 0.05 as written, not the f32's binary expansion.
            temperature: crate::routing::round6(f64::from(crate::routing::DEFAULT_TEMPERATURE)),
            cv_scores: Vec::new(),
        }
    }

    /// Soft assignment over `top_k` clusters at the default temperature.
    pub fn soft(top_k: usize) -> Self {
        RoutingDefaults {
            assignment: RoutingAssignment::Soft,
            top_k: Some(top_k),
            ..Self::hard()
        }
    }

    /// The number of clusters mixed: 1 for hard assignment.
    pub fn clusters_mixed(&self) -> usize {
        match self.assignment {
            RoutingAssignment::Soft => self.top_k.unwrap_or(1),
            RoutingAssignment::Hard => 1,
        }
    }

    fn validate(&self) -> Result<(), ProfileError> {
        let max = crate::routing::MAX_SOFT_TOP_K;
        match (self.assignment, self.top_k) {
            (RoutingAssignment::Hard, None | Some(1)) => {}
            (RoutingAssignment::Hard, Some(k)) => {
                return Err(invalid(
                    "metadata.routing.top_k",
                    format!("is {k}, but the assignment is hard"),
                ))
            }
            (RoutingAssignment::Soft, Some(k)) if (1..=max).contains(&k) => {}
            (RoutingAssignment::Soft, k) => {
                return Err(invalid(
                    "metadata.routing.top_k",
                    format!(
                        "must be in 1..={max} for soft assignment, got {}",
                        k.map_or("nothing".into(), |k| k.to_string())
                    ),
                ))
            }
        }
        // f32 is what the router uses: the temperature must survive the cast.
        let t = self.temperature as f32;
        if !(t.is_finite() && t > 0.0) {
            return Err(invalid(
                "metadata.routing.temperature",
                format!(
                    "must be a finite number > 0 (as f32), got {:e}",
                    self.temperature
                ),
            ));
        }
        Ok(())
    }
}

/// Profile metadata: what was built, from what, and why this clustering.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct Metadata {
    /// Number of clusters (rows of `cluster_centers`).
    pub n_clusters: usize,
    /// Embedding dimension (columns of `cluster_centers`).
    pub feature_dim: usize,
    /// The embedding model; routing requires an embedder with this id.
    pub embedding_model: String,
    /// Whether the embeddings came from the mock Cactus backend.
    pub is_mock: bool,
    /// Mean cosine silhouette of the chosen clustering.
    pub silhouette_score: Option<f64>,
    /// The algorithm of the chosen clustering.
    pub clustering_algorithm: ClusteringAlgorithm,
    /// Parameters of the chosen clustering.
    pub params: Value,
    /// Every candidate considered, in sweep order.
    pub selection: Vec<SelectionEntry>,
    /// Noise fraction of the chosen clustering.
    pub noise_fraction: f64,
    /// SHA-256 of the training data (texts, results, models, embeddings).
    pub dataset_sha256: String,
    /// Seed of the build.
    pub seed: u64,
    /// `aurora-router <version>`.
    pub generator: String,
    /// How the clustering was selected.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub selection_method: Option<SelectionMethod>,
    /// Shrinkage of the error rates.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shrinkage: Option<Shrinkage>,
    /// How the router should assign queries to clusters by default (chosen
    /// by routing cross-validation); absent means hard assignment.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub routing: Option<RoutingDefaults>,
    /// Build time (RFC 3339), only with `--stamp`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created_at: Option<String>,
    /// Fields a later version added, kept on rewrite.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// Raw counts behind one model's error rates: per cluster, the number of
/// labelled prompts and the summed error (`1 − correctness`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct Counts {
    /// Labelled prompts per cluster.
    pub n: Vec<u64>,
    /// Summed error per cluster.
    pub errors: Vec<f64>,
}

/// The `router` section of a profile file: a validated router profile,
/// centroids decoded to `f32` (exact float16 values).
#[derive(Debug, Clone, PartialEq)]
pub struct Profile {
    /// Metadata.
    pub metadata: Metadata,
    /// `n_clusters × feature_dim` centroids, row-major.
    pub centroids: Vec<f32>,
    /// Training prompts per cluster.
    pub cluster_sizes: Vec<u64>,
    /// Expected error of each model in each cluster, by model name.
    pub llm_profiles: BTreeMap<String, Vec<f64>>,
    /// Raw counts by model name (may be empty for hand-written profiles).
    pub counts: BTreeMap<String, Counts>,
    /// The models, in routing order (index = `model_index`).
    pub models: Vec<ModelInfo>,
}

/// The `router` section's JSON: [`Profile`] with its centroids encoded.
#[derive(Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[cfg_attr(feature = "schema", schemars(rename = "RouterSection"))]
pub(crate) struct RouterWire {
    metadata: Metadata,
    /// The centroids: a float16 matrix (`{"dtype": "float16", "encoding":
    /// "base64-le", "shape": [K, d], "data": …}`), or (read only) an array
    /// of K rows of d numbers.
    #[cfg_attr(feature = "schema", schemars(with = "CentersSchema"))]
    cluster_centers: Value,
    /// Only with the array form of `cluster_centers`: `float16`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    dtype: Option<String>,
    cluster_sizes: Vec<u64>,
    llm_profiles: BTreeMap<String, Vec<f64>>,
    #[serde(default)]
    counts: BTreeMap<String, Counts>,
    models: Vec<ModelInfo>,
}

/// The schema of `cluster_centers`: the base64 matrix or rows of numbers.
#[cfg(feature = "schema")]
#[derive(schemars::JsonSchema)]
#[allow(dead_code)]
#[serde(untagged)]
enum CentersSchema {
    Matrix(F16MatrixSchema),
    Rows(Vec<Vec<f64>>),
}

/// The schema of an [`F16Matrix`](super::F16Matrix).
#[cfg(feature = "schema")]
#[derive(schemars::JsonSchema)]
#[allow(dead_code)]
#[schemars(rename = "F16Matrix")]
struct F16MatrixSchema {
    /// Always `float16`.
    #[schemars(regex(pattern = "^float16$"))]
    dtype: String,
    /// Always `base64-le`.
    #[schemars(regex(pattern = "^base64-le$"))]
    encoding: String,
    /// `[rows, cols]`.
    shape: [u64; 2],
    /// The values as little-endian IEEE float16, row-major, base64 (standard
    /// alphabet, padded).
    data: String,
}

/// The top level of a profile file as this version knows it.
#[cfg(feature = "schema")]
#[derive(schemars::JsonSchema)]
#[allow(dead_code)]
#[schemars(rename = "ProfileFile")]
struct FileSchema {
    /// Container format version, `3.x`.
    #[schemars(regex(pattern = "^3(\\.[0-9]+)?$"))]
    version: String,
    /// The LLM router (`aurora profile build`).
    router: Option<RouterWire>,
    /// The digest of the canonical content (see `profiles/SCHEMA.md`,
    /// "Seal"); written by every writer, verified by every reader when
    /// present.
    seal: Option<SealSchema>,
    /// Sections of other jobs, or of later versions: kept byte for byte.
    #[serde(flatten)]
    other: BTreeMap<String, Value>,
}

/// The seal of a profile file.
#[cfg(feature = "schema")]
#[derive(schemars::JsonSchema)]
#[allow(dead_code)]
#[schemars(rename = "Seal")]
struct SealSchema {
    /// Lowercase hex sha256 of the canonical content.
    #[schemars(regex(pattern = "^[0-9a-f]{64}$"))]
    sha256: String,
}

/// The JSON schema of a profile file, generated from the section types
/// (`profiles/profile.schema.json` is this, pretty-printed).
#[cfg(feature = "schema")]
pub fn router_schema() -> Value {
    let mut schema =
        serde_json::to_value(schemars::schema_for!(FileSchema)).expect("a schema serialises");
    if let Some(o) = schema.as_object_mut() {
        o.insert(
            "title".into(),
            "Aurora Router profile file (container format 3)".into(),
        );
    }
    schema
}

impl Section for Profile {
    const NAME: &'static str = "router";

    fn validate(&self) -> Result<(), ProfileError> {
        Profile::validate(self)
    }

    /// Parses the section with typed errors for the values (a field of the
    /// wrong JSON type is a [`ProfileError::Section`] error).
    fn from_section_json(raw: &str) -> Result<Self, ProfileError> {
        let wire: RouterWire =
            serde_json::from_str(raw).map_err(|source| ProfileError::Section {
                section: Self::NAME.to_string(),
                source,
            })?;
        Profile::from_wire(wire)
    }
}

impl Serialize for Profile {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.to_wire().serialize(s)
    }
}

impl<'de> Deserialize<'de> for Profile {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let p =
            Profile::from_wire(RouterWire::deserialize(d)?).map_err(serde::de::Error::custom)?;
        p.validate().map_err(serde::de::Error::custom)?;
        Ok(p)
    }
}

/// Largest `n_clusters × feature_dim` accepted.
const MAX_CENTER_VALUES: usize = super::MAX_MATRIX_VALUES;

impl Profile {
    /// Decodes the centroids (the caller validates the result).
    fn from_wire(wire: RouterWire) -> Result<Self, ProfileError> {
        let k = wire.metadata.n_clusters;
        let d = wire.metadata.feature_dim;
        check_shape(k, d)?;
        let centroids = decode_centers(&wire.cluster_centers, wire.dtype.as_deref(), k, d)?;
        let p = Profile {
            metadata: wire.metadata,
            centroids,
            cluster_sizes: wire.cluster_sizes,
            llm_profiles: wire.llm_profiles,
            counts: wire.counts,
            models: wire.models,
        };
        Ok(p)
    }

    fn to_wire(&self) -> RouterWire {
        let mut bytes = Vec::with_capacity(self.centroids.len() * 2);
        for &v in &self.centroids {
            bytes.extend_from_slice(&f16::from_f32(v).to_le_bytes());
        }
        let centers = serde_json::json!({
            "dtype": "float16",
            "encoding": "base64-le",
            "shape": [self.metadata.n_clusters, self.metadata.feature_dim],
            "data": base64::engine::general_purpose::STANDARD.encode(&bytes),
        });
        RouterWire {
            metadata: self.metadata.clone(),
            cluster_centers: centers,
            dtype: None,
            cluster_sizes: self.cluster_sizes.clone(),
            llm_profiles: self.llm_profiles.clone(),
            counts: self.counts.clone(),
            models: self.models.clone(),
        }
    }

    /// Parses a profile file (container format 3, or a format-2 router
    /// profile) and validates its `router` section; other sections are
    /// ignored. A file without one is [`ProfileError::MissingSection`].
    pub fn from_json(bytes: &[u8]) -> Result<Self, ProfileError> {
        ProfileFile::from_json(bytes)?.require::<Profile>()
    }

    /// Reads a profile file and validates its `router` section.
    pub fn read(path: impl AsRef<Path>) -> Result<Self, ProfileError> {
        ProfileFile::read(path)?.require::<Profile>()
    }

    /// Checks every invariant a router relies on.
    pub fn validate(&self) -> Result<(), ProfileError> {
        // A `Profile` can be built in memory, bypassing `from_json`: repeat the
        // wire-level checks so nothing below can divide by zero, overflow or panic.
        let k = self.metadata.n_clusters;
        let d = self.metadata.feature_dim;
        check_shape(k, d)?;
        if let Some(r) = &self.metadata.routing {
            r.validate()?;
        }
        if self.metadata.embedding_model.trim().is_empty() {
            return Err(invalid("metadata.embedding_model", "is empty"));
        }
        if self.centroids.len() != k * d {
            return Err(invalid(
                "cluster_centers",
                format!("{} values, expected {k} × {d}", self.centroids.len()),
            ));
        }
        for (c, row) in self.centroids.chunks_exact(d).enumerate() {
            if row.iter().any(|v| !v.is_finite()) {
                return Err(invalid(
                    format!("cluster_centers[{c}]"),
                    "has a non-finite value",
                ));
            }
            if row.iter().all(|&v| v == 0.0) {
                return Err(invalid(format!("cluster_centers[{c}]"), "is a zero vector"));
            }
        }
        if self.cluster_sizes.len() != k {
            return Err(invalid(
                "cluster_sizes",
                format!("{} entries, expected {k}", self.cluster_sizes.len()),
            ));
        }
        if self.models.is_empty() {
            return Err(invalid("models", "no models"));
        }
        let mut names = HashSet::new();
        for (i, m) in self.models.iter().enumerate() {
            if m.name.is_empty() {
                return Err(invalid(format!("models[{i}].name"), "is empty"));
            }
            if !names.insert(m.name.as_str()) {
                return Err(invalid(
                    format!("models[{i}].name"),
                    format!("duplicate model `{}`", m.name),
                ));
            }
            if !(m.cost.is_finite() && m.cost > 0.0) {
                return Err(invalid(
                    format!("models[{i}].cost"),
                    format!("`{}` has cost {}; it must be > 0", m.name, m.cost),
                ));
            }
            let rates = self.llm_profiles.get(&m.name).ok_or_else(|| {
                invalid(
                    "llm_profiles",
                    format!("no error rates for model `{}`", m.name),
                )
            })?;
            if rates.len() != k {
                return Err(invalid(
                    format!("llm_profiles.{}", m.name),
                    format!("{} entries, expected {k}", rates.len()),
                ));
            }
            if let Some((c, r)) = rates
                .iter()
                .enumerate()
                .find(|(_, r)| !(0.0..=1.0).contains(*r))
            {
                return Err(invalid(
                    format!("llm_profiles.{}[{c}]", m.name),
                    format!("{r} is outside [0, 1]"),
                ));
            }
        }
        if let Some(extra) = self
            .llm_profiles
            .keys()
            .find(|n| !names.contains(n.as_str()))
        {
            return Err(invalid(
                "llm_profiles",
                format!("model `{extra}` is not in `models`"),
            ));
        }
        for (name, c) in &self.counts {
            if !names.contains(name.as_str()) {
                return Err(invalid(
                    "counts",
                    format!("model `{name}` is not in `models`"),
                ));
            }
            if c.n.len() != k || c.errors.len() != k {
                return Err(invalid(
                    format!("counts.{name}"),
                    format!("expected {k} entries in `n` and `errors`"),
                ));
            }
            for (i, (&n, &e)) in c.n.iter().zip(&c.errors).enumerate() {
                if !(e.is_finite() && e >= 0.0 && e <= n as f64 + 1e-9) {
                    return Err(invalid(
                        format!("counts.{name}.errors[{i}]"),
                        format!("{e} is not in [0, n = {n}]"),
                    ));
                }
            }
        }
        for s in [
            self.metadata.silhouette_score,
            Some(self.metadata.noise_fraction),
        ]
        .into_iter()
        .flatten()
        {
            if !s.is_finite() {
                return Err(invalid("metadata", "non-finite score"));
            }
        }
        Ok(())
    }

    /// A profile file (container format 3.0) holding this profile as its
    /// only section, as compact JSON (centroids as base64 little-endian
    /// float16). The output is deterministic: the same profile gives the
    /// same bytes. To keep a file's other sections, read it as a
    /// [`ProfileFile`], [`set_section`](ProfileFile::set_section) and write
    /// that instead.
    pub fn to_json(&self) -> Vec<u8> {
        self.to_file().to_json()
    }

    /// A container holding this profile as its `router` section.
    pub fn to_file(&self) -> ProfileFile {
        let mut f = ProfileFile::new();
        f.set_section_unchecked(self);
        f
    }

    /// Writes the profile to `path` as a file of its own (see
    /// [`to_json`](Self::to_json)).
    pub fn write(&self, path: impl AsRef<Path>) -> Result<(), ProfileError> {
        self.to_file().write(path)
    }

    /// Number of clusters.
    pub fn n_clusters(&self) -> usize {
        self.metadata.n_clusters
    }

    /// Embedding dimension.
    pub fn dim(&self) -> usize {
        self.metadata.feature_dim
    }

    /// Centroid of cluster `c` (panics if `c ≥ n_clusters`).
    pub fn centroid(&self, c: usize) -> &[f32] {
        let d = self.dim();
        &self.centroids[c * d..(c + 1) * d]
    }

    /// Index of the model called `name`.
    pub fn model_index(&self, name: &str) -> Option<usize> {
        self.models.iter().position(|m| m.name == name)
    }

    /// Expected error of model `m` (by index) in each cluster.
    pub fn error_rates(&self, m: usize) -> &[f64] {
        &self.llm_profiles[&self.models[m].name]
    }
}

/// Checks `n_clusters` and `feature_dim` before anything is sized by them.
fn check_shape(k: usize, d: usize) -> Result<(), ProfileError> {
    if k == 0 {
        return Err(invalid("metadata.n_clusters", "must be at least 1"));
    }
    if d == 0 {
        return Err(invalid("metadata.feature_dim", "must be at least 1"));
    }
    if k.checked_mul(d).is_none_or(|v| v > MAX_CENTER_VALUES) {
        return Err(invalid(
            "metadata",
            format!("{k} × {d} centroids is too large"),
        ));
    }
    Ok(())
}

fn decode_centers(
    v: &Value,
    top_dtype: Option<&str>,
    k: usize,
    d: usize,
) -> Result<Vec<f32>, ProfileError> {
    match v {
        Value::Object(o) => {
            let s = |f: &str| o.get(f).and_then(Value::as_str);
            match s("dtype") {
                Some("float16") => {}
                other => {
                    return Err(invalid(
                        "cluster_centers.dtype",
                        format!("{other:?}: only \"float16\" is supported"),
                    ))
                }
            }
            match s("encoding") {
                Some("base64-le") => {}
                other => {
                    return Err(invalid(
                        "cluster_centers.encoding",
                        format!("{other:?}: only \"base64-le\" is supported"),
                    ))
                }
            }
            let shape: Vec<u64> = o
                .get("shape")
                .and_then(Value::as_array)
                .map(|a| a.iter().filter_map(Value::as_u64).collect())
                .unwrap_or_default();
            if shape != [k as u64, d as u64] {
                return Err(invalid(
                    "cluster_centers.shape",
                    format!("{shape:?} does not match n_clusters × feature_dim = [{k}, {d}]"),
                ));
            }
            let data = s("data")
                .ok_or_else(|| invalid("cluster_centers.data", "missing or not a string"))?;
            let expected = (k * d * 2).div_ceil(3) * 4;
            if data.len() != expected {
                return Err(invalid(
                    "cluster_centers.data",
                    format!(
                        "{} base64 characters, expected {expected} for {k} × {d} float16 values",
                        data.len()
                    ),
                ));
            }
            let bytes = base64::engine::general_purpose::STANDARD
                .decode(data)
                .map_err(|e| invalid("cluster_centers.data", format!("invalid base64: {e}")))?;
            if bytes.len() != k * d * 2 {
                return Err(invalid(
                    "cluster_centers.data",
                    format!("{} bytes, expected {}", bytes.len(), k * d * 2),
                ));
            }
            Ok(bytes
                .chunks_exact(2)
                .map(|b| f16::from_le_bytes([b[0], b[1]]).to_f32())
                .collect())
        }
        Value::Array(rows) => {
            match top_dtype {
                None | Some("float16") => {}
                Some(other) => {
                    return Err(invalid(
                        "dtype",
                        format!("\"{other}\": only \"float16\" is supported"),
                    ))
                }
            }
            if rows.len() != k {
                return Err(invalid(
                    "cluster_centers",
                    format!("{} rows, expected n_clusters = {k}", rows.len()),
                ));
            }
            let mut out = Vec::with_capacity(k * d);
            for (c, row) in rows.iter().enumerate() {
                let row = row
                    .as_array()
                    .ok_or_else(|| invalid(format!("cluster_centers[{c}]"), "not an array"))?;
                if row.len() != d {
                    return Err(invalid(
                        format!("cluster_centers[{c}]"),
                        format!("{} values, expected feature_dim = {d}", row.len()),
                    ));
                }
                for (j, x) in row.iter().enumerate() {
                    let x = x.as_f64().ok_or_else(|| {
                        invalid(format!("cluster_centers[{c}][{j}]"), "not a number")
                    })?;
                    // Values are float16 by declaration: round to it, as the binary form would.
                    out.push(f16::from_f64(x).to_f32());
                }
            }
            Ok(out)
        }
        _ => Err(invalid(
            "cluster_centers",
            "must be an object (base64 form) or an array of rows",
        )),
    }
}
