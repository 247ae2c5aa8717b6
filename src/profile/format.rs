//! The profile's JSON wire format, its reader (with full validation) and its
//! writer.

use std::collections::{BTreeMap, HashSet};
use std::path::Path;

use base64::Engine as _;
use half::f16;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// The format version this crate writes. The reader accepts any `2.x`.
pub const FORMAT_VERSION: &str = "2.0";

use super::error::ProfileError;

fn invalid(field: impl Into<String>, reason: impl Into<String>) -> ProfileError {
    ProfileError::invalid(field, reason)
}

/// A model the router can pick, with its relative cost per call.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ModelInfo {
    /// Model name.
    pub name: String,
    /// Relative cost of one call (> 0).
    pub cost: f64,
    /// Other fields (`params_b`, `size_mb`, `path` on the device, …).
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl ModelInfo {
    /// The model file's path on the device (`path` field), if given.
    pub fn path(&self) -> Option<&str> {
        self.extra.get("path").and_then(Value::as_str)
    }
}

/// One clustering candidate considered when the profile was built.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SelectionEntry {
    /// `kmeans` or `hdbscan`.
    pub algorithm: String,
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
    /// Other scores (e.g. routing cross-validation).
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// How the per-cluster error rates were shrunk toward each model's global error.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Shrinkage {
    /// Pseudo-count `a` in `(errors + a·global) / (n + a)`.
    pub pseudo_count: f64,
    /// `cross-validation` or `fixed`.
    pub method: String,
    /// Cross-validated Brier score per tried pseudo-count (`[a, score]`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub cv_scores: Vec<[f64; 2]>,
}

/// The cluster assignment a profile recommends
/// ([`Router::options`](crate::route::Router::options) starts from it).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RoutingDefaults {
    /// `hard` (the nearest cluster) or `soft` (a similarity-weighted mix of
    /// the `top_k` nearest clusters).
    pub assignment: String,
    /// Clusters mixed by soft assignment (1 ..= 64).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub top_k: Option<usize>,
    /// Softmax temperature of the soft weights and the confidence (> 0).
    pub temperature: f64,
    /// How it was chosen (`routing-cv`), with the cross-validated QAB of
    /// every assignment tried (`[top_k, qab]`, `top_k = 1` being hard).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub cv_scores: Vec<[f64; 2]>,
    /// Unknown fields, kept on rewrite.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl RoutingDefaults {
    /// Hard assignment at the default temperature.
    pub fn hard() -> Self {
        RoutingDefaults {
            assignment: "hard".into(),
            top_k: None,
            // 0.05 as written, not the f32's binary expansion.
            temperature: (f64::from(crate::route::DEFAULT_TEMPERATURE) * 1e6).round() / 1e6,
            cv_scores: Vec::new(),
            extra: Map::new(),
        }
    }

    /// Soft assignment over `top_k` clusters at the default temperature.
    pub fn soft(top_k: usize) -> Self {
        RoutingDefaults {
            assignment: "soft".into(),
            top_k: Some(top_k),
            ..Self::hard()
        }
    }

    /// The number of clusters mixed: 1 for hard assignment.
    pub fn clusters_mixed(&self) -> usize {
        match self.assignment.as_str() {
            "soft" => self.top_k.unwrap_or(1),
            _ => 1,
        }
    }

    fn validate(&self) -> Result<(), ProfileError> {
        match (self.assignment.as_str(), self.top_k) {
            ("hard", None | Some(1)) => {}
            ("hard", Some(k)) => {
                return Err(invalid(
                    "metadata.routing.top_k",
                    format!("is {k}, but the assignment is hard"),
                ))
            }
            ("soft", Some(k)) if (1..=crate::route::MAX_SOFT_TOP_K).contains(&k) => {}
            ("soft", k) => {
                return Err(invalid(
                    "metadata.routing.top_k",
                    format!(
                        "must be in 1..={} for soft assignment, got {}",
                        crate::route::MAX_SOFT_TOP_K,
                        k.map_or("nothing".into(), |k| k.to_string())
                    ),
                ))
            }
            (other, _) => {
                return Err(invalid(
                    "metadata.routing.assignment",
                    format!("must be `hard` or `soft`, got `{other}`"),
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
    /// `kmeans` or `hdbscan`.
    pub clustering_algorithm: String,
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
    /// How the clustering was selected (`silhouette` or `routing-cv`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub selection_method: Option<String>,
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
    /// Unknown fields, kept on rewrite.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// Raw counts behind one model's error rates: per cluster, the number of
/// labelled prompts and the summed error (`1 − correctness`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Counts {
    /// Labelled prompts per cluster.
    pub n: Vec<u64>,
    /// Summed error per cluster.
    pub errors: Vec<f64>,
}

/// A validated router profile, centroids decoded to `f32` (exact float16 values).
#[derive(Debug, Clone, PartialEq)]
pub struct Profile {
    /// Format version.
    pub version: String,
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

#[derive(Serialize, Deserialize)]
struct Wire {
    version: String,
    metadata: Metadata,
    cluster_centers: Value,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    dtype: Option<String>,
    cluster_sizes: Vec<u64>,
    llm_profiles: BTreeMap<String, Vec<f64>>,
    #[serde(default)]
    counts: BTreeMap<String, Counts>,
    models: Vec<ModelInfo>,
}

/// Largest profile accepted, so a hostile file cannot exhaust memory.
const MAX_PROFILE_BYTES: usize = 64 << 20;
/// Largest `n_clusters × feature_dim` accepted.
const MAX_CENTER_VALUES: usize = 16 << 20;

impl Profile {
    /// Parses and validates a profile.
    pub fn from_json(bytes: &[u8]) -> Result<Self, ProfileError> {
        if bytes.len() > MAX_PROFILE_BYTES {
            return Err(invalid(
                "",
                format!(
                    "{} bytes is larger than the {MAX_PROFILE_BYTES}-byte limit",
                    bytes.len()
                ),
            ));
        }
        let wire: Wire = serde_json::from_slice(bytes)?;
        if !(wire.version == "2" || wire.version.starts_with("2.")) {
            return Err(ProfileError::Version(wire.version));
        }
        let k = wire.metadata.n_clusters;
        let d = wire.metadata.feature_dim;
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
        let centroids = decode_centers(&wire.cluster_centers, wire.dtype.as_deref(), k, d)?;
        let p = Profile {
            version: wire.version,
            metadata: wire.metadata,
            centroids,
            cluster_sizes: wire.cluster_sizes,
            llm_profiles: wire.llm_profiles,
            counts: wire.counts,
            models: wire.models,
        };
        p.validate()?;
        Ok(p)
    }

    /// Reads and validates a profile file.
    pub fn read(path: impl AsRef<Path>) -> Result<Self, ProfileError> {
        let path = path.as_ref();
        let bytes = std::fs::read(path).map_err(|source| ProfileError::Io {
            path: path.display().to_string(),
            source,
        })?;
        Self::from_json(&bytes)
    }

    /// Checks every invariant a router relies on.
    pub fn validate(&self) -> Result<(), ProfileError> {
        // A `Profile` can be built in memory, bypassing `from_json`: repeat the
        // wire-level checks so nothing below can divide by zero, overflow or panic.
        if !(self.version == "2" || self.version.starts_with("2.")) {
            return Err(ProfileError::Version(self.version.clone()));
        }
        let k = self.metadata.n_clusters;
        let d = self.metadata.feature_dim;
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

    /// Serialises to compact JSON (centroids as base64 little-endian float16).
    /// The output is deterministic: the same profile gives the same bytes.
    pub fn to_json(&self) -> Vec<u8> {
        let mut bytes = Vec::with_capacity(self.centroids.len() * 2 + 1024);
        for &v in &self.centroids {
            bytes.extend_from_slice(&f16::from_f32(v).to_le_bytes());
        }
        let centers = serde_json::json!({
            "dtype": "float16",
            "encoding": "base64-le",
            "shape": [self.metadata.n_clusters, self.metadata.feature_dim],
            "data": base64::engine::general_purpose::STANDARD.encode(&bytes),
        });
        let wire = Wire {
            version: self.version.clone(),
            metadata: self.metadata.clone(),
            cluster_centers: centers,
            dtype: None,
            cluster_sizes: self.cluster_sizes.clone(),
            llm_profiles: self.llm_profiles.clone(),
            counts: self.counts.clone(),
            models: self.models.clone(),
        };
        let mut out = serde_json::to_vec(&wire).expect("profile serialisation cannot fail");
        out.push(b'\n');
        out
    }

    /// Writes the profile to `path`.
    pub fn write(&self, path: impl AsRef<Path>) -> Result<(), ProfileError> {
        let path = path.as_ref();
        std::fs::write(path, self.to_json()).map_err(|source| ProfileError::Io {
            path: path.display().to_string(),
            source,
        })
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
