//! Swift / Kotlin API of the incremental cluster store: `ClusterStore`
//! (thread-safe) with `StreamError` / `StreamException`.
//!
//! ```kotlin
//! val store = ClusterStore.open(filesDir.path + "/pets", "clip-vit-b32", 512u, true)
//! val r = store.insert("rex", photoId, embedding, sharpness, takenAt)
//! store.clusters("rex").forEach { println("${it.id}: ${it.size} photos, heroes ${it.heroes}") }
//! ```

use std::sync::Arc;

use crate::stream::{self, Durability, StreamParams};

/// Errors of the store (`StreamError` in Swift, `StreamException` in Kotlin).
#[derive(Debug, thiserror::Error, uniffi::Error)]
pub enum StreamError {
    /// An embedding of the wrong dimension, NaN or all zeros, or from
    /// another embedding model.
    #[error("invalid embedding: {reason}")]
    InvalidEmbedding {
        /// What is wrong.
        reason: String,
    },
    /// A bad argument: empty id, NaN quality, a duplicate id with another
    /// vector, an unknown group, item or cluster.
    #[error("invalid argument: {reason}")]
    InvalidArgument {
        /// What is wrong.
        reason: String,
    },
    /// The store's files: I/O, a full disk, a read-only directory, a newer
    /// format version.
    #[error("storage: {reason}")]
    Storage {
        /// What went wrong.
        reason: String,
    },
}

impl From<stream::StreamError> for StreamError {
    fn from(e: stream::StreamError) -> Self {
        use stream::StreamError as E;
        let reason = e.to_string();
        match e {
            E::Dimension { .. } | E::InvalidEmbedding { .. } | E::ModelMismatch { .. } => {
                StreamError::InvalidEmbedding { reason }
            }
            E::Io { .. }
            | E::DiskFull { .. }
            | E::ReadOnly { .. }
            | E::NewerFormat { .. }
            | E::CorruptMeta { .. }
            | E::Poisoned => StreamError::Storage { reason },
            _ => StreamError::InvalidArgument { reason },
        }
    }
}

/// The result of an insert.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct StreamInsertion {
    /// The item's cluster; `null` while it waits in the pending pool.
    pub cluster: Option<u64>,
    /// Whether this insert founded a new cluster.
    pub new_cluster: bool,
}

/// A cluster descriptor.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct StreamCluster {
    /// Stable id within the group.
    pub id: u64,
    /// Members.
    pub size: u64,
    /// Unit-norm centre.
    pub centroid: Vec<f32>,
    /// Mean cosine of the members to the centre.
    pub spread: f32,
    /// Hero item ids, best first.
    pub heroes: Vec<String>,
    /// Earliest member timestamp.
    pub first_seen: f64,
    /// Latest member timestamp.
    pub last_seen: f64,
}

/// A hero item and its score.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct StreamHero {
    /// The item id.
    pub item_id: String,
    /// Its score.
    pub score: f32,
}

/// The durable per-group cluster store.
#[derive(Debug, uniffi::Object)]
pub struct ClusterStore {
    inner: stream::ClusterStore,
}

#[uniffi::export]
impl ClusterStore {
    /// Opens (or creates) the store in `dir` for `dim`-dimensional vectors of
    /// `embedding_model`, default parameters; `fsync` syncs every write.
    #[uniffi::constructor]
    pub fn open(
        dir: String,
        embedding_model: String,
        dim: u32,
        fsync: bool,
    ) -> Result<Arc<Self>, StreamError> {
        crate::ffi::fault::point();
        let durability = if fsync {
            Durability::Fsync
        } else {
            Durability::Flush
        };
        let p = StreamParams::new().durability(durability).check()?;
        Ok(Arc::new(ClusterStore {
            inner: stream::ClusterStore::open(dir, &embedding_model, dim as usize, p)?,
        }))
    }

    /// Inserts an item (idempotent for the same id and vector).
    pub fn insert(
        &self,
        group: String,
        item_id: String,
        embedding: Vec<f32>,
        quality: Option<f32>,
        timestamp: f64,
    ) -> Result<StreamInsertion, StreamError> {
        crate::ffi::fault::point();
        let r = self
            .inner
            .insert(&group, &item_id, &embedding, quality, timestamp)?;
        Ok(StreamInsertion {
            cluster: r.cluster,
            new_cluster: r.new_cluster,
        })
    }

    /// Removes an item.
    pub fn remove(&self, group: String, item_id: String) -> Result<(), StreamError> {
        crate::ffi::fault::point();
        Ok(self.inner.remove(&group, &item_id)?)
    }

    /// A group's clusters with their heroes.
    pub fn clusters(&self, group: String) -> Result<Vec<StreamCluster>, StreamError> {
        crate::ffi::fault::point();
        Ok(self
            .inner
            .clusters(&group)?
            .into_iter()
            .map(|c| StreamCluster {
                id: c.id,
                size: c.size as u64,
                centroid: c.centroid,
                spread: c.spread,
                heroes: c.heroes,
                first_seen: c.first_seen,
                last_seen: c.last_seen,
            })
            .collect())
    }

    /// The `n` best items of a cluster.
    pub fn heroes(
        &self,
        group: String,
        cluster: u64,
        n: u32,
    ) -> Result<Vec<StreamHero>, StreamError> {
        crate::ffi::fault::point();
        Ok(self
            .inner
            .heroes(&group, cluster, n as usize)?
            .into_iter()
            .map(|h| StreamHero {
                item_id: h.item_id,
                score: h.score,
            })
            .collect())
    }

    /// The groups, sorted.
    pub fn groups(&self) -> Vec<String> {
        crate::ffi::fault::point();
        self.inner.groups()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mobile_store_round_trip() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path().to_str().unwrap().to_string();
        let s = ClusterStore::open(d.clone(), "toy".into(), 2, false).unwrap();
        s.insert("rex".into(), "a".into(), vec![1.0, 0.0], Some(0.5), 1.0)
            .unwrap();
        let r = s
            .insert("rex".into(), "b".into(), vec![0.99, 0.1], None, 2.0)
            .unwrap();
        assert!(r.new_cluster);
        assert_eq!(s.clusters("rex".into()).unwrap()[0].size, 2);
        assert_eq!(
            s.heroes("rex".into(), r.cluster.unwrap(), 1).unwrap().len(),
            1
        );
        assert!(matches!(
            s.insert("rex".into(), "c".into(), vec![1.0], None, 0.0),
            Err(StreamError::InvalidEmbedding { .. })
        ));
        assert!(matches!(
            s.remove("rex".into(), "zz".into()),
            Err(StreamError::InvalidArgument { .. })
        ));
        assert!(matches!(
            ClusterStore::open(d, "other".into(), 2, false),
            Err(StreamError::InvalidEmbedding { .. })
        ));
    }
}
