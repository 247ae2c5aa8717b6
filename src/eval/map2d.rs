//! 2-D maps of unit embeddings for the report: PCA and UMAP, and the two
//! measures that say how faithful a map is (trustworthiness and k-NN
//! preservation).
//!
//! The UMAP is the cluster layer's ([`crate::cluster::umap`], umap-learn's
//! defaults) with 2 output dimensions, started from the PCA map below
//! (umap-learn's `init="pca"`). Seeded: the same input gives the same map.
//!
//! ```
//! use aurora_router::eval::{map_faithfulness, pca_map, umap_map};
//! // Two tight groups on the unit sphere.
//! let rows: Vec<Vec<f32>> = (0..40)
//!     .map(|i| {
//!         let t = (i % 20) as f32 * 0.01;
//!         if i < 20 { vec![1.0 - t, t, 0.0] } else { vec![0.0, t, 1.0 - t] }
//!     })
//!     .collect();
//! let u = umap_map(&rows, 7);
//! let (trust, _) = map_faithfulness(&rows, &u, 5);
//! assert!(trust > 0.8);
//! assert_eq!(pca_map(&rows).len(), 40);
//! ```

use rayon::prelude::*;

use crate::cluster::umap::{layout, select_nearest};

/// Neighbours of the UMAP graph.
const N_NEIGHBORS: usize = 15;

/// The first two principal axes of `rows` (centred), by power iteration on
/// the covariance; deterministic (fixed start, sign fixed so the largest
/// loading is positive).
pub fn pca_map(rows: &[Vec<f32>]) -> Vec<(f64, f64)> {
    let n = rows.len();
    if n == 0 {
        return Vec::new();
    }
    let d = rows[0].len();
    let mut mean = vec![0.0f64; d];
    for r in rows {
        for (m, v) in mean.iter_mut().zip(r) {
            *m += *v as f64;
        }
    }
    mean.iter_mut().for_each(|m| *m /= n as f64);
    let centred: Vec<Vec<f64>> = rows
        .iter()
        .map(|r| r.iter().zip(&mean).map(|(v, m)| *v as f64 - m).collect())
        .collect();
    let mut cov = vec![0.0f64; d * d];
    for r in &centred {
        for i in 0..d {
            let ri = r[i];
            if ri == 0.0 {
                continue;
            }
            let row = &mut cov[i * d..(i + 1) * d];
            for (c, rj) in row.iter_mut().zip(r) {
                *c += ri * rj;
            }
        }
    }
    let mut axes: Vec<Vec<f64>> = Vec::new();
    for a in 0..2 {
        let mut v: Vec<f64> = (0..d)
            .map(|i| 1.0 + ((i * 7 + a * 3) % 11) as f64 / 11.0)
            .collect();
        for _ in 0..500 {
            let mut w: Vec<f64> = (0..d)
                .map(|i| {
                    cov[i * d..(i + 1) * d]
                        .iter()
                        .zip(&v)
                        .map(|(c, x)| c * x)
                        .sum()
                })
                .collect();
            for prev in &axes {
                let dot: f64 = w.iter().zip(prev).map(|(x, y)| x * y).sum();
                w.iter_mut().zip(prev).for_each(|(x, y)| *x -= dot * y);
            }
            let norm = w.iter().map(|x| x * x).sum::<f64>().sqrt();
            if norm < 1e-300 {
                break;
            }
            w.iter_mut().for_each(|x| *x /= norm);
            let delta: f64 = w.iter().zip(&v).map(|(x, y)| (x - y).abs()).sum();
            v = w;
            if delta < 1e-10 {
                break;
            }
        }
        let big = v
            .iter()
            .copied()
            .fold(0.0f64, |acc, x| if x.abs() > acc.abs() { x } else { acc });
        if big < 0.0 {
            v.iter_mut().for_each(|x| *x = -*x);
        }
        axes.push(v);
    }
    centred
        .iter()
        .map(|r| {
            let p = |ax: &[f64]| r.iter().zip(ax).map(|(x, y)| x * y).sum::<f64>();
            (p(&axes[0]), p(&axes[1]))
        })
        .collect()
}

/// Cosine distance of two rows (`1 − cos`).
fn cos_dist(a: &[f32], b: &[f32]) -> f64 {
    let (mut dot, mut na, mut nb) = (0.0f64, 0.0f64, 0.0f64);
    for (x, y) in a.iter().zip(b) {
        dot += (*x as f64) * (*y as f64);
        na += (*x as f64) * (*x as f64);
        nb += (*y as f64) * (*y as f64);
    }
    let den = (na * nb).sqrt();
    if den > 0.0 {
        1.0 - dot / den
    } else {
        1.0
    }
}

/// The `k` nearest other rows of every row by cosine distance (exact), nearest first.
fn knn_cosine(rows: &[Vec<f32>], k: usize) -> Vec<Vec<(usize, f64)>> {
    let n = rows.len();
    (0..n)
        .into_par_iter()
        .map(|i| {
            let mut d: Vec<(usize, f64)> = (0..n)
                .filter(|&j| j != i)
                .map(|j| (j, cos_dist(&rows[i], &rows[j])))
                .collect();
            select_nearest(&mut d, k);
            d
        })
        .collect()
}

/// The UMAP map of `rows` (see the module docs), seeded by `seed`.
pub fn umap_map(rows: &[Vec<f32>], seed: u64) -> Vec<(f64, f64)> {
    let n = rows.len();
    if n < 4 {
        return pca_map(rows);
    }
    let knn = knn_cosine(rows, N_NEIGHBORS.min(n - 1));
    // Start from PCA, scaled to [−10, 10].
    let init = pca_map(rows);
    let scale = init
        .iter()
        .map(|p| p.0.abs().max(p.1.abs()))
        .fold(0.0, f64::max)
        .max(1e-12);
    let start: Vec<f64> = init
        .iter()
        .flat_map(|p| [10.0 * p.0 / scale, 10.0 * p.1 / scale])
        .collect();
    let y = layout(&knn, start, 2, seed, None);
    y.chunks_exact(2).map(|p| (p[0], p[1])).collect()
}

/// How faithful a 2-D map `xy` of `rows` is, with `k` neighbours:
/// `(trustworthiness, k-NN preservation)`. Trustworthiness (Venna & Kaski;
/// as scikit-learn's `trustworthiness` with the cosine metric) penalises
/// map neighbours that are far in the embedding space, by their rank;
/// k-NN preservation is the mean share of each row's `k` nearest rows
/// (cosine) that are also among its `k` nearest on the map.
pub fn map_faithfulness(rows: &[Vec<f32>], xy: &[(f64, f64)], k: usize) -> (f64, f64) {
    let n = rows.len();
    if n < 3 || xy.len() != n {
        return (f64::NAN, f64::NAN);
    }
    let k = k.min(n - 2).max(1);
    let per: Vec<(f64, f64)> = (0..n)
        .into_par_iter()
        .map(|i| {
            // Ranks of every other point by cosine distance in the embedding space.
            let mut hi: Vec<(usize, f64)> = (0..n)
                .filter(|&j| j != i)
                .map(|j| (j, cos_dist(&rows[i], &rows[j])))
                .collect();
            hi.sort_by(|a, b| a.1.total_cmp(&b.1).then(a.0.cmp(&b.0)));
            let mut rank = vec![0usize; n];
            for (r, &(j, _)) in hi.iter().enumerate() {
                rank[j] = r + 1;
            }
            let mut lo: Vec<(usize, f64)> = (0..n)
                .filter(|&j| j != i)
                .map(|j| (j, (xy[i].0 - xy[j].0).powi(2) + (xy[i].1 - xy[j].1).powi(2)))
                .collect();
            lo.sort_by(|a, b| a.1.total_cmp(&b.1).then(a.0.cmp(&b.0)));
            let penalty: f64 = lo[..k]
                .iter()
                .map(|&(j, _)| (rank[j] as f64 - k as f64).max(0.0))
                .sum();
            let kept = lo[..k].iter().filter(|&&(j, _)| rank[j] <= k).count();
            (penalty, kept as f64 / k as f64)
        })
        .collect();
    let (nf, kf) = (n as f64, k as f64);
    let penalty: f64 = per.iter().map(|p| p.0).sum();
    let trust = 1.0 - 2.0 / (nf * kf * (2.0 * nf - 3.0 * kf - 1.0)) * penalty;
    let kept = per.iter().map(|p| p.1).sum::<f64>() / nf;
    (trust, kept)
}
