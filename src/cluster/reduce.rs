//! Reductions fitted on a set of rows (the taxonomy fits one per node, its
//! "zoom in"): PCA here, UMAP in [`super::umap`].
//!
//! Written by hand rather than with `linfa-reduction`: the subspace we need
//! (the top `k` of a `d × d` covariance, `d` = 384) takes ~60 lines of
//! blocked subspace iteration plus a small Jacobi eigen-solve, it is
//! deterministic for a seed, and it avoids another dependency tree in the
//! builder. Only the subspace matters downstream (rows are re-normalised and
//! compared by cosine, which a rotation within the subspace preserves).

use ndarray::{Array2, ArrayView2, Axis};
use rand_xoshiro::rand_core::{RngCore, SeedableRng};
use rand_xoshiro::Xoshiro256PlusPlus;

/// Projects the rows of `x` (n × d) onto their top-`k` principal components
/// (fitted on `x` itself, centred), and L2-normalises each projected row.
/// When `k ≥ d` or `k ≥ n` the centred rows are returned, normalised.
///
/// ```
/// use aurora_router::cluster::reduce::pca_normalized;
/// let x = ndarray::array![[1.0f32, 0.0, 0.0], [0.0, 1.0, 0.0], [0.9, 0.1, 0.0], [0.1, 0.9, 0.01]];
/// let y = pca_normalized(x.view(), 2, 7);
/// assert_eq!(y.dim(), (4, 2));
/// ```
pub fn pca_normalized(x: ArrayView2<'_, f32>, k: usize, seed: u64) -> Array2<f32> {
    let mut y = pca_project(x, k, seed);
    for mut row in y.rows_mut() {
        let norm = row.dot(&row).sqrt();
        if norm > 0.0 {
            row.mapv_inplace(|v| v / norm);
        }
    }
    y
}

/// The centred rows of `x` (n × d) projected onto their top-`k` principal
/// components (fitted on `x` itself), not normalised. When `k ≥ d` or
/// `k ≥ n` the centred rows are returned. Seeded (the subspace iteration's
/// start).
pub fn pca_project(x: ArrayView2<'_, f32>, k: usize, seed: u64) -> Array2<f32> {
    let (n, d) = x.dim();
    let mean = x
        .mean_axis(Axis(0))
        .unwrap_or_else(|| ndarray::Array1::zeros(d));
    let xc = &x - &mean.insert_axis(Axis(0));
    if k >= d || k >= n {
        xc
    } else {
        let basis = top_subspace(xc.view(), k, seed);
        xc.dot(&basis)
    }
}

/// A `d × k` orthonormal basis of the top-`k` principal subspace of the
/// centred rows `xc`, by subspace iteration with 10 extra vectors and a
/// Rayleigh–Ritz step.
fn top_subspace(xc: ArrayView2<'_, f32>, k: usize, seed: u64) -> Array2<f32> {
    let d = xc.ncols();
    let m = (k + 10).min(d);
    let xd = xc.mapv(f64::from);
    let cov = xd.t().dot(&xd);
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(seed ^ 0x00c0_ffee);
    let mut q = Array2::<f64>::from_shape_fn((d, m), |_| {
        (rng.next_u64() >> 11) as f64 / (1u64 << 53) as f64 - 0.5
    });
    orthonormalize(&mut q);
    for _ in 0..12 {
        q = cov.dot(&q);
        orthonormalize(&mut q);
    }
    let t = q.t().dot(&cov).dot(&q);
    let (vals, vecs) = jacobi_eigen(t);
    let mut order: Vec<usize> = (0..m).collect();
    order.sort_by(|&a, &b| vals[b].total_cmp(&vals[a]));
    let rot = Array2::from_shape_fn((m, k), |(r, c)| vecs[[r, order[c]]]);
    q.dot(&rot).mapv(|v| v as f32)
}

/// Modified Gram–Schmidt on the columns, in place, run twice per column
/// ("twice is enough" for orthogonality). A column that vanishes (the data
/// has lower rank than the block) is replaced by the first unit vector that
/// is independent of the columns before it, so the basis stays orthonormal.
fn orthonormalize(q: &mut Array2<f64>) {
    let (d, m) = q.dim();
    for j in 0..m {
        let before = q.column(j).dot(&q.column(j)).sqrt();
        project_out(q, j);
        let mut norm = q.column(j).dot(&q.column(j)).sqrt();
        let mut e = 0;
        while norm <= 1e-10 * before.max(1e-300) && e < d {
            q.column_mut(j).fill(0.0);
            q[[e, j]] = 1.0;
            e += 1;
            project_out(q, j);
            norm = q.column(j).dot(&q.column(j)).sqrt();
            if norm > 1e-6 {
                break;
            }
        }
        if norm > 0.0 {
            q.column_mut(j).mapv_inplace(|v| v / norm);
        }
    }
}

/// Removes from column `j` its components along columns `0..j`, twice.
fn project_out(q: &mut Array2<f64>, j: usize) {
    for _ in 0..2 {
        for i in 0..j {
            let r = q.column(i).dot(&q.column(j));
            let ci = q.column(i).to_owned();
            q.column_mut(j).scaled_add(-r, &ci);
        }
    }
}

/// Eigen-decomposition of a small symmetric matrix by cyclic Jacobi
/// rotations: eigenvalues and the matrix whose columns are the eigenvectors.
fn jacobi_eigen(mut a: Array2<f64>) -> (Vec<f64>, Array2<f64>) {
    let n = a.nrows();
    let mut v = Array2::<f64>::eye(n);
    for _sweep in 0..50 {
        let off: f64 = (0..n)
            .flat_map(|i| (0..n).filter(move |&j| j != i).map(move |j| (i, j)))
            .map(|(i, j)| a[[i, j]] * a[[i, j]])
            .sum();
        if off < 1e-22 {
            break;
        }
        for p in 0..n {
            for r in (p + 1)..n {
                let apr = a[[p, r]];
                if apr.abs() < 1e-300 {
                    continue;
                }
                let theta = (a[[r, r]] - a[[p, p]]) / (2.0 * apr);
                let t = theta.signum() / (theta.abs() + (theta * theta + 1.0).sqrt());
                let t = if theta == 0.0 { 1.0 } else { t };
                let c = 1.0 / (t * t + 1.0).sqrt();
                let s = t * c;
                for k in 0..n {
                    let akp = a[[k, p]];
                    let akr = a[[k, r]];
                    a[[k, p]] = c * akp - s * akr;
                    a[[k, r]] = s * akp + c * akr;
                }
                for k in 0..n {
                    let apk = a[[p, k]];
                    let ark = a[[r, k]];
                    a[[p, k]] = c * apk - s * ark;
                    a[[r, k]] = s * apk + c * ark;
                }
                for k in 0..n {
                    let vkp = v[[k, p]];
                    let vkr = v[[k, r]];
                    v[[k, p]] = c * vkp - s * vkr;
                    v[[k, r]] = s * vkp + c * vkr;
                }
            }
        }
    }
    ((0..n).map(|i| a[[i, i]]).collect(), v)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jacobi_diagonalises() {
        let a = ndarray::array![[2.0, 1.0], [1.0, 2.0]];
        let (mut vals, _) = jacobi_eigen(a);
        vals.sort_by(f64::total_cmp);
        assert!((vals[0] - 1.0).abs() < 1e-9 && (vals[1] - 3.0).abs() < 1e-9);
    }

    #[test]
    fn pca_finds_the_dominant_axis() {
        // Points spread along (1, 1, 0) with tiny noise elsewhere.
        let x = Array2::from_shape_fn((40, 3), |(i, j)| {
            let t = i as f32 / 40.0 - 0.5;
            match j {
                0 | 1 => t,
                _ => ((i * 7) % 5) as f32 * 1e-3,
            }
        });
        let basis = top_subspace(x.view(), 1, 3);
        let c = basis.column(0);
        assert!(
            (c[0].abs() - std::f32::consts::FRAC_1_SQRT_2).abs() < 1e-3,
            "{c:?}"
        );
    }
}
