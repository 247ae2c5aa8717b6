//! Helpers of the router tests: toy and random profiles, a fake embedder.

use std::collections::BTreeMap;

use aurora_router::embed::{EmbedError, Embedder};
use aurora_router::profile::{Metadata, ModelInfo, Profile};
use serde_json::{json, Value};

/// SplitMix64: small, deterministic, no dependency.
#[derive(Clone)]
pub struct Rng(pub u64);

impl Rng {
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    /// Uniform in [0, 1).
    pub fn uniform(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }
    /// Roughly standard normal.
    pub fn normal(&mut self) -> f32 {
        ((0..12).map(|_| self.uniform()).sum::<f64>() - 6.0) as f32
    }
    pub fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n as u64) as usize
    }
}

pub fn unit(v: &mut [f32]) {
    let n = v.iter().map(|x| x * x).sum::<f32>().sqrt();
    v.iter_mut().for_each(|x| *x /= n);
}

pub fn metadata(k: usize, d: usize, model: &str, is_mock: bool) -> Metadata {
    Metadata {
        n_clusters: k,
        feature_dim: d,
        embedding_model: model.into(),
        is_mock,
        silhouette_score: Some(0.1),
        clustering_algorithm: "kmeans".into(),
        params: json!({ "k": k }),
        selection: Vec::new(),
        noise_fraction: 0.0,
        dataset_sha256: "0".repeat(64),
        seed: 1,
        generator: "test".into(),
        selection_method: None,
        shrinkage: None,
        routing: None,
        created_at: None,
        extra: Default::default(),
    }
}

/// A profile from explicit parts (centroids rounded to float16 as stored).
pub fn profile(
    centroids: &[Vec<f32>],
    sizes: &[u64],
    models: &[(&str, f64)],
    rates: &[Vec<f64>],
    embedding_model: &str,
    is_mock: bool,
) -> Profile {
    let k = centroids.len();
    let d = centroids[0].len();
    Profile {
        metadata: metadata(k, d, embedding_model, is_mock),
        centroids: centroids
            .iter()
            .flatten()
            .map(|&v| half::f16::from_f32(v).to_f32())
            .collect(),
        cluster_sizes: sizes.to_vec(),
        llm_profiles: models
            .iter()
            .zip(rates)
            .map(|((n, _), r)| (n.to_string(), r.clone()))
            .collect(),
        counts: BTreeMap::new(),
        models: models
            .iter()
            .map(|&(n, c)| ModelInfo {
                name: n.into(),
                cost: c,
                extra: Default::default(),
            })
            .collect(),
    }
}

/// A random `k × d` profile with `m` models (costs 1, 4, 7, …; random rates).
pub fn random_profile(k: usize, d: usize, m: usize, seed: u64) -> Profile {
    let mut rng = Rng(seed);
    let centroids: Vec<Vec<f32>> = (0..k)
        .map(|_| {
            let mut r: Vec<f32> = (0..d).map(|_| rng.normal()).collect();
            unit(&mut r);
            r
        })
        .collect();
    let names: Vec<String> = (0..m).map(|j| format!("model-{j}")).collect();
    let models: Vec<(&str, f64)> = names
        .iter()
        .enumerate()
        .map(|(j, n)| (n.as_str(), 1.0 + 3.0 * j as f64))
        .collect();
    let rates: Vec<Vec<f64>> = (0..m)
        .map(|_| {
            (0..k)
                .map(|_| (rng.uniform() * 1e4).round() / 1e4)
                .collect()
        })
        .collect();
    let sizes: Vec<u64> = (0..k).map(|c| 5 + c as u64).collect();
    profile(&centroids, &sizes, &models, &rates, "test-embedder", false)
}

/// The tiny valid profile the broken corpus is derived from: 2 clusters
/// (e0, e1) in 4 dimensions, models `small` (cost 1) and `big` (cost 10).
pub fn toy_value() -> Value {
    json!({
        "version": "2.0",
        "metadata": {"n_clusters": 2, "feature_dim": 4, "embedding_model": "toy-4", "is_mock": false,
            "silhouette_score": 0.5, "clustering_algorithm": "kmeans", "params": {"k": 2}, "selection": [],
            "noise_fraction": 0.0, "dataset_sha256": "0", "seed": 1, "generator": "hand"},
        "cluster_centers": {"dtype": "float16", "encoding": "base64-le", "shape": [2, 4],
            "data": "ADwAAAAAAAAAAAA8AAAAAA=="},
        "cluster_sizes": [10, 12],
        "llm_profiles": {"small": [0.5, 0.1], "big": [0.1, 0.1]},
        "counts": {"small": {"n": [10, 12], "errors": [5, 1.2]}, "big": {"n": [10, 12], "errors": [1, 1.2]}},
        "models": [{"name": "small", "cost": 1}, {"name": "big", "cost": 10, "path": "/models/big.gguf"}]
    })
}

pub fn toy_json() -> Vec<u8> {
    serde_json::to_vec(&toy_value()).unwrap()
}

/// The toy profile with `f` applied to its JSON.
pub fn toy_with(f: impl FnOnce(&mut Value)) -> Vec<u8> {
    let mut v = toy_value();
    f(&mut v);
    serde_json::to_vec(&v).unwrap()
}

/// float16 little-endian base64 of `vals`.
pub fn f16_base64(vals: &[f32]) -> String {
    use base64::Engine as _;
    let bytes: Vec<u8> = vals
        .iter()
        .flat_map(|&v| half::f16::from_f32(v).to_le_bytes())
        .collect();
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

/// An embedder returning fixed vectors by text, with a configurable identity.
pub struct FakeEmbedder {
    pub model: String,
    pub mock: bool,
    pub dim: usize,
    pub vectors: BTreeMap<String, Vec<f32>>,
}

impl Embedder for FakeEmbedder {
    fn embed(&self, text: &str) -> Result<Vec<f32>, EmbedError> {
        if text.trim().is_empty() {
            return Err(EmbedError::EmptyText);
        }
        Ok(self
            .vectors
            .get(text)
            .cloned()
            .unwrap_or_else(|| vec![1.0; self.dim]))
    }
    fn dim(&self) -> usize {
        self.dim
    }
    fn model_id(&self) -> &str {
        &self.model
    }
    fn is_mock(&self) -> bool {
        self.mock
    }
}
