//! Soft assignment: the `top_k` nearest clusters and their mix.

use super::centroids::Sink;
use super::MAX_SOFT_TOP_K;

/// The `cap` most similar clusters as `(similarity, cluster)`, most similar
/// first (the earlier cluster first among equals), on the stack.
///
/// ```
/// use aurora_router::routing::TopK;
/// let mut t = TopK::new(2);
/// for (c, s) in [0.1f32, 0.9, 0.5, 0.9].into_iter().enumerate() {
///     t.insert(s, c);
/// }
/// assert_eq!(t.as_slice(), &[(0.9, 1), (0.9, 3)]);
/// ```
#[derive(Debug, Clone)]
pub struct TopK {
    buf: [(f32, u32); MAX_SOFT_TOP_K],
    len: usize,
    cap: usize,
}

impl TopK {
    /// An empty buffer keeping `cap` clusters (clamped to 1 ..= [`MAX_SOFT_TOP_K`]).
    pub fn new(cap: usize) -> Self {
        TopK {
            buf: [(0.0, 0); MAX_SOFT_TOP_K],
            len: 0,
            cap: cap.clamp(1, MAX_SOFT_TOP_K),
        }
    }

    /// Offers cluster `c` with similarity `s` (`c` must fit in `u32`).
    #[inline]
    pub fn insert(&mut self, s: f32, c: usize) {
        if self.len == self.cap {
            if s <= self.buf[self.len - 1].0 {
                return;
            }
            self.len -= 1;
        }
        let mut i = self.len;
        while i > 0 && self.buf[i - 1].0 < s {
            self.buf[i] = self.buf[i - 1];
            i -= 1;
        }
        // Profiles hold at most 16 Mi values, so `c` fits in u32.
        self.buf[i] = (s, c as u32);
        self.len += 1;
    }

    /// The clusters kept, most similar first.
    pub fn as_slice(&self) -> &[(f32, u32)] {
        &self.buf[..self.len]
    }

    /// Number of clusters kept.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether no cluster was kept.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }
}

impl Sink for TopK {
    #[inline]
    fn push(&mut self, s: f32, c: usize) {
        self.insert(s, c);
    }
}

/// Soft assignment's expected errors: the mean of the clusters' error rows
/// weighted by `exp((s − s_max) · inv_t)`, clamped to `[0, 1]`, written to
/// `out` (one per model). `top` is most similar first and not empty;
/// `row(c)` is cluster `c`'s error row (at least `out.len()` long).
///
/// ```
/// use aurora_router::routing::mix;
/// let rows = [[0.2, 0.4], [0.6, 0.0]];
/// let mut out = [0.0; 2];
/// mix(&[(0.9, 0), (0.9, 1)], 20.0, |c| &rows[c][..], &mut out);
/// assert!((out[0] - 0.4).abs() < 1e-12 && (out[1] - 0.2).abs() < 1e-12);
/// ```
pub fn mix<'a>(top: &[(f32, u32)], inv_t: f32, row: impl Fn(usize) -> &'a [f64], out: &mut [f64]) {
    out.iter_mut().for_each(|o| *o = 0.0);
    let Some(&(s_max, _)) = top.first() else {
        return;
    };
    let mut wsum = 0.0f64;
    for &(s, c) in top {
        let w = f64::from((s - s_max) * inv_t).exp();
        wsum += w;
        for (o, &e) in out.iter_mut().zip(row(c as usize)) {
            *o += w * e;
        }
    }
    // wsum ≥ 1: the nearest cluster has weight exp(0).
    for o in out.iter_mut() {
        *o = (*o / wsum).clamp(0.0, 1.0);
    }
}
