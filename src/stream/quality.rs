//! Clustering quality against true labels: size-weighted purity, adjusted
//! Rand index and normalised mutual information (arithmetic mean, as
//! scikit-learn's default).

use std::collections::HashMap;

/// Quality of a predicted partition against the true one.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct PartitionScores {
    /// Fraction of items whose cluster's majority label is their label.
    pub purity: f64,
    /// Adjusted Rand index.
    pub ari: f64,
    /// Normalised mutual information.
    pub nmi: f64,
    /// Distinct predicted clusters.
    pub clusters: usize,
    /// Distinct true labels.
    pub true_clusters: usize,
}

/// Scores `pred[i]` against `truth[i]` (any hashable ids).
///
/// ```
/// use aurora_router::stream::quality::scores;
/// let s = scores(&[0, 0, 1, 1], &["a", "a", "b", "b"]);
/// assert!((s.ari - 1.0).abs() < 1e-12 && (s.purity - 1.0).abs() < 1e-12);
/// ```
pub fn scores<P: std::hash::Hash + Eq + Clone, T: std::hash::Hash + Eq + Clone>(
    pred: &[P],
    truth: &[T],
) -> PartitionScores {
    assert_eq!(pred.len(), truth.len(), "one prediction per label");
    let n = pred.len() as f64;
    let mut pi: HashMap<P, usize> = HashMap::new();
    let mut ti: HashMap<T, usize> = HashMap::new();
    let mut cont: HashMap<(usize, usize), f64> = HashMap::new();
    for (p, t) in pred.iter().zip(truth) {
        let np = pi.len();
        let a = *pi.entry(p.clone()).or_insert(np);
        let nt = ti.len();
        let b = *ti.entry(t.clone()).or_insert(nt);
        *cont.entry((a, b)).or_default() += 1.0;
    }
    let mut rows = vec![0.0; pi.len()];
    let mut cols = vec![0.0; ti.len()];
    let mut best = vec![0.0f64; pi.len()];
    for (&(a, b), &c) in &cont {
        rows[a] += c;
        cols[b] += c;
        best[a] = best[a].max(c);
    }
    let comb2 = |x: f64| x * (x - 1.0) / 2.0;
    let sum_ij: f64 = cont.values().map(|&c| comb2(c)).sum();
    let sum_a: f64 = rows.iter().map(|&c| comb2(c)).sum();
    let sum_b: f64 = cols.iter().map(|&c| comb2(c)).sum();
    let expected = sum_a * sum_b / comb2(n).max(1.0);
    let max_index = (sum_a + sum_b) / 2.0;
    let ari = if (max_index - expected).abs() < 1e-12 {
        1.0
    } else {
        (sum_ij - expected) / (max_index - expected)
    };
    let h = |v: &[f64]| {
        -v.iter()
            .filter(|&&c| c > 0.0)
            .map(|&c| c / n * (c / n).ln())
            .sum::<f64>()
    };
    let (hp, ht) = (h(&rows), h(&cols));
    let mi: f64 = cont
        .iter()
        .map(|(&(a, b), &c)| c / n * ((c * n) / (rows[a] * cols[b])).ln())
        .sum();
    let nmi = if hp + ht <= 0.0 {
        1.0
    } else {
        2.0 * mi / (hp + ht)
    };
    PartitionScores {
        purity: best.iter().sum::<f64>() / n.max(1.0),
        ari,
        nmi,
        clusters: pi.len(),
        true_clusters: ti.len(),
    }
}
