//! Coverage / precision over thresholds, and the threshold calibration.

use serde::Serialize;

use super::{Calibration, TemplateError};

/// Default precision [`calibrate`] aims for.
pub const DEFAULT_TARGET_PRECISION: f32 = 0.7;

/// One point of a coverage / precision curve.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct CurvePoint {
    /// Matches scoring at least this are answered.
    pub threshold: f32,
    /// Fraction of the queries answered.
    pub coverage: f32,
    /// Fraction of the answered queries whose template's reply has the true act set.
    pub act_precision: f32,
}

/// `(score, correct)` per query, sorted by decreasing score.
fn sorted(scored: &[(f32, bool)]) -> Vec<(f32, bool)> {
    let mut s = scored.to_vec();
    s.sort_by(|a, b| b.0.total_cmp(&a.0));
    s
}

/// Precision and threshold when answering the `k` best-scored queries.
fn at(s: &[(f32, bool)], prefix_correct: &[usize], k: usize) -> CurvePoint {
    let n = s.len();
    CurvePoint {
        threshold: s[k - 1].0,
        coverage: k as f32 / n as f32,
        act_precision: prefix_correct[k] as f32 / k as f32,
    }
}

fn prefix(s: &[(f32, bool)]) -> Vec<usize> {
    let mut p = vec![0usize; s.len() + 1];
    for (i, &(_, c)) in s.iter().enumerate() {
        p[i + 1] = p[i] + c as usize;
    }
    p
}

/// The coverage / precision curve from full coverage down to 10 %, in
/// steps of 5 % (answering the best-scored queries first).
///
/// ```
/// use aurora_router::templates::curve;
/// let c = curve(&[(0.9, true), (0.8, true), (0.5, false), (0.4, false)]);
/// assert_eq!(c[0].coverage, 1.0);
/// assert_eq!(c[0].act_precision, 0.5);
/// assert_eq!(c.last().unwrap().act_precision, 1.0);
/// ```
pub fn curve(scored: &[(f32, bool)]) -> Vec<CurvePoint> {
    if scored.is_empty() {
        return Vec::new();
    }
    let s = sorted(scored);
    let p = prefix(&s);
    let n = s.len();
    (2..=20)
        .rev()
        .map(|step| {
            let k = ((step as f64 * 0.05 * n as f64).round() as usize).clamp(1, n);
            at(&s, &p, k)
        })
        .collect()
}

/// Fits a threshold for serving model `model` (dimension `dim`) from scored
/// held-out pairs: the **lowest** threshold (largest coverage) at which the
/// act precision of the answered pairs is at least `target_precision`,
/// among thresholds answering at least 10 % of the pairs. When no threshold
/// reaches the target, the one with the best precision at ≥ 10 % coverage.
pub fn calibrate(
    scored: &[(f32, bool)],
    model: &str,
    dim: usize,
    target_precision: f32,
) -> Result<Calibration, TemplateError> {
    if scored.is_empty() {
        return Err(TemplateError::EmptyPairs("calibration pairs".into()));
    }
    if !(target_precision > 0.0 && target_precision <= 1.0) {
        return Err(TemplateError::InvalidParam {
            name: "target_precision",
            reason: format!("must be in (0, 1], got {target_precision}"),
        });
    }
    let s = sorted(scored);
    let p = prefix(&s);
    let n = s.len();
    let min_k = ((n as f64 * 0.1).ceil() as usize).clamp(1, n);
    let mut best: Option<CurvePoint> = None;
    let mut fallback = at(&s, &p, min_k);
    for k in min_k..=n {
        // Only cut between distinct scores.
        if k < n && s[k].0 == s[k - 1].0 {
            continue;
        }
        let c = at(&s, &p, k);
        if c.act_precision >= target_precision {
            best = Some(c);
        }
        if c.act_precision > fallback.act_precision {
            fallback = c;
        }
    }
    let c = best.unwrap_or(fallback);
    Ok(Calibration {
        embedding_model: model.to_string(),
        dim,
        threshold: c.threshold,
        target_precision,
        coverage: c.coverage,
        precision: c.act_precision,
        pairs: n,
    })
}
