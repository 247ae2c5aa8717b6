//! Updating a profile without its training data: adding (or re-estimating)
//! a model from a few hundred labelled prompts, with no re-clustering.

use super::error::ProfileError;
use super::format::{Counts, ModelInfo, Profile};
use crate::routing::{error_rates, round6, Centroids, DEFAULT_PSEUDO_COUNT};

/// What [`Profile::add_model`] did.
#[derive(Debug, Clone, PartialEq)]
pub struct AddModelReport {
    /// Index of the model in the profile's `models`.
    pub model_index: usize,
    /// Whether an existing model's rates were replaced.
    pub replaced: bool,
    /// Labelled prompts assigned to each cluster.
    pub n: Vec<u64>,
    /// The model's global error on those prompts.
    pub global_error: f64,
    /// Pseudo-count used for the shrinkage.
    pub pseudo_count: f64,
}

impl Profile {
    /// The shrinkage pseudo-count this profile was built with (or
    /// [`DEFAULT_PSEUDO_COUNT`]).
    pub fn pseudo_count(&self) -> f64 {
        self.metadata
            .shrinkage
            .as_ref()
            .map(|s| s.pseudo_count)
            .unwrap_or(DEFAULT_PSEUDO_COUNT)
    }

    /// The profile's centroids as the router uses them: re-normalised
    /// after float16 rounding (the routing core's [`Centroids`]).
    pub fn unit_centroids(&self) -> Centroids {
        Centroids::new(&self.centroids, self.dim())
    }

    /// Adds `model` from labelled prompts: each embedding (`rows`, one
    /// vector of `feature_dim` per prompt) is assigned to the cluster the
    /// router gives it under hard assignment ([`Centroids::nearest`] over the
    /// re-normalised centroids, exactly as `aurora route --hard`) and the model's per-cluster error is estimated from
    /// `correctness` (in `[0, 1]`, one per prompt) with the profile's
    /// shrinkage toward the model's global error. The clusters do not change.
    /// A model of the same name is an error unless `replace` is set.
    ///
    /// ```
    /// # use aurora_router::profile::{ModelInfo, Profile};
    /// # let json = br#"{"version":"2.0","metadata":{"n_clusters":2,"feature_dim":2,"embedding_model":"toy","is_mock":false,"silhouette_score":0.5,"clustering_algorithm":"kmeans","params":{"k":2},"selection":[],"noise_fraction":0.0,"dataset_sha256":"0","seed":1,"generator":"hand"},"cluster_centers":{"dtype":"float16","encoding":"base64-le","shape":[2,2],"data":"ADwAAAAAADw="},"cluster_sizes":[10,10],"llm_profiles":{"small":[0.5,0.1]},"models":[{"name":"small","cost":1}]}"#;
    /// let mut p = Profile::from_json(json)?;
    /// let new = ModelInfo { name: "new".into(), cost: 3.0, extra: Default::default() };
    /// let rows = [1.0, 0.0, 0.0, 1.0, 0.0, 1.0];
    /// let r = p.add_model(new, &rows, &[1.0, 0.0, 1.0], false)?;
    /// assert_eq!(r.n, vec![1, 2]);
    /// assert_eq!(p.models.len(), 2);
    /// # Ok::<(), aurora_router::profile::ProfileError>(())
    /// ```
    pub fn add_model(
        &mut self,
        model: ModelInfo,
        rows: &[f32],
        correctness: &[f64],
        replace: bool,
    ) -> Result<AddModelReport, ProfileError> {
        let bad = |field: &str, reason: String| ProfileError::Invalid {
            field: field.to_string(),
            reason,
        };
        let d = self.dim();
        if rows.len() != correctness.len() * d {
            return Err(bad(
                "embeddings",
                format!(
                    "{} values for {} prompts of dimension {d}",
                    rows.len(),
                    correctness.len()
                ),
            ));
        }
        if correctness.is_empty() {
            return Err(bad("results", "no labelled prompts".into()));
        }
        if !(model.cost.is_finite() && model.cost > 0.0) {
            return Err(bad("cost", format!("{} must be > 0", model.cost)));
        }
        if let Some(v) = correctness.iter().find(|v| !(0.0..=1.0).contains(*v)) {
            return Err(bad("results", format!("correctness {v} is outside [0, 1]")));
        }
        if let Some(i) = rows.iter().position(|v| !v.is_finite()) {
            return Err(bad(
                "embeddings",
                format!("row {}, column {} is not finite", i / d, i % d),
            ));
        }
        let existing = self.model_index(&model.name);
        if existing.is_some() && !replace {
            return Err(bad(
                "name",
                format!(
                    "model `{}` is already in the profile (use replace to re-estimate it)",
                    model.name
                ),
            ));
        }
        let k = self.n_clusters();
        let centroids = self.unit_centroids();
        let mut n = vec![0u64; k];
        let mut errors = vec![0.0f64; k];
        for (i, (row, &c)) in rows.chunks_exact(d).zip(correctness).enumerate() {
            let cluster = centroids
                .nearest(row)
                .map_err(|e| bad("embeddings", format!("row {i}: {e}")))?;
            n[cluster] += 1;
            errors[cluster] += 1.0 - c;
        }
        let global = errors.iter().sum::<f64>() / correctness.len() as f64;
        let a = self.pseudo_count();
        let rates = error_rates(&n, &errors, global, a);
        let name = model.name.clone();
        let model_index = match existing {
            Some(i) => {
                self.models[i] = model;
                i
            }
            None => {
                self.models.push(model);
                self.models.len() - 1
            }
        };
        self.llm_profiles
            .insert(name.clone(), rates.iter().map(|&r| round6(r)).collect());
        self.counts.insert(
            name,
            Counts {
                n: n.clone(),
                errors: errors.iter().map(|&e| round6(e)).collect(),
            },
        );
        self.validate()?;
        Ok(AddModelReport {
            model_index,
            replaced: existing.is_some(),
            n,
            global_error: global,
            pseudo_count: a,
        })
    }
}
