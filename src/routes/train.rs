//! Training the linear softmax head: centroid initialisation, then a few
//! epochs of mini-batch Adam on the cross-entropy with L2 weight decay.

use ndarray::{s, Array1, Array2, ArrayView2, Axis};
use rand_xoshiro::rand_core::{RngCore, SeedableRng};
use rand_xoshiro::Xoshiro256PlusPlus;

/// Hyperparameters of one training run (already checked).
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct TrainParams {
    pub epochs: usize,
    pub learning_rate: f32,
    pub weight_decay: f32,
    pub scale: f32,
    pub batch: usize,
    pub seed: u64,
}

/// The trained head: weights (routes × dim) and biases.
pub(crate) struct Head {
    pub weights: Array2<f32>,
    pub bias: Array1<f32>,
}

impl Head {
    /// Logits of normalised rows `x` (n × dim) → n × routes.
    pub fn logits(&self, x: ArrayView2<f32>) -> Array2<f32> {
        let mut z = x.dot(&self.weights.t());
        z += &self.bias;
        z
    }
}

/// Softmax of each row in place.
pub(crate) fn softmax_rows(z: &mut Array2<f32>) {
    for mut row in z.rows_mut() {
        let m = row.fold(f32::NEG_INFINITY, |a, &b| a.max(b));
        row.mapv_inplace(|v| (v - m).exp());
        let s = row.sum();
        row /= s;
    }
}

/// Trains a head on normalised rows `x` with labels `y` in `0..k`.
/// Every route must have at least one row.
pub(crate) fn train_head(x: ArrayView2<f32>, y: &[usize], k: usize, p: &TrainParams) -> Head {
    let (n, d) = x.dim();
    // Initialise at the scaled normalised centroids: already a good
    // nearest-centroid classifier, which Adam then sharpens.
    let mut w = Array2::<f32>::zeros((k, d));
    for (i, &c) in y.iter().enumerate() {
        let mut row = w.row_mut(c);
        row += &x.row(i);
    }
    for mut row in w.rows_mut() {
        let norm = row.dot(&row).sqrt().max(1e-12);
        row *= p.scale / norm;
    }
    let mut b = Array1::<f32>::zeros(k);
    let (mut mw, mut vw) = (Array2::<f32>::zeros((k, d)), Array2::<f32>::zeros((k, d)));
    let (mut mb, mut vb) = (Array1::<f32>::zeros(k), Array1::<f32>::zeros(k));
    let (b1, b2, eps) = (0.9f32, 0.999f32, 1e-8f32);
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(p.seed);
    let mut order: Vec<usize> = (0..n).collect();
    let mut t = 0i32;
    let mut xb = Array2::<f32>::zeros((p.batch.min(n), d));
    for _ in 0..p.epochs {
        for i in (1..n).rev() {
            let j = (rng.next_u64() % (i as u64 + 1)) as usize;
            order.swap(i, j);
        }
        for chunk in order.chunks(p.batch) {
            let m = chunk.len();
            let mut xv = xb.slice_mut(s![..m, ..]);
            for (r, &i) in chunk.iter().enumerate() {
                xv.row_mut(r).assign(&x.row(i));
            }
            let xv = xb.slice(s![..m, ..]);
            let mut g = xv.dot(&w.t());
            g += &b;
            softmax_rows(&mut g);
            for (r, &i) in chunk.iter().enumerate() {
                g[[r, y[i]]] -= 1.0;
            }
            g /= m as f32;
            // Gradients: dW = gᵀ·x + λW, db = Σ g.
            let mut gw = g.t().dot(&xv);
            gw.scaled_add(p.weight_decay, &w);
            let gb = g.sum_axis(Axis(0));
            t += 1;
            let c1 = 1.0 - b1.powi(t);
            let c2 = 1.0 - b2.powi(t);
            let lr = p.learning_rate;
            ndarray::Zip::from(&mut w)
                .and(&mut mw)
                .and(&mut vw)
                .and(&gw)
                .for_each(|w, m, v, &g| {
                    *m = b1 * *m + (1.0 - b1) * g;
                    *v = b2 * *v + (1.0 - b2) * g * g;
                    *w -= lr * (*m / c1) / ((*v / c2).sqrt() + eps);
                });
            ndarray::Zip::from(&mut b)
                .and(&mut mb)
                .and(&mut vb)
                .and(&gb)
                .for_each(|w, m, v, &g| {
                    *m = b1 * *m + (1.0 - b1) * g;
                    *v = b2 * *v + (1.0 - b2) * g * g;
                    *w -= lr * (*m / c1) / ((*v / c2).sqrt() + eps);
                });
        }
    }
    Head {
        weights: w,
        bias: b,
    }
}
