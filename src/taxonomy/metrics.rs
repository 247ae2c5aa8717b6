//! Agreement between a partition and labels: NMI, ARI and purity (as
//! scikit-learn's `normalized_mutual_info_score` with the arithmetic mean,
//! `adjusted_rand_score`, and majority-label purity).

use std::collections::HashMap;

/// Row sums, column sums and the non-zero cells of a contingency table.
type Contingency = (Vec<f64>, Vec<f64>, HashMap<(usize, usize), f64>);

fn contingency<A: std::hash::Hash + Eq, B: std::hash::Hash + Eq>(a: &[A], b: &[B]) -> Contingency {
    let mut ia: HashMap<&A, usize> = HashMap::new();
    let mut ib: HashMap<&B, usize> = HashMap::new();
    let mut cells = HashMap::new();
    let (mut ra, mut rb) = (Vec::new(), Vec::new());
    for (x, y) in a.iter().zip(b) {
        let n = ia.len();
        let i = *ia.entry(x).or_insert(n);
        let n = ib.len();
        let j = *ib.entry(y).or_insert(n);
        if i == ra.len() {
            ra.push(0.0);
        }
        if j == rb.len() {
            rb.push(0.0);
        }
        ra[i] += 1.0;
        rb[j] += 1.0;
        *cells.entry((i, j)).or_insert(0.0) += 1.0;
    }
    (ra, rb, cells)
}

fn entropy(counts: &[f64], n: f64) -> f64 {
    counts
        .iter()
        .filter(|&&c| c > 0.0)
        .map(|&c| -(c / n) * (c / n).ln())
        .sum()
}

/// Normalised mutual information, arithmetic normalisation.
///
/// ```
/// use aurora_router::taxonomy::metrics::nmi;
/// assert!((nmi(&[0, 0, 1, 1], &["a", "a", "b", "b"]) - 1.0).abs() < 1e-12);
/// assert!(nmi(&[0, 1, 0, 1], &["a", "a", "b", "b"]).abs() < 1e-12);
/// ```
pub fn nmi<A: std::hash::Hash + Eq, B: std::hash::Hash + Eq>(a: &[A], b: &[B]) -> f64 {
    let n = a.len() as f64;
    let (ra, rb, cells) = contingency(a, b);
    if ra.len() == 1 && rb.len() == 1 {
        return 1.0;
    }
    let mi: f64 = cells
        .iter()
        .map(|(&(i, j), &c)| c / n * ((c * n) / (ra[i] * rb[j])).ln())
        .sum();
    let (ha, hb) = (entropy(&ra, n), entropy(&rb, n));
    let denom = (ha + hb) / 2.0;
    if denom <= 0.0 {
        return 0.0;
    }
    (mi / denom).clamp(0.0, 1.0)
}

/// Adjusted Rand index.
///
/// ```
/// use aurora_router::taxonomy::metrics::ari;
/// assert!((ari(&[0, 0, 1, 1], &[5, 5, 7, 7]) - 1.0).abs() < 1e-12);
/// ```
pub fn ari<A: std::hash::Hash + Eq, B: std::hash::Hash + Eq>(a: &[A], b: &[B]) -> f64 {
    let n = a.len() as f64;
    let (ra, rb, cells) = contingency(a, b);
    let c2 = |x: f64| x * (x - 1.0) / 2.0;
    let sum_cells: f64 = cells.values().map(|&c| c2(c)).sum();
    let sa: f64 = ra.iter().map(|&c| c2(c)).sum();
    let sb: f64 = rb.iter().map(|&c| c2(c)).sum();
    let expected = sa * sb / c2(n);
    let max = (sa + sb) / 2.0;
    if (max - expected).abs() < 1e-12 {
        return 1.0;
    }
    (sum_cells - expected) / (max - expected)
}

/// Purity: the fraction of items whose group's majority label is theirs.
///
/// ```
/// use aurora_router::taxonomy::metrics::purity;
/// assert_eq!(purity(&[0, 0, 0, 1], &["a", "a", "b", "b"]), 0.75);
/// ```
pub fn purity<A: std::hash::Hash + Eq, B: std::hash::Hash + Eq>(groups: &[A], labels: &[B]) -> f64 {
    let n = groups.len() as f64;
    let (ra, _, cells) = contingency(groups, labels);
    let mut best = vec![0.0f64; ra.len()];
    for (&(i, _), &c) in &cells {
        best[i] = best[i].max(c);
    }
    best.iter().sum::<f64>() / n
}
