//! Parameters, in linfa's style: [`StreamParams`] is a builder, and
//! [`StreamParams::check`] turns it into [`CheckedStreamParams`] or a typed
//! [`StreamError::InvalidParam`].

use serde::{Deserialize, Serialize};

use super::StreamError;

/// How hard an acknowledged write is pushed to disk.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum Durability {
    /// `fdatasync` after every insert or remove: survives power loss.
    #[default]
    Fsync,
    /// `write(2)` after every insert or remove: survives a crash or kill of
    /// the process (the kernel holds the bytes), not a power loss.
    Flush,
}

/// The store's parameters (builder). See the [module docs](super) for what
/// each one trades.
///
/// ```
/// use aurora_router::stream::StreamParams;
///
/// let p = StreamParams::new().join_threshold(0.5).heroes(3).check().unwrap();
/// assert_eq!(p.heroes, 3);
/// assert!(StreamParams::new().join_threshold(1.5).check().is_err());
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct StreamParams(CheckedStreamParams);

/// Checked parameters. The clustering ones (everything but the hero and
/// durability settings) are recorded in the store and fixed at its creation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CheckedStreamParams {
    /// Cosine to the nearest centre at or above which an item joins that cluster.
    pub join_threshold: f32,
    /// Cosine at or above which pending items agree with each other.
    pub found_threshold: f32,
    /// Pending items (the new one included) that must agree to found a cluster.
    pub min_founders: usize,
    /// Cosine between two centres at or above which the clusters merge.
    pub merge_threshold: f32,
    /// Mean cosine of members to their centre below which a cluster is split.
    pub split_spread: f32,
    /// Smallest cluster considered for a split; each half must hold a quarter of it.
    pub min_split_size: usize,
    /// Most items a group's pending pool holds; past it the oldest pending
    /// item joins its nearest cluster, or founds one when there is none.
    pub pending_capacity: usize,
    /// Hero weight of centrality (cosine to the cluster centre).
    pub hero_centrality: f32,
    /// Hero weight of the app's quality score (missing quality counts as 0).
    pub hero_quality: f32,
    /// Hero weight of recency, `2^(-(last_seen - t) / half_life)`.
    pub hero_recency: f32,
    /// Recency half-life, in the unit of the timestamps.
    pub recency_half_life: f64,
    /// Heroes kept per cluster.
    pub heroes: usize,
    /// How acknowledged writes reach the disk.
    #[serde(default)]
    pub durability: Durability,
}

impl Default for StreamParams {
    fn default() -> Self {
        StreamParams(CheckedStreamParams {
            join_threshold: 0.6,
            found_threshold: 0.6,
            min_founders: 2,
            merge_threshold: 0.9,
            split_spread: 0.45,
            min_split_size: 24,
            pending_capacity: 8,
            hero_centrality: 1.0,
            hero_quality: 0.25,
            hero_recency: 0.1,
            recency_half_life: 30.0 * 86_400.0,
            heroes: 5,
            durability: Durability::Fsync,
        })
    }
}

macro_rules! setter {
    ($(#[$doc:meta])* $name:ident: $ty:ty) => {
        $(#[$doc])*
        pub fn $name(mut self, v: $ty) -> Self {
            self.0.$name = v;
            self
        }
    };
}

impl StreamParams {
    /// The defaults (tuned on held-out data; see BENCHMARKS.md).
    pub fn new() -> Self {
        Self::default()
    }

    setter!(/// Sets [`CheckedStreamParams::join_threshold`].
        join_threshold: f32);
    setter!(/// Sets [`CheckedStreamParams::found_threshold`].
        found_threshold: f32);
    setter!(/// Sets [`CheckedStreamParams::min_founders`].
        min_founders: usize);
    setter!(/// Sets [`CheckedStreamParams::merge_threshold`].
        merge_threshold: f32);
    setter!(/// Sets [`CheckedStreamParams::split_spread`].
        split_spread: f32);
    setter!(/// Sets [`CheckedStreamParams::min_split_size`].
        min_split_size: usize);
    setter!(/// Sets [`CheckedStreamParams::pending_capacity`].
        pending_capacity: usize);
    setter!(/// Sets [`CheckedStreamParams::hero_centrality`].
        hero_centrality: f32);
    setter!(/// Sets [`CheckedStreamParams::hero_quality`].
        hero_quality: f32);
    setter!(/// Sets [`CheckedStreamParams::hero_recency`].
        hero_recency: f32);
    setter!(/// Sets [`CheckedStreamParams::recency_half_life`].
        recency_half_life: f64);
    setter!(/// Sets [`CheckedStreamParams::heroes`].
        heroes: usize);
    setter!(/// Sets [`CheckedStreamParams::durability`].
        durability: Durability);

    /// Checks every parameter.
    pub fn check(self) -> Result<CheckedStreamParams, StreamError> {
        let p = self.0;
        let bad =
            |name: &'static str, reason: String| Err(StreamError::InvalidParam { name, reason });
        for (name, v) in [
            ("join_threshold", p.join_threshold),
            ("found_threshold", p.found_threshold),
            ("merge_threshold", p.merge_threshold),
            ("split_spread", p.split_spread),
        ] {
            if !(v.is_finite() && (-1.0..=1.0).contains(&v)) {
                return bad(name, format!("{v} is not a cosine in [-1, 1]"));
            }
        }
        for (name, v) in [
            ("hero_centrality", p.hero_centrality),
            ("hero_quality", p.hero_quality),
            ("hero_recency", p.hero_recency),
        ] {
            if !(v.is_finite() && v >= 0.0) {
                return bad(name, format!("{v} is not a finite weight >= 0"));
            }
        }
        if !(p.recency_half_life.is_finite() && p.recency_half_life > 0.0) {
            return bad(
                "recency_half_life",
                format!("{} is not a positive duration", p.recency_half_life),
            );
        }
        if p.min_founders == 0 {
            return bad("min_founders", "must be at least 1".into());
        }
        if p.pending_capacity < p.min_founders {
            return bad(
                "pending_capacity",
                format!(
                    "{} is below min_founders ({})",
                    p.pending_capacity, p.min_founders
                ),
            );
        }
        if p.min_split_size < 4 {
            return bad("min_split_size", format!("{} is below 4", p.min_split_size));
        }
        if p.merge_threshold <= p.join_threshold {
            return bad(
                "merge_threshold",
                format!(
                    "{} must exceed join_threshold ({})",
                    p.merge_threshold, p.join_threshold
                ),
            );
        }
        if p.heroes == 0 {
            return bad("heroes", "must be at least 1".into());
        }
        Ok(p)
    }
}

impl CheckedStreamParams {
    /// The clustering parameters as (name, value) pairs: the ones a store
    /// records and refuses to change.
    pub(crate) fn clustering(&self) -> [(&'static str, String); 7] {
        [
            ("join_threshold", self.join_threshold.to_string()),
            ("found_threshold", self.found_threshold.to_string()),
            ("min_founders", self.min_founders.to_string()),
            ("merge_threshold", self.merge_threshold.to_string()),
            ("split_spread", self.split_spread.to_string()),
            ("min_split_size", self.min_split_size.to_string()),
            ("pending_capacity", self.pending_capacity.to_string()),
        ]
    }
}

impl From<CheckedStreamParams> for StreamParams {
    /// Starts a builder from checked parameters (e.g. a store's).
    fn from(p: CheckedStreamParams) -> Self {
        StreamParams(p)
    }
}
