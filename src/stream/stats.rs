//! A cluster's sufficient statistics: count, vector sum (float64, so adding
//! and removing the same float16-rounded vectors is exact) and, from them,
//! the centre and the spread.

/// One cluster of a group: its statistics and members.
#[derive(Debug, Clone)]
pub(crate) struct ClusterStats {
    /// Stable id within the group (never reused).
    pub id: u64,
    /// Sum of the members' unit vectors.
    pub sum: Vec<f64>,
    /// `sum / |sum|`, cached for the assignment scan.
    pub centre: Vec<f32>,
    /// `|sum|`.
    pub norm: f64,
    /// Item slots of the members, in arrival order.
    pub members: Vec<u32>,
    /// Cached hero slots (best first); `None` when the cluster changed.
    pub heroes: Option<Vec<u32>>,
}

impl ClusterStats {
    pub fn new(id: u64, dim: usize) -> Self {
        ClusterStats {
            id,
            sum: vec![0.0; dim],
            centre: vec![0.0; dim],
            norm: 0.0,
            members: Vec::new(),
            heroes: None,
        }
    }

    /// Number of members.
    pub fn count(&self) -> usize {
        self.members.len()
    }

    /// Mean cosine of the members to the centre (`|sum| / n`, the mean
    /// resultant length of a von Mises–Fisher fit): 1 is a point, 0 is spread
    /// all over the sphere.
    pub fn spread(&self) -> f32 {
        if self.members.is_empty() {
            0.0
        } else {
            (self.norm / self.members.len() as f64) as f32
        }
    }

    pub fn add(&mut self, slot: u32, x: &[f32]) {
        for (s, v) in self.sum.iter_mut().zip(x) {
            *s += f64::from(*v);
        }
        self.members.push(slot);
        self.refresh();
    }

    pub fn remove(&mut self, slot: u32, x: &[f32]) {
        for (s, v) in self.sum.iter_mut().zip(x) {
            *s -= f64::from(*v);
        }
        if let Some(pos) = self.members.iter().position(|&m| m == slot) {
            self.members.remove(pos);
        }
        self.refresh();
    }

    /// Absorbs `other`'s members (its statistics add up).
    pub fn absorb(&mut self, other: ClusterStats) {
        for (s, v) in self.sum.iter_mut().zip(&other.sum) {
            *s += v;
        }
        self.members.extend(other.members);
        self.refresh();
    }

    /// Recomputes the centre and norm from the sum; drops the hero cache.
    pub fn refresh(&mut self) {
        self.norm = self.sum.iter().map(|v| v * v).sum::<f64>().sqrt();
        let inv = if self.norm > 0.0 {
            1.0 / self.norm
        } else {
            0.0
        };
        for (c, s) in self.centre.iter_mut().zip(&self.sum) {
            *c = (s * inv) as f32;
        }
        self.heroes = None;
    }

    /// Cosine of a unit vector to the centre.
    pub fn cosine(&self, x: &[f32]) -> f32 {
        dot(&self.centre, x)
    }
}

/// Dot product.
pub(crate) fn dot(a: &[f32], b: &[f32]) -> f32 {
    let mut acc = [0.0f32; 8];
    let mut ca = a.chunks_exact(8);
    let mut cb = b.chunks_exact(8);
    for (x, y) in (&mut ca).zip(&mut cb) {
        for k in 0..8 {
            acc[k] += x[k] * y[k];
        }
    }
    let tail: f32 = ca
        .remainder()
        .iter()
        .zip(cb.remainder())
        .map(|(x, y)| x * y)
        .sum();
    acc.iter().sum::<f32>() + tail
}
