//! Shrinkage of per-cluster error rates toward a model's global error.

/// Pseudo-count used when a profile records none.
pub const DEFAULT_PSEUDO_COUNT: f64 = 10.0;

/// Shrunk per-cluster error rates: `(errors_c + a·global) / (n_c + a)`, the
/// posterior mean under a Beta prior of strength `a` centred on the model's
/// global error. An empty cluster gets the global error.
///
/// ```
/// use aurora_router::routing::error_rates;
/// let r = error_rates(&[10, 0], &[2.0, 0.0], 0.5, 10.0);
/// assert!((r[0] - 0.35).abs() < 1e-12);
/// assert_eq!(r[1], 0.5);
/// ```
pub fn error_rates(n: &[u64], errors: &[f64], global: f64, pseudo_count: f64) -> Vec<f64> {
    n.iter()
        .zip(errors)
        .map(|(&n, &e)| shrunk_rate(n as f64, e, global, pseudo_count))
        .collect()
}

/// One shrunk rate: `(errors + a·global) / (n + a)` clamped to `[0, 1]`;
/// `global` when `n + a` is 0.
///
/// ```
/// assert_eq!(aurora_router::routing::shrunk_rate(4.0, 1.0, 0.5, 0.0), 0.25);
/// ```
pub fn shrunk_rate(n: f64, errors: f64, global: f64, pseudo_count: f64) -> f64 {
    let denom = n + pseudo_count;
    if denom > 0.0 {
        ((errors + pseudo_count * global) / denom).clamp(0.0, 1.0)
    } else {
        global
    }
}

/// Rounds to 6 decimals, as profiles store rates and scores (compact; far
/// below estimation noise).
///
/// ```
/// assert_eq!(aurora_router::routing::round6(0.123_456_78), 0.123_457);
/// ```
pub fn round6(v: f64) -> f64 {
    (v * 1e6).round() / 1e6
}
