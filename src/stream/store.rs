//! [`ClusterStore`]: the thread-safe, durable store of per-group clusters.

use std::collections::BTreeMap;
use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard, RwLock};

use serde::{Deserialize, Serialize};

use super::group::{Group, Place};
use super::heroes::{self, HeroWeights};
use super::log::{self, LogWriter, Op, Recovery};
use super::{CheckedStreamParams, StreamError};

/// One group's state in [`ClusterStore::state_digest`]: its name, its
/// clusters (id, member ids) and its pending item ids.
pub type GroupDigest = (String, Vec<(u64, Vec<String>)>, Vec<String>);

/// The store format version this library writes and reads.
pub const FORMAT_VERSION: u32 = 1;

const META: &str = "meta.json";
const LOG: &str = "log.bin";

/// The store's `meta.json`.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Meta {
    format_version: u32,
    embedding_model: String,
    dim: usize,
    params: CheckedStreamParams,
}

/// The result of an insert.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Insertion {
    /// The item's cluster, or `None` while it waits in the pending pool.
    pub cluster: Option<u64>,
    /// Whether this insert founded a new cluster.
    pub new_cluster: bool,
}

/// One item of [`ClusterStore::insert_batch`].
#[derive(Debug, Clone, PartialEq)]
pub struct BatchItem {
    /// The item id (unique within its group).
    pub id: String,
    /// Its embedding (any norm; normalised and rounded to float16).
    pub embedding: Vec<f32>,
    /// The app's quality score, if any.
    pub quality: Option<f32>,
    /// Its timestamp (finite).
    pub timestamp: f64,
}

/// The result of [`ClusterStore::insert_batch`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BatchInsertion {
    /// One per item, in order: its cluster after the whole batch (`None`
    /// while pending) and whether its own insert founded a cluster.
    pub assignments: Vec<Insertion>,
    /// Items newly stored (the others were already there: idempotent retries).
    pub added: usize,
}

/// A cluster, as reported by [`ClusterStore::clusters`].
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ClusterInfo {
    /// Stable id within the group.
    pub id: u64,
    /// Number of members.
    pub size: usize,
    /// Unit-norm centre.
    pub centroid: Vec<f32>,
    /// Mean cosine of the members to the centre (1 = tight).
    pub spread: f32,
    /// Hero item ids, best first.
    pub heroes: Vec<String>,
    /// Earliest member timestamp.
    pub first_seen: f64,
    /// Latest member timestamp.
    pub last_seen: f64,
}

/// A hero item.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Hero {
    /// The item id.
    pub item_id: String,
    /// Its hero score.
    pub score: f32,
}

/// Counts over the whole store.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StoreStats {
    /// Groups.
    pub groups: usize,
    /// Items (clustered and pending).
    pub items: usize,
    /// Clusters.
    pub clusters: usize,
    /// Items in pending pools.
    pub pending: usize,
    /// Bytes of the log (0 in memory).
    pub log_bytes: u64,
    /// What the last open recovered.
    pub records_replayed: u64,
    /// Bytes of a torn or corrupted tail dropped at open.
    pub dropped_bytes: u64,
}

/// Per-group clusters that update as items arrive, durable on disk.
///
/// `Send + Sync`: groups are locked separately, so inserts into different
/// groups run in parallel; the log append is serialised. Every acknowledged
/// insert or remove is in the log before the call returns.
///
/// ```
/// use aurora_router::stream::{ClusterStore, StreamParams};
///
/// let dir = tempfile::tempdir().unwrap();
/// let params = StreamParams::new().min_founders(1).check().unwrap();
/// let store = ClusterStore::open(dir.path(), "toy", 3, params.clone()).unwrap();
/// let r = store.insert("rex", "p1", &[1.0, 0.0, 0.0], Some(0.9), 10.0).unwrap();
/// assert!(r.new_cluster);
/// let r2 = store.insert("rex", "p2", &[0.9, 0.1, 0.0], None, 11.0).unwrap();
/// assert_eq!(r2.cluster, r.cluster);
/// drop(store);
/// let store = ClusterStore::open(dir.path(), "toy", 3, params).unwrap();
/// assert_eq!(store.clusters("rex").unwrap()[0].size, 2);
/// ```
#[derive(Debug)]
pub struct ClusterStore {
    dir: Option<PathBuf>,
    model: String,
    dim: usize,
    params: CheckedStreamParams,
    heroes: HeroWeights,
    groups: RwLock<BTreeMap<String, Arc<Mutex<Group>>>>,
    log: Option<Mutex<LogWriter>>,
    recovery: Recovery,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl ClusterStore {
    /// Opens (or creates) the store in `dir` for vectors of `embedding_model`
    /// with `dim` components. An existing store must have been created for
    /// the same model, dimension and clustering parameters; hero weights and
    /// durability may change between opens. A torn log tail is dropped with
    /// a warning on stderr (see [`stats`](Self::stats)).
    pub fn open(
        dir: impl AsRef<Path>,
        embedding_model: &str,
        dim: usize,
        params: CheckedStreamParams,
    ) -> Result<Self, StreamError> {
        Self::open_inner(dir.as_ref(), Some((embedding_model, dim)), Some(params))
    }

    /// Opens an existing store with the model, dimension and parameters it
    /// records.
    pub fn open_existing(dir: impl AsRef<Path>) -> Result<Self, StreamError> {
        Self::open_inner(dir.as_ref(), None, None)
    }

    /// Reads a store's recorded embedding model and dimension.
    pub fn read_model(dir: impl AsRef<Path>) -> Result<(String, usize), StreamError> {
        let m = read_meta(&dir.as_ref().join(META))?;
        Ok((m.embedding_model, m.dim))
    }

    /// Reads a store's recorded parameters (from its metadata, without
    /// replaying the log).
    pub fn read_params(dir: impl AsRef<Path>) -> Result<CheckedStreamParams, StreamError> {
        Ok(read_meta(&dir.as_ref().join(META))?.params)
    }

    /// A store that lives only in memory (no durability).
    pub fn in_memory(
        embedding_model: &str,
        dim: usize,
        params: CheckedStreamParams,
    ) -> Result<Self, StreamError> {
        if dim == 0 {
            return Err(StreamError::InvalidParam {
                name: "dim",
                reason: "must be at least 1".into(),
            });
        }
        Ok(ClusterStore {
            dir: None,
            model: embedding_model.to_string(),
            dim,
            heroes: HeroWeights::from(&params),
            params,
            groups: RwLock::default(),
            log: None,
            recovery: Recovery::default(),
        })
    }

    fn open_inner(
        dir: &Path,
        spec: Option<(&str, usize)>,
        params: Option<CheckedStreamParams>,
    ) -> Result<Self, StreamError> {
        let meta_path = dir.join(META);
        let meta = if meta_path.exists() {
            let m = read_meta(&meta_path)?;
            if let Some((model, dim)) = spec {
                if model != m.embedding_model || dim != m.dim {
                    return Err(StreamError::ModelMismatch {
                        store_model: m.embedding_model,
                        store_dim: m.dim,
                        got_model: model.into(),
                        got_dim: dim,
                    });
                }
            }
            if let Some(p) = &params {
                for ((name, stored), (_, given)) in
                    m.params.clustering().into_iter().zip(p.clustering())
                {
                    if stored != given {
                        return Err(StreamError::ParamsMismatch {
                            name,
                            stored,
                            given,
                        });
                    }
                }
            }
            Meta {
                params: params.unwrap_or(m.params),
                ..m
            }
        } else {
            let (Some((model, dim)), Some(params)) = (spec, params) else {
                return Err(StreamError::io(
                    &meta_path,
                    std::io::Error::new(std::io::ErrorKind::NotFound, "no store here"),
                ));
            };
            if dim == 0 {
                return Err(StreamError::InvalidParam {
                    name: "dim",
                    reason: "must be at least 1".into(),
                });
            }
            fs::create_dir_all(dir).map_err(|e| StreamError::io(dir, e))?;
            let m = Meta {
                format_version: FORMAT_VERSION,
                embedding_model: model.into(),
                dim,
                params,
            };
            write_meta(dir, &m)?;
            m
        };
        let mut store = Self::in_memory(&meta.embedding_model, meta.dim, meta.params)?;
        store.dir = Some(dir.to_path_buf());
        let log_path = dir.join(LOG);
        let (good, recovery) = if log_path.exists() {
            log::replay(&log_path, |op| store.apply(op).map_err(|e| e.to_string()))?
        } else {
            (0, Recovery::default())
        };
        if let Some(w) = &recovery.warning {
            eprintln!("warning: {w}");
        }
        store.log = Some(Mutex::new(LogWriter::open(
            &log_path,
            good,
            store.params.durability,
        )?));
        store.recovery = recovery;
        Ok(store)
    }

    /// Replays one logged operation (validated like a fresh one).
    fn apply(&self, op: Op) -> Result<(), StreamError> {
        match op {
            Op::Insert {
                group,
                id,
                timestamp,
                quality,
                vec,
            } => {
                // Validate as a fresh insert, but keep the logged float16
                // bits: normalising them again could round a component to
                // its neighbour, and the replayed store would then differ
                // from the one that wrote the log (and refuse an
                // idempotent retry of the same vector as a duplicate).
                let x = log::from_bits(&vec);
                self.prepare(&group, &id, &x, quality, timestamp)?;
                self.insert_bits(&group, &id, vec, quality, timestamp)
                    .map(|_| ())
            }
            Op::Remove { group, id } => self.remove(&group, &id),
        }
    }

    /// The embedding model the store holds vectors of.
    pub fn embedding_model(&self) -> &str {
        &self.model
    }

    /// The vectors' dimension.
    pub fn dim(&self) -> usize {
        self.dim
    }

    /// The parameters in force.
    pub fn params(&self) -> &CheckedStreamParams {
        &self.params
    }

    /// Refuses vectors from another embedding model or dimension.
    pub fn check_model(&self, model: &str, dim: usize) -> Result<(), StreamError> {
        if model != self.model || dim != self.dim {
            return Err(StreamError::ModelMismatch {
                store_model: self.model.clone(),
                store_dim: self.dim,
                got_model: model.into(),
                got_dim: dim,
            });
        }
        Ok(())
    }

    fn group(&self, group: &str) -> Result<Arc<Mutex<Group>>, StreamError> {
        let g = self.groups.read().unwrap_or_else(|e| e.into_inner());
        g.get(group)
            .cloned()
            .ok_or_else(|| StreamError::UnknownGroup {
                group: group.into(),
            })
    }

    fn group_or_create(&self, group: &str) -> Arc<Mutex<Group>> {
        if let Ok(g) = self.group(group) {
            return g;
        }
        let mut g = self.groups.write().unwrap_or_else(|e| e.into_inner());
        g.entry(group.to_string())
            .or_insert_with(|| Arc::new(Mutex::new(Group::new(self.dim))))
            .clone()
    }

    /// Inserts an item: it joins the most likely cluster of `group`, founds
    /// one with agreeing pending items, or waits in the pending pool
    /// (`cluster: None`). The vector is L2-normalised and rounded to
    /// float16. Re-inserting the same id with the same vector is a no-op
    /// that returns the item's current cluster (idempotent retries); with
    /// another vector it is [`StreamError::DuplicateItem`].
    pub fn insert(
        &self,
        group: &str,
        item_id: &str,
        embedding: &[f32],
        quality: Option<f32>,
        timestamp: f64,
    ) -> Result<Insertion, StreamError> {
        let bits = self.prepare(group, item_id, embedding, quality, timestamp)?;
        self.insert_bits(group, item_id, bits, quality, timestamp)
    }

    /// Inserts a validated item given as its unit vector's float16 bits.
    fn insert_bits(
        &self,
        group: &str,
        item_id: &str,
        bits: Vec<u16>,
        quality: Option<f32>,
        timestamp: f64,
    ) -> Result<Insertion, StreamError> {
        let x = log::from_bits(&bits);
        let g = self.group_or_create(group);
        let mut g = lock(&g);
        if let Some(&slot) = g.index.get(item_id) {
            let it = g.item(slot);
            if it.vec.iter().map(|v| v.to_bits()).eq(bits.iter().copied()) {
                return Ok(Insertion {
                    cluster: g.cluster_of(slot),
                    new_cluster: false,
                });
            }
            return Err(StreamError::DuplicateItem {
                group: group.into(),
                item: item_id.into(),
            });
        }
        if let Some(l) = &self.log {
            let rec = Op::Insert {
                group: group.into(),
                id: item_id.into(),
                timestamp,
                quality,
                vec: bits,
            }
            .encode();
            lock(l).append(&rec)?;
        }
        let placed = g.insert(&self.params, item_id.into(), x, quality, timestamp);
        Ok(Insertion {
            cluster: placed.cluster,
            new_cluster: placed.new_cluster,
        })
    }

    /// Validates one item and returns its unit vector as float16 bits.
    fn prepare(
        &self,
        group: &str,
        item_id: &str,
        embedding: &[f32],
        quality: Option<f32>,
        timestamp: f64,
    ) -> Result<Vec<u16>, StreamError> {
        let bad = |field: &'static str, reason: &str| StreamError::InvalidItem {
            group: group.into(),
            item: item_id.into(),
            field,
            reason: reason.into(),
        };
        if group.is_empty() {
            return Err(bad("group", "is empty"));
        }
        if item_id.is_empty() {
            return Err(bad("id", "is empty"));
        }
        if let Some(q) = quality {
            if !q.is_finite() {
                return Err(bad("quality", &format!("{q} is not finite")));
            }
        }
        if !timestamp.is_finite() {
            return Err(bad("timestamp", &format!("{timestamp} is not finite")));
        }
        if embedding.len() != self.dim {
            return Err(StreamError::Dimension {
                group: group.into(),
                item: item_id.into(),
                expected: self.dim,
                got: embedding.len(),
            });
        }
        let bad_vec = |reason: String| StreamError::InvalidEmbedding {
            group: group.into(),
            item: item_id.into(),
            reason,
        };
        if let Some(i) = embedding.iter().position(|v| !v.is_finite()) {
            return Err(bad_vec(format!("component {i} is {}", embedding[i])));
        }
        let norm = embedding
            .iter()
            .map(|v| f64::from(*v).powi(2))
            .sum::<f64>()
            .sqrt();
        if norm < 1e-12 {
            return Err(bad_vec("all zeros".into()));
        }
        let bits = log::to_bits(
            &embedding
                .iter()
                .map(|&v| (f64::from(v) / norm) as f32)
                .collect::<Vec<_>>(),
        );
        Ok(bits)
    }

    /// Inserts a batch of items into one group, all or nothing.
    ///
    /// Every item is validated first (as [`insert`](Self::insert) would);
    /// one bad item, or an id already in the group (or earlier in the batch)
    /// with another vector, fails the whole batch and changes nothing. Items
    /// already present with the same vector are idempotent no-ops. The new
    /// items' records are appended to the log in one write (one `fdatasync`
    /// with [`Durability::Fsync`](super::Durability::Fsync)) under the
    /// group's lock, then applied in order, so a batch is never interleaved
    /// with another insert into the same group. A failed write is rolled
    /// back. (A process killed *during* that write may leave a prefix of the
    /// batch in the log — never acknowledged, and complete records only.)
    ///
    /// Returns one [`Insertion`] per item, in order: its cluster *after the
    /// whole batch* (`None` while pending) and whether its own insert
    /// founded a cluster; and how many items were new.
    ///
    /// ```
    /// use aurora_router::stream::{BatchItem, ClusterStore, StreamParams};
    ///
    /// let params = StreamParams::new().min_founders(2).check().unwrap();
    /// let store = ClusterStore::in_memory("toy", 2, params).unwrap();
    /// let items = [
    ///     BatchItem { id: "a".into(), embedding: vec![1.0, 0.0], quality: None, timestamp: 1.0 },
    ///     BatchItem { id: "b".into(), embedding: vec![0.99, 0.1], quality: None, timestamp: 2.0 },
    /// ];
    /// let r = store.insert_batch("rex", &items).unwrap();
    /// assert_eq!(r.added, 2);
    /// let a = &r.assignments;
    /// assert_eq!(a[0].cluster, a[1].cluster); // both in the cluster b founded
    /// assert!(a[1].new_cluster);
    /// assert_eq!(store.insert_batch("rex", &items).unwrap().added, 0); // a retry
    /// // A bad item fails the batch: nothing of it is applied.
    /// let bad = [
    ///     BatchItem { id: "c".into(), embedding: vec![1.0, 0.0], quality: None, timestamp: 3.0 },
    ///     BatchItem { id: "d".into(), embedding: vec![f32::NAN, 0.0], quality: None, timestamp: 4.0 },
    /// ];
    /// assert!(store.insert_batch("rex", &bad).is_err());
    /// assert_eq!(store.stats().items, 2);
    /// ```
    pub fn insert_batch(
        &self,
        group: &str,
        items: &[BatchItem],
    ) -> Result<BatchInsertion, StreamError> {
        let mut prepared = Vec::with_capacity(items.len());
        let mut seen: std::collections::HashMap<&str, usize> = std::collections::HashMap::new();
        // `Some(i)`: a repeat of the batch's item i (same vector).
        let mut repeat_of: Vec<Option<usize>> = Vec::with_capacity(items.len());
        for (i, it) in items.iter().enumerate() {
            let bits = self.prepare(group, &it.id, &it.embedding, it.quality, it.timestamp)?;
            match seen.get(it.id.as_str()) {
                Some(&j) if prepared[j] == bits => repeat_of.push(Some(j)),
                Some(_) => {
                    return Err(StreamError::DuplicateItem {
                        group: group.into(),
                        item: it.id.clone(),
                    })
                }
                None => {
                    seen.insert(&it.id, i);
                    repeat_of.push(None);
                }
            }
            prepared.push(bits);
        }
        if items.is_empty() {
            return Ok(BatchInsertion {
                assignments: Vec::new(),
                added: 0,
            });
        }
        let g = self.group_or_create(group);
        let mut g = lock(&g);
        // Which items are new (not already in the group with the same vector).
        let mut fresh = vec![false; items.len()];
        for (i, it) in items.iter().enumerate() {
            if repeat_of[i].is_some() {
                continue;
            }
            match g.index.get(it.id.as_str()) {
                Some(&slot) => {
                    let same = g
                        .item(slot)
                        .vec
                        .iter()
                        .map(|v| v.to_bits())
                        .eq(prepared[i].iter().copied());
                    if !same {
                        return Err(StreamError::DuplicateItem {
                            group: group.into(),
                            item: it.id.clone(),
                        });
                    }
                }
                None => fresh[i] = true,
            }
        }
        if let Some(l) = &self.log {
            let mut rec = Vec::new();
            for (i, it) in items.iter().enumerate().filter(|(i, _)| fresh[*i]) {
                rec.extend(
                    Op::Insert {
                        group: group.into(),
                        id: it.id.clone(),
                        timestamp: it.timestamp,
                        quality: it.quality,
                        vec: prepared[i].clone(),
                    }
                    .encode(),
                );
            }
            if !rec.is_empty() {
                lock(l).append(&rec)?;
            }
        }
        let mut founded = vec![false; items.len()];
        for (i, it) in items.iter().enumerate() {
            if fresh[i] {
                let x = log::from_bits(&prepared[i]);
                founded[i] = g
                    .insert(&self.params, it.id.clone(), x, it.quality, it.timestamp)
                    .new_cluster;
            }
        }
        let assignments = items
            .iter()
            .zip(founded)
            .map(|(it, new_cluster)| Insertion {
                cluster: g.index.get(it.id.as_str()).and_then(|&s| g.cluster_of(s)),
                new_cluster,
            })
            .collect();
        Ok(BatchInsertion {
            assignments,
            added: fresh.iter().filter(|&&f| f).count(),
        })
    }

    /// Removes an item from its group (its cluster's statistics shrink; an
    /// emptied cluster disappears).
    pub fn remove(&self, group: &str, item_id: &str) -> Result<(), StreamError> {
        let unknown = || StreamError::UnknownItem {
            group: group.into(),
            item: item_id.into(),
        };
        let g = self.group(group).map_err(|_| unknown())?;
        let mut g = lock(&g);
        if !g.index.contains_key(item_id) {
            return Err(unknown());
        }
        if let Some(l) = &self.log {
            let rec = Op::Remove {
                group: group.into(),
                id: item_id.into(),
            }
            .encode();
            lock(l).append(&rec)?;
        }
        g.remove(item_id);
        Ok(())
    }

    /// The groups, sorted.
    pub fn groups(&self) -> Vec<String> {
        let g = self.groups.read().unwrap_or_else(|e| e.into_inner());
        g.keys().cloned().collect()
    }

    /// The clusters of a group, by id, each with its heroes.
    pub fn clusters(&self, group: &str) -> Result<Vec<ClusterInfo>, StreamError> {
        let g = self.group(group)?;
        let mut g = lock(&g);
        let w = self.heroes;
        (0..g.clusters.len())
            .map(|pos| {
                let heroes = g.heroes(pos, w.n, &w);
                let g = &*g;
                let c = &g.clusters[pos];
                let ts = c.members.iter().map(|&m| g.item(m).timestamp);
                Ok(ClusterInfo {
                    id: c.id,
                    size: c.count(),
                    centroid: c.centre.clone(),
                    spread: c.spread(),
                    heroes: heroes.iter().map(|&h| g.item(h).id.clone()).collect(),
                    first_seen: ts.clone().fold(f64::INFINITY, f64::min),
                    last_seen: ts.fold(f64::NEG_INFINITY, f64::max),
                })
            })
            .collect()
    }

    /// The `n` best items of a cluster, best first.
    pub fn heroes(&self, group: &str, cluster: u64, n: usize) -> Result<Vec<Hero>, StreamError> {
        let g = self.group(group)?;
        let mut g = lock(&g);
        let pos = g
            .cluster_pos(cluster)
            .ok_or_else(|| StreamError::UnknownCluster {
                group: group.into(),
                cluster,
            })?;
        let w = self.heroes;
        let top = g.heroes(pos, n, &w);
        let last = heroes::last_seen(&g, pos);
        Ok(top
            .into_iter()
            .map(|s| Hero {
                item_id: g.item(s).id.clone(),
                score: heroes::score(&g, pos, s, last, &w),
            })
            .collect())
    }

    /// Where an item is: `Some(cluster)`, or `None` while pending.
    pub fn assignment(&self, group: &str, item_id: &str) -> Result<Option<u64>, StreamError> {
        let unknown = || StreamError::UnknownItem {
            group: group.into(),
            item: item_id.into(),
        };
        let g = self.group(group).map_err(|_| unknown())?;
        let g = lock(&g);
        let slot = *g.index.get(item_id).ok_or_else(unknown)?;
        Ok(match g.item(slot).place {
            Place::Pending => None,
            Place::Cluster(c) => Some(c),
        })
    }

    /// The ids of a group's pending items, oldest first.
    pub fn pending(&self, group: &str) -> Result<Vec<String>, StreamError> {
        let g = self.group(group)?;
        let g = lock(&g);
        Ok(g.pending
            .iter()
            .map(|(s, _)| g.item(*s).id.clone())
            .collect())
    }

    /// Counts over the store.
    pub fn stats(&self) -> StoreStats {
        let groups = self.groups.read().unwrap_or_else(|e| e.into_inner());
        let mut s = StoreStats {
            groups: groups.len(),
            items: 0,
            clusters: 0,
            pending: 0,
            log_bytes: self.log.as_ref().map_or(0, |l| lock(l).len()),
            records_replayed: self.recovery.records,
            dropped_bytes: self.recovery.dropped_bytes,
        };
        for g in groups.values() {
            let g = lock(g);
            s.items += g.len();
            s.clusters += g.clusters.len();
            s.pending += g.pending.len();
        }
        s
    }

    /// A canonical dump of the clustering state (for tests comparing a
    /// reopened store with a replay): per group, each cluster's id and
    /// member ids, then the pending ids.
    pub fn state_digest(&self) -> Vec<GroupDigest> {
        let groups = self.groups.read().unwrap_or_else(|e| e.into_inner());
        groups
            .iter()
            .map(|(name, g)| {
                let g = lock(g);
                let cl = g
                    .clusters
                    .iter()
                    .map(|c| {
                        (
                            c.id,
                            c.members.iter().map(|&m| g.item(m).id.clone()).collect(),
                        )
                    })
                    .collect();
                let pend = g
                    .pending
                    .iter()
                    .map(|(s, _)| g.item(*s).id.clone())
                    .collect();
                (name.clone(), cl, pend)
            })
            .collect()
    }

    /// Forces the log to disk (`fdatasync`): with [`Durability::Flush`](super::Durability::Flush)
    /// the acknowledged records then survive a power loss too. A no-op in
    /// memory. `aurora serve` calls it at shutdown.
    pub fn sync(&self) -> Result<(), StreamError> {
        match &self.log {
            Some(l) => lock(l).sync(),
            None => Ok(()),
        }
    }

    /// The store's directory (`None` in memory).
    pub fn dir(&self) -> Option<&Path> {
        self.dir.as_deref()
    }

    #[cfg(test)]
    pub(crate) fn fail_next_write(&self, os_error: i32) {
        if let Some(l) = &self.log {
            lock(l).fail_next = Some(os_error);
        }
    }
}

fn read_meta(path: &Path) -> Result<Meta, StreamError> {
    let bytes = fs::read(path).map_err(|e| StreamError::io(path, e))?;
    let corrupt = |reason: String| StreamError::CorruptMeta {
        path: path.into(),
        reason,
    };
    let v: serde_json::Value =
        serde_json::from_slice(&bytes).map_err(|e| corrupt(e.to_string()))?;
    let version = v
        .get("format_version")
        .and_then(|v| v.as_u64())
        .ok_or_else(|| corrupt("no `format_version`".into()))?;
    if version > u64::from(FORMAT_VERSION) {
        return Err(StreamError::NewerFormat {
            path: path.into(),
            found: version.min(u64::from(u32::MAX)) as u32,
            supported: FORMAT_VERSION,
        });
    }
    let m: Meta = serde_json::from_value(v).map_err(|e| corrupt(e.to_string()))?;
    if m.dim == 0 {
        return Err(corrupt("`dim` is 0".into()));
    }
    Ok(m)
}

/// Writes `meta.json` atomically: temp file, fsync, rename, fsync the directory.
fn write_meta(dir: &Path, m: &Meta) -> Result<(), StreamError> {
    let tmp = dir.join("meta.json.tmp");
    let json = serde_json::to_vec_pretty(m).expect("meta serialises");
    let mut f = fs::File::create(&tmp).map_err(|e| StreamError::io(dir, e))?;
    f.write_all(&json).map_err(|e| StreamError::io(&tmp, e))?;
    f.sync_all().map_err(|e| StreamError::io(&tmp, e))?;
    fs::rename(&tmp, dir.join(META)).map_err(|e| StreamError::io(dir, e))?;
    if let Ok(d) = fs::File::open(dir) {
        let _ = d.sync_all();
    }
    Ok(())
}
