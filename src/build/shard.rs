//! Profile building beyond one machine: the per-cluster counts of one shard
//! of a labelled set, assigned to the centroids of an existing profile `P`
//! (`aurora profile build --centroids-from P.json --shard I/N`), and their
//! exact merge into a profile (`aurora profile merge`).
//!
//! A shard file holds, per cluster and per model, the number of labelled
//! prompts and their summed error (`1 − correctness`): the sufficient
//! statistics of `P`'s shrunk error rates. Merging sums them and recomputes
//! the rates with `P`'s pseudo-count, so `N` merged shards give the same
//! profile as one pass over all prompts with the same centroids. Each shard
//! records the sha256 of `P`'s file: shards of different centroid files are
//! refused, as are missing and duplicate shards.

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::data::LabelledSet;
use crate::profile::{Counts, ModelInfo, Profile, ProfileError};
use crate::routing::{error_rates, round6};

/// The `format` field of a shard file.
pub const SHARD_FORMAT: &str = "aurora-shard-counts";
/// The version of the shard file format this reader writes and reads.
pub const SHARD_VERSION: &str = "1.0";
/// Largest shard count `N` accepted in `--shard I/N`.
pub const MAX_SHARDS: usize = 1 << 20;

/// Errors of sharded building and merging.
#[derive(Debug, thiserror::Error)]
pub enum ShardError {
    /// `--shard` is not `I/N` with `1 ≤ I ≤ N`.
    #[error("--shard {spec}: {reason} (expected I/N with 1 ≤ I ≤ N, e.g. 2/4)")]
    Spec {
        /// The text given.
        spec: String,
        /// What is wrong.
        reason: String,
    },
    /// A shard was computed from another centroid file than the one given.
    #[error("{file}: computed from centroids with sha256 {found}, but --centroids-from hashes to {expected}")]
    CentroidsMismatch {
        /// The shard file.
        file: String,
        /// sha256 of the `--centroids-from` file.
        expected: String,
        /// sha256 recorded in the shard.
        found: String,
    },
    /// Shards disagree on `N`, the models or the cluster count.
    #[error("{file}: {reason}")]
    Inconsistent {
        /// The shard file.
        file: String,
        /// What differs.
        reason: String,
    },
    /// Two shard files claim the same shard.
    #[error("shard {index}/{count} is given twice: {first} and {second}")]
    Duplicate {
        /// The shard's index (1-based).
        index: usize,
        /// N.
        count: usize,
        /// The first file.
        first: String,
        /// The second file.
        second: String,
    },
    /// Some shards of `1..=N` are not given.
    #[error("missing shards of {count}: {missing:?} (every shard 1..={count} must be merged exactly once)")]
    Missing {
        /// N.
        count: usize,
        /// The missing indexes (1-based).
        missing: Vec<usize>,
    },
    /// No shard file was given.
    #[error("no shard files to merge")]
    Empty,
    /// A shard file is not a shard file of this version.
    #[error("{file}: not a shard file: {reason}")]
    Format {
        /// The file.
        file: String,
        /// What is wrong.
        reason: String,
    },
    /// The input data does not fit the centroid profile.
    #[error("{0}")]
    Data(String),
    /// The merged profile is invalid.
    #[error(transparent)]
    Profile(#[from] ProfileError),
}

/// Shard `index` of `count` (1-based), parsed from `I/N`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ShardSpec {
    /// I, in `1..=count`.
    pub index: usize,
    /// N ≥ 1.
    pub count: usize,
}

impl ShardSpec {
    /// The whole set: shard 1 of 1.
    pub const ALL: ShardSpec = ShardSpec { index: 1, count: 1 };

    /// Whether the prompt with id `id` falls in this shard: the first 8
    /// bytes of sha256(id), little-endian, modulo N, equal I − 1. Depends on
    /// the id only, so a prompt lands in the same shard whatever the file
    /// order or splitting.
    pub fn contains(&self, id: &str) -> bool {
        shard_of(id, self.count) == self.index - 1
    }
}

/// The 0-based shard of `id` among `count`.
fn shard_of(id: &str, count: usize) -> usize {
    let h = Sha256::digest(id.as_bytes());
    let mut b = [0u8; 8];
    b.copy_from_slice(&h[..8]);
    (u64::from_le_bytes(b) % count as u64) as usize
}

impl FromStr for ShardSpec {
    type Err = ShardError;

    fn from_str(s: &str) -> Result<Self, ShardError> {
        let bad = |reason: &str| ShardError::Spec {
            spec: s.to_string(),
            reason: reason.to_string(),
        };
        let (i, n) = s.split_once('/').ok_or_else(|| bad("no `/`"))?;
        let i: usize = i
            .trim()
            .parse()
            .map_err(|_| bad("I is not a whole number"))?;
        let n: usize = n
            .trim()
            .parse()
            .map_err(|_| bad("N is not a whole number"))?;
        if n == 0 {
            return Err(bad("N must be at least 1"));
        }
        if n > MAX_SHARDS {
            return Err(bad(&format!("N is above the {MAX_SHARDS}-shard limit")));
        }
        if i == 0 || i > n {
            return Err(bad("I must be in 1..=N"));
        }
        Ok(ShardSpec { index: i, count: n })
    }
}

impl fmt::Display for ShardSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.index, self.count)
    }
}

/// The content of a shard file (JSON; see `profiles/SCHEMA.md`, "Shard files").
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ShardCounts {
    /// Always [`SHARD_FORMAT`].
    pub format: String,
    /// [`SHARD_VERSION`].
    pub version: String,
    /// `[I, N]`.
    pub shard: [usize; 2],
    /// Lowercase hex sha256 of the bytes of the centroid profile `P`.
    pub centroids_sha256: String,
    /// P's cluster count.
    pub n_clusters: usize,
    /// Labelled prompts in this shard.
    pub prompts: u64,
    /// The models, in the order of the `--models` file's results columns.
    pub models: Vec<ModelInfo>,
    /// Prompts of this shard per cluster.
    pub cluster_sizes: Vec<u64>,
    /// Per model: prompts and summed error per cluster (not rounded).
    pub counts: BTreeMap<String, Counts>,
}

/// sha256 of a centroid profile's bytes, as recorded in its shards.
pub fn centroids_sha256(profile_bytes: &[u8]) -> String {
    Sha256::digest(profile_bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

impl ShardCounts {
    /// Counts the prompts of `set` in shard `spec`: each embedding (`rows`,
    /// one `P.dim()`-vector per prompt of `set`, in order) goes to its
    /// nearest centroid of `p` under hard assignment, exactly as `aurora
    /// route --hard`. `p_sha256` is [`centroids_sha256`] of `p`'s file.
    pub fn compute(
        p: &Profile,
        p_sha256: &str,
        spec: ShardSpec,
        set: &LabelledSet,
        rows: &[f32],
    ) -> Result<Self, ShardError> {
        let d = p.dim();
        let k = p.n_clusters();
        let n = set.prompts.len();
        if rows.len() != n * d {
            return Err(ShardError::Data(format!(
                "embeddings: {} values for {n} prompts of the profile's dimension {d}",
                rows.len()
            )));
        }
        let centroids = p.unit_centroids();
        let mut sizes = vec![0u64; k];
        let mut errors = vec![vec![0.0f64; k]; set.models.len()];
        let mut prompts = 0u64;
        for (i, (prompt, row)) in set.prompts.iter().zip(rows.chunks_exact(d)).enumerate() {
            if !spec.contains(&prompt.id) {
                continue;
            }
            let c = centroids
                .nearest(row)
                .map_err(|e| ShardError::Data(format!("embeddings row {i}: {e}")))?;
            sizes[c] += 1;
            prompts += 1;
            for (m, &correct) in set.results.correctness[i].iter().enumerate() {
                errors[m][c] += 1.0 - correct;
            }
        }
        let counts = set
            .models
            .iter()
            .zip(errors)
            .map(|(m, e)| {
                (
                    m.name.clone(),
                    Counts {
                        n: sizes.clone(),
                        errors: e,
                    },
                )
            })
            .collect();
        Ok(ShardCounts {
            format: SHARD_FORMAT.into(),
            version: SHARD_VERSION.into(),
            shard: [spec.index, spec.count],
            centroids_sha256: p_sha256.to_string(),
            n_clusters: k,
            prompts,
            models: set.models.clone(),
            cluster_sizes: sizes,
            counts,
        })
    }

    /// Parses a shard file (`file` names it in errors).
    pub fn from_json(bytes: &[u8], file: &str) -> Result<Self, ShardError> {
        let s: ShardCounts = serde_json::from_slice(bytes).map_err(|e| ShardError::Format {
            file: file.into(),
            reason: e.to_string(),
        })?;
        let bad = |reason: String| ShardError::Format {
            file: file.into(),
            reason,
        };
        if s.format != SHARD_FORMAT {
            return Err(bad(format!(
                "format `{}`, expected `{SHARD_FORMAT}`",
                s.format
            )));
        }
        if !s.version.starts_with("1.") && s.version != "1" {
            return Err(bad(format!("unsupported version `{}`", s.version)));
        }
        let [i, n] = s.shard;
        if n == 0 || i == 0 || i > n || n > MAX_SHARDS {
            return Err(bad(format!("shard {i}/{n} is not I/N with 1 ≤ I ≤ N")));
        }
        if s.n_clusters == 0 || s.cluster_sizes.len() != s.n_clusters {
            return Err(bad(format!(
                "{} cluster sizes for n_clusters {}",
                s.cluster_sizes.len(),
                s.n_clusters
            )));
        }
        for m in &s.models {
            let c = s
                .counts
                .get(&m.name)
                .ok_or_else(|| bad(format!("no counts for model `{}`", m.name)))?;
            if c.n != s.cluster_sizes || c.errors.len() != s.n_clusters {
                return Err(bad(format!("counts.{}: wrong length or sizes", m.name)));
            }
            if let Some(e) = c.errors.iter().find(|e| !(e.is_finite() && **e >= 0.0)) {
                return Err(bad(format!("counts.{}: error {e} is not ≥ 0", m.name)));
            }
        }
        if s.counts.len() != s.models.len() {
            return Err(bad("counts for a model not in `models`".into()));
        }
        Ok(s)
    }

    /// The shard as pretty JSON.
    pub fn to_json(&self) -> Vec<u8> {
        let mut v = serde_json::to_vec_pretty(self).expect("shard counts serialise");
        v.push(b'\n');
        v
    }
}

/// Merges the shards `(file name, counts)` of `p` (whose file hashes to
/// `p_sha256`) into a profile: `p`'s centroids and metadata, the shards'
/// models, summed cluster sizes and counts, and error rates recomputed with
/// `p`'s pseudo-count. Every shard `1..=N` must be given exactly once, all
/// from the same centroid file and with the same models.
pub fn merge_shards(
    p: &Profile,
    p_sha256: &str,
    shards: &[(String, ShardCounts)],
) -> Result<Profile, ShardError> {
    let (first_file, first) = shards.first().ok_or(ShardError::Empty)?;
    let count = first.shard[1];
    if count == 0 || count > MAX_SHARDS {
        return Err(ShardError::Inconsistent {
            file: first_file.clone(),
            reason: format!("shard count {count} is not in 1..={MAX_SHARDS}"),
        });
    }
    let k = p.n_clusters();
    let mut seen: Vec<Option<&str>> = vec![None; count];
    for (file, s) in shards {
        if s.centroids_sha256 != p_sha256 {
            return Err(ShardError::CentroidsMismatch {
                file: file.clone(),
                expected: p_sha256.into(),
                found: s.centroids_sha256.clone(),
            });
        }
        let inconsistent = |reason: String| ShardError::Inconsistent {
            file: file.clone(),
            reason,
        };
        if s.shard[1] != count || s.shard[0] == 0 || s.shard[0] > count {
            return Err(inconsistent(format!(
                "shard {}/{} but {first_file} is one of {count}",
                s.shard[0], s.shard[1]
            )));
        }
        if s.n_clusters != k {
            return Err(inconsistent(format!(
                "{} clusters, the centroid profile has {k}",
                s.n_clusters
            )));
        }
        if s.models != first.models {
            return Err(inconsistent(format!(
                "its models differ from those of {first_file}"
            )));
        }
        let slot = &mut seen[s.shard[0] - 1];
        if let Some(prev) = slot {
            return Err(ShardError::Duplicate {
                index: s.shard[0],
                count,
                first: prev.to_string(),
                second: file.clone(),
            });
        }
        *slot = Some(file.as_str());
    }
    let missing: Vec<usize> = (1..=count).filter(|i| seen[i - 1].is_none()).collect();
    if !missing.is_empty() {
        return Err(ShardError::Missing { count, missing });
    }
    // Sum in shard order: the same order whatever the order of the files.
    let mut ordered: Vec<&ShardCounts> = shards.iter().map(|(_, s)| s).collect();
    ordered.sort_by_key(|s| s.shard[0]);
    let mut sizes = vec![0u64; k];
    let mut total = 0u64;
    for s in &ordered {
        total += s.prompts;
        if s.cluster_sizes.len() != k {
            return Err(ShardError::Data(format!(
                "shard {}/{count}: {} cluster sizes for {k} clusters",
                s.shard[0],
                s.cluster_sizes.len()
            )));
        }
        for (a, b) in sizes.iter_mut().zip(&s.cluster_sizes) {
            *a += b;
        }
    }
    if total == 0 {
        return Err(ShardError::Data("the shards hold no prompts".into()));
    }
    let a = p.pseudo_count();
    let mut out = p.clone();
    out.models = first.models.clone();
    out.llm_profiles.clear();
    out.counts.clear();
    for m in &first.models {
        let mut errors = vec![0.0f64; k];
        for s in &ordered {
            let c = s.counts.get(&m.name).filter(|c| c.errors.len() == k);
            let c = c.ok_or_else(|| {
                ShardError::Data(format!(
                    "shard {}/{count}: no counts of length {k} for model `{}`",
                    s.shard[0], m.name
                ))
            })?;
            for (acc, e) in errors.iter_mut().zip(&c.errors) {
                *acc += e;
            }
        }
        let global = errors.iter().sum::<f64>() / total as f64;
        let rates = error_rates(&sizes, &errors, global, a);
        out.llm_profiles
            .insert(m.name.clone(), rates.iter().map(|&r| round6(r)).collect());
        out.counts.insert(
            m.name.clone(),
            Counts {
                n: sizes.clone(),
                errors: errors.iter().map(|&e| round6(e)).collect(),
            },
        );
    }
    out.cluster_sizes = sizes;
    out.metadata
        .extra
        .insert("centroids_from_sha256".into(), p_sha256.into());
    out.validate()?;
    Ok(out)
}
