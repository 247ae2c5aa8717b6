//! A k-nearest-neighbour router: the baseline a clustering router should beat.

use ndarray::{s, Array2, ArrayView2};
use rayon::prelude::*;

use super::EvalError;

/// Default number of neighbours of [`KnnRouter`].
pub const DEFAULT_KNN_K: usize = 20;
/// Default pseudo-count shrinking [`KnnRouter`]'s estimates toward each
/// model's global error.
pub const DEFAULT_KNN_PSEUDO_COUNT: f64 = 2.0;

/// Query rows handled per matrix product (bounds the similarity block to
/// `256 × n_train` floats).
const BLOCK: usize = 256;

/// A kNN router: a prompt's expected error for model `m` is the mean error
/// (`1 − correctness`) of `m` on the `k` labelled training prompts most
/// similar to it by cosine, shrunk toward `m`'s global training error `g_m`
/// with pseudo-count `a`:
///
/// ```text
/// e_m = (Σ_{i ∈ kNN} (1 − y_im) + a · g_m) / (k + a)
/// ```
///
/// Picks then use the same λ-scoring as the router
/// ([`choose`](super::choose)); [`evaluate_knn`](super::evaluate_knn) gives
/// its deferral curve and QAB. Ties in similarity go to the earlier training
/// row, so results are deterministic.
///
/// ```
/// use aurora_router::eval::KnnRouter;
/// use ndarray::array;
/// let train = array![[1.0f32, 0.0], [0.9, 0.1], [0.0, 1.0]];
/// // Model 0 fails near the x axis, model 1 near the y axis.
/// let y = vec![vec![0.0, 1.0], vec![0.0, 1.0], vec![1.0, 0.0]];
/// let knn = KnnRouter::new(train.view(), &y, 2, 0.0)?;
/// assert_eq!(knn.expected_errors(&[1.0, 0.05])?, vec![1.0, 0.0]);
/// # Ok::<(), aurora_router::eval::EvalError>(())
/// ```
#[derive(Debug, Clone)]
pub struct KnnRouter {
    /// `n × d` unit rows.
    train: Array2<f32>,
    /// `n × M` errors, row-major.
    errors: Vec<f64>,
    /// Mean error per model.
    global: Vec<f64>,
    m: usize,
    k: usize,
    pseudo_count: f64,
}

/// L2-normalised copy of `x`; a zero or non-finite row is an error.
/// (The routing core's [`unit_row`](crate::routing::unit_row) on each row.)
pub(crate) fn normalised(x: ArrayView2<'_, f32>, what: &str) -> Result<Array2<f32>, EvalError> {
    let mut out = x.as_standard_layout().into_owned();
    for (r, mut row) in out.rows_mut().into_iter().enumerate() {
        let ok = row
            .as_slice_mut()
            .is_some_and(|v| v.iter().all(|x| x.is_finite()) && crate::routing::unit_row(v));
        if !ok {
            return Err(EvalError::Invalid {
                what: what.into(),
                reason: format!("row {r} is zero or not finite"),
            });
        }
    }
    Ok(out)
}

impl KnnRouter {
    /// A kNN router over training embeddings `train` (one row per prompt,
    /// any non-zero length: rows are normalised here) and their correctness
    /// `correctness[p][m] ∈ [0, 1]`. `k ≥ 1` (capped at the number of
    /// training prompts); `pseudo_count ≥ 0`.
    pub fn new(
        train: ArrayView2<'_, f32>,
        correctness: &[Vec<f64>],
        k: usize,
        pseudo_count: f64,
    ) -> Result<Self, EvalError> {
        let n = train.nrows();
        if n == 0 || train.ncols() == 0 {
            return Err(EvalError::Empty);
        }
        if k == 0 {
            return Err(EvalError::Invalid {
                what: "knn k".into(),
                reason: "must be at least 1".into(),
            });
        }
        if !(pseudo_count.is_finite() && pseudo_count >= 0.0) {
            return Err(EvalError::Invalid {
                what: "knn pseudo-count".into(),
                reason: format!("must be finite and ≥ 0, got {pseudo_count}"),
            });
        }
        let m = correctness.first().map_or(0, Vec::len);
        if m == 0 {
            return Err(EvalError::Invalid {
                what: "training correctness".into(),
                reason: "no models".into(),
            });
        }
        super::check_correctness(correctness, n, m)?;
        let train = normalised(train, "training embeddings")?;
        let errors: Vec<f64> = correctness
            .iter()
            .flat_map(|r| r.iter().map(|y| 1.0 - y))
            .collect();
        let global = (0..m)
            .map(|j| errors.iter().skip(j).step_by(m).sum::<f64>() / n as f64)
            .collect();
        Ok(Self {
            train,
            errors,
            global,
            m,
            k: k.min(n),
            pseudo_count,
        })
    }

    /// Number of neighbours used (the requested `k`, capped at the training size).
    pub fn k(&self) -> usize {
        self.k
    }

    /// The shrinkage pseudo-count.
    pub fn pseudo_count(&self) -> f64 {
        self.pseudo_count
    }

    /// Number of models.
    pub fn model_count(&self) -> usize {
        self.m
    }

    /// Embedding dimension.
    pub fn dim(&self) -> usize {
        self.train.ncols()
    }

    /// Number of training prompts.
    pub fn train_len(&self) -> usize {
        self.train.nrows()
    }

    /// Each model's global training error.
    pub fn global_error_rates(&self) -> &[f64] {
        &self.global
    }

    /// Expected error of every model for one query embedding.
    pub fn expected_errors(&self, query: &[f32]) -> Result<Vec<f64>, EvalError> {
        let q =
            ArrayView2::from_shape((1, query.len()), query).map_err(|e| EvalError::Invalid {
                what: "query".into(),
                reason: e.to_string(),
            })?;
        Ok(self.expected_errors_batch(q)?.pop().unwrap_or_default())
    }

    /// Expected errors for each row of `queries` (blocked matrix products,
    /// in parallel).
    pub fn expected_errors_batch(
        &self,
        queries: ArrayView2<'_, f32>,
    ) -> Result<Vec<Vec<f64>>, EvalError> {
        if queries.ncols() != self.dim() {
            return Err(EvalError::Dimension {
                expected: self.dim(),
                got: queries.ncols(),
            });
        }
        let q = normalised(queries, "query embeddings")?;
        let starts: Vec<usize> = (0..q.nrows()).step_by(BLOCK).collect();
        let blocks: Vec<Vec<Vec<f64>>> = starts
            .into_par_iter()
            .map(|start| {
                let end = (start + BLOCK).min(q.nrows());
                let sims = q.slice(s![start..end, ..]).dot(&self.train.t());
                let mut idx: Vec<u32> = Vec::with_capacity(self.train.nrows());
                sims.rows()
                    .into_iter()
                    .map(|row| {
                        let row = row.as_slice().expect("a fresh product is row-major");
                        self.estimate(row, &mut idx)
                    })
                    .collect()
            })
            .collect();
        Ok(blocks.into_iter().flatten().collect())
    }

    /// The shrunk neighbour mean for one row of similarities.
    fn estimate(&self, sims: &[f32], idx: &mut Vec<u32>) -> Vec<f64> {
        idx.clear();
        idx.extend(0..sims.len() as u32);
        let by_sim = |a: &u32, b: &u32| {
            sims[*b as usize]
                .total_cmp(&sims[*a as usize])
                .then(a.cmp(b))
        };
        if self.k < idx.len() {
            idx.select_nth_unstable_by(self.k - 1, by_sim);
        }
        let mut sum = vec![0.0f64; self.m];
        for &i in &idx[..self.k] {
            let row = &self.errors[i as usize * self.m..(i as usize + 1) * self.m];
            for (s, e) in sum.iter_mut().zip(row) {
                *s += e;
            }
        }
        sum.iter()
            .zip(&self.global)
            .map(|(&s, &g)| crate::routing::shrunk_rate(self.k as f64, s, g, self.pseudo_count))
            .collect()
    }
}
