//! One group's clusters, pending pool and items, and the update rules:
//! assignment, founding, merge and split. Pure and deterministic: the same
//! sequence of operations gives the same state.

use std::collections::{HashMap, VecDeque};

use half::f16;

use super::heroes::{self, HeroWeights};
use super::stats::{dot, ClusterStats};
use super::CheckedStreamParams;

/// An item's place in its group.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Place {
    Pending,
    Cluster(u64),
}

/// A stored item.
#[derive(Debug, Clone)]
pub(crate) struct Item {
    pub id: String,
    pub vec: Box<[f16]>,
    pub quality: Option<f32>,
    pub timestamp: f64,
    pub place: Place,
}

impl Item {
    pub fn vector(&self) -> Vec<f32> {
        self.vec.iter().map(|v| v.to_f32()).collect()
    }
}

/// What an insert did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Placed {
    pub cluster: Option<u64>,
    pub new_cluster: bool,
}

/// One group.
#[derive(Debug, Default)]
pub(crate) struct Group {
    pub items: Vec<Option<Item>>,
    free: Vec<u32>,
    pub index: HashMap<String, u32>,
    /// Sorted by id.
    pub clusters: Vec<ClusterStats>,
    /// Pending slots in arrival order, with their vectors as f32.
    pub pending: VecDeque<(u32, Vec<f32>)>,
    next_id: u64,
    dim: usize,
}

impl Group {
    pub fn new(dim: usize) -> Self {
        Group {
            dim,
            ..Default::default()
        }
    }

    pub fn item(&self, slot: u32) -> &Item {
        self.items[slot as usize].as_ref().expect("live slot")
    }

    fn item_mut(&mut self, slot: u32) -> &mut Item {
        self.items[slot as usize].as_mut().expect("live slot")
    }

    pub fn cluster_pos(&self, id: u64) -> Option<usize> {
        self.clusters.binary_search_by_key(&id, |c| c.id).ok()
    }

    pub fn len(&self) -> usize {
        self.index.len()
    }

    /// Inserts an item whose vector is unit-norm and float16-exact.
    pub fn insert(
        &mut self,
        p: &CheckedStreamParams,
        id: String,
        x: Vec<f32>,
        quality: Option<f32>,
        timestamp: f64,
    ) -> Placed {
        let item = Item {
            id: id.clone(),
            vec: x.iter().map(|&v| f16::from_f32(v)).collect(),
            quality,
            timestamp,
            place: Place::Pending,
        };
        let slot = match self.free.pop() {
            Some(s) => {
                self.items[s as usize] = Some(item);
                s
            }
            None => {
                self.items.push(Some(item));
                (self.items.len() - 1) as u32
            }
        };
        self.index.insert(id, slot);

        if let Some((pos, cos)) = self.nearest(&x) {
            if cos >= p.join_threshold {
                self.add_to(pos, slot, &x);
                let pos = self.after_growth(p, pos);
                let _ = pos;
                return Placed {
                    cluster: self.cluster_of(slot),
                    new_cluster: false,
                };
            }
        }
        // Fits no cluster: wait in the pending pool until enough agree.
        let agree: Vec<usize> = self
            .pending
            .iter()
            .enumerate()
            .filter(|(_, (_, v))| dot(v, &x) >= p.found_threshold)
            .map(|(i, _)| i)
            .collect();
        if agree.len() + 1 >= p.min_founders {
            let mut founders = Vec::with_capacity(agree.len() + 1);
            for &i in agree.iter().rev() {
                founders.push(self.pending.remove(i).expect("index in range"));
            }
            founders.reverse();
            founders.push((slot, x));
            let pos = self.found(founders);
            let pos = self.absorb_pending(p, pos);
            self.after_growth(p, pos);
            return Placed {
                cluster: self.cluster_of(slot),
                new_cluster: true,
            };
        }
        self.pending.push_back((slot, x));
        let mut new_cluster = false;
        while self.pending.len() > p.pending_capacity {
            let (old, v) = self.pending.pop_front().expect("non-empty");
            new_cluster |= self.force_place(p, old, v);
        }
        Placed {
            cluster: self.cluster_of(slot),
            new_cluster: new_cluster && self.cluster_of(slot).is_some(),
        }
    }

    /// Removes an item; returns false when it is unknown.
    pub fn remove(&mut self, id: &str) -> bool {
        let Some(slot) = self.index.remove(id) else {
            return false;
        };
        let item = self.items[slot as usize].take().expect("live slot");
        match item.place {
            Place::Pending => self.pending.retain(|(s, _)| *s != slot),
            Place::Cluster(cid) => {
                let pos = self.cluster_pos(cid).expect("cluster of a live item");
                let x = item.vector();
                self.clusters[pos].remove(slot, &x);
                if self.clusters[pos].count() == 0 {
                    self.clusters.remove(pos);
                }
            }
        }
        self.free.push(slot);
        true
    }

    pub fn cluster_of(&self, slot: u32) -> Option<u64> {
        match self.item(slot).place {
            Place::Pending => None,
            Place::Cluster(c) => Some(c),
        }
    }

    /// The nearest cluster (position, cosine); ties go to the lower id.
    fn nearest(&self, x: &[f32]) -> Option<(usize, f32)> {
        let mut best: Option<(usize, f32)> = None;
        for (i, c) in self.clusters.iter().enumerate() {
            let cos = c.cosine(x);
            if best.is_none_or(|(_, b)| cos > b) {
                best = Some((i, cos));
            }
        }
        best
    }

    fn add_to(&mut self, pos: usize, slot: u32, x: &[f32]) {
        let id = self.clusters[pos].id;
        self.clusters[pos].add(slot, x);
        self.item_mut(slot).place = Place::Cluster(id);
    }

    /// Founds a cluster from pending items; returns its position.
    fn found(&mut self, members: Vec<(u32, Vec<f32>)>) -> usize {
        let id = self.next_id;
        self.next_id += 1;
        self.clusters.push(ClusterStats::new(id, self.dim));
        let pos = self.clusters.len() - 1;
        for (slot, x) in members {
            self.add_to(pos, slot, &x);
        }
        pos
    }

    /// Pending items that now fit the cluster at `pos` join it.
    fn absorb_pending(&mut self, p: &CheckedStreamParams, pos: usize) -> usize {
        let mut i = 0;
        while i < self.pending.len() {
            if self.clusters[pos].cosine(&self.pending[i].1) >= p.join_threshold {
                let (slot, x) = self.pending.remove(i).expect("index in range");
                self.add_to(pos, slot, &x);
            } else {
                i += 1;
            }
        }
        pos
    }

    /// An item evicted from a full pending pool joins its nearest cluster,
    /// or founds one. Returns whether it founded one.
    fn force_place(&mut self, p: &CheckedStreamParams, slot: u32, x: Vec<f32>) -> bool {
        match self.nearest(&x) {
            Some((pos, _)) => {
                self.add_to(pos, slot, &x);
                self.after_growth(p, pos);
                false
            }
            None => {
                self.found(vec![(slot, x)]);
                true
            }
        }
    }

    /// Merges converged centres and splits an over-dispersed cluster after
    /// the cluster at `pos` grew. Returns the grown cluster's position.
    fn after_growth(&mut self, p: &CheckedStreamParams, mut pos: usize) -> usize {
        // Merge while some centre is within merge_threshold of this one.
        loop {
            let me = &self.clusters[pos];
            let mut best: Option<(usize, f32)> = None;
            for (i, c) in self.clusters.iter().enumerate() {
                if i == pos {
                    continue;
                }
                let cos = dot(&me.centre, &c.centre);
                if cos >= p.merge_threshold && best.is_none_or(|(_, b)| cos > b) {
                    best = Some((i, cos));
                }
            }
            let Some((other, _)) = best else { break };
            pos = self.merge(pos, other);
        }
        let c = &self.clusters[pos];
        let n = c.count();
        if n >= p.min_split_size && n % 8 == 0 && c.spread() < p.split_spread {
            self.try_split(p, pos);
            // The grown cluster keeps its id (the larger half).
            return pos;
        }
        pos
    }

    /// Merges two clusters; the larger one (the older on a tie) keeps its id.
    fn merge(&mut self, a: usize, b: usize) -> usize {
        let (ca, cb) = (&self.clusters[a], &self.clusters[b]);
        let keep_a =
            (ca.count(), std::cmp::Reverse(ca.id)) >= (cb.count(), std::cmp::Reverse(cb.id));
        let (keep, gone) = if keep_a { (a, b) } else { (b, a) };
        let gone_c = self.clusters.remove(gone);
        let keep = if gone < keep { keep - 1 } else { keep };
        let id = self.clusters[keep].id;
        for &m in &gone_c.members {
            self.item_mut(m).place = Place::Cluster(id);
        }
        self.clusters[keep].absorb(gone_c);
        keep
    }

    /// Splits the cluster at `pos` in two with spherical 2-means over its
    /// own members, if both halves are substantial and distinct.
    fn try_split(&mut self, p: &CheckedStreamParams, pos: usize) {
        let c = &self.clusters[pos];
        let members = c.members.clone();
        let xs: Vec<Vec<f32>> = members.iter().map(|&m| self.item(m).vector()).collect();
        // Seeds: the member farthest from the centre, then the farthest from it.
        let far = argmin(xs.iter().map(|x| c.cosine(x)));
        let far2 = argmin(xs.iter().map(|x| dot(x, &xs[far])));
        let mut centres = [xs[far].clone(), xs[far2].clone()];
        let mut side = vec![false; xs.len()];
        for _ in 0..10 {
            for (s, x) in side.iter_mut().zip(&xs) {
                *s = dot(x, &centres[1]) > dot(x, &centres[0]);
            }
            for (k, centre) in centres.iter_mut().enumerate() {
                let mut sum = vec![0.0f32; self.dim];
                for (x, _) in xs.iter().zip(&side).filter(|(_, s)| **s == (k == 1)) {
                    sum.iter_mut().zip(x).for_each(|(a, b)| *a += b);
                }
                let norm = dot(&sum, &sum).sqrt();
                if norm > 0.0 {
                    sum.iter_mut().for_each(|v| *v /= norm);
                    *centre = sum;
                }
            }
        }
        let n1 = side.iter().filter(|s| **s).count();
        let n0 = side.len() - n1;
        if n0.min(n1) * 4 < members.len() || dot(&centres[0], &centres[1]) >= p.merge_threshold {
            return;
        }
        // The smaller half leaves under a new id.
        let leave_side = n1 <= n0;
        let id = self.next_id;
        self.next_id += 1;
        let mut fresh = ClusterStats::new(id, self.dim);
        for ((&m, x), s) in members.iter().zip(&xs).zip(&side) {
            if *s == leave_side {
                self.clusters[pos].remove(m, x);
                fresh.add(m, x);
                self.item_mut(m).place = Place::Cluster(id);
            }
        }
        self.clusters.push(fresh);
    }

    /// The top `n` hero slots of the cluster at `pos` (cached for `n` up to
    /// the configured number of heroes).
    pub fn heroes(&mut self, pos: usize, n: usize, w: &HeroWeights) -> Vec<u32> {
        let cached = w.n;
        if n <= cached {
            if self.clusters[pos].heroes.is_none() {
                let top = heroes::select(self, pos, cached, w);
                self.clusters[pos].heroes = Some(top);
            }
            let h = self.clusters[pos].heroes.as_ref().expect("just filled");
            return h[..n.min(h.len())].to_vec();
        }
        heroes::select(self, pos, n, w)
    }
}

fn argmin(it: impl Iterator<Item = f32>) -> usize {
    let mut best = (0, f32::INFINITY);
    for (i, v) in it.enumerate() {
        if v < best.1 {
            best = (i, v);
        }
    }
    best.0
}
