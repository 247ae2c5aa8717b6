//! Cost–accuracy geometry: the upper convex hull, quality at budget (QAB)
//! and the oracle frontier.

use serde::Serialize;

use super::EvalError;

/// Budgets of the QAB metric, as fractions of the most expensive model's
/// cost: 5, 10, 15, 20, 30, 40, 50, 75 and 100 %.
pub const QAB_BUDGETS: [f64; 9] = [0.05, 0.10, 0.15, 0.20, 0.30, 0.40, 0.50, 0.75, 1.00];

/// Anything with a mean cost and an accuracy: a curve point, a single model,
/// a hull vertex, or a plain `(cost, accuracy)` pair.
pub trait CostAccuracy {
    /// Mean cost per prompt, in the models' cost units.
    fn cost(&self) -> f64;
    /// Mean correctness, in `[0, 1]`.
    fn accuracy(&self) -> f64;
}

impl CostAccuracy for (f64, f64) {
    fn cost(&self) -> f64 {
        self.0
    }
    fn accuracy(&self) -> f64 {
        self.1
    }
}

impl<T: CostAccuracy + ?Sized> CostAccuracy for &T {
    fn cost(&self) -> f64 {
        (**self).cost()
    }
    fn accuracy(&self) -> f64 {
        (**self).accuracy()
    }
}

/// A vertex of an upper hull (or of the oracle frontier).
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct HullPoint {
    /// Mean cost per prompt.
    pub mean_cost: f64,
    /// Accuracy.
    pub accuracy: f64,
}

impl CostAccuracy for HullPoint {
    fn cost(&self) -> f64 {
        self.mean_cost
    }
    fn accuracy(&self) -> f64 {
        self.accuracy
    }
}

/// The upper-left convex hull of `points` in cost–accuracy space: every
/// accuracy reachable by mixing the points at random (point `i` with
/// probability `wᵢ` costs `Σ wᵢ costᵢ` on average and is right `Σ wᵢ accᵢ` of
/// the time) at no higher mean cost, reduced to its vertices.
///
/// The result runs from the cheapest point (the most accurate among equally
/// cheap ones) to the most accurate point (the cheapest among equally
/// accurate ones), with strictly increasing cost and accuracy and
/// non-increasing slope. Points with a non-finite coordinate are ignored; an
/// empty input gives an empty hull.
///
/// ```
/// use aurora_router::eval::upper_hull;
/// // (5, 0.6) lies below the segment from (1, 0.5) to (10, 0.8): dropped.
/// // (12, 0.7) is dearer and worse than (10, 0.8): dropped.
/// let h = upper_hull(&[(1.0, 0.5), (5.0, 0.6), (10.0, 0.8), (12.0, 0.7)]);
/// let v: Vec<(f64, f64)> = h.iter().map(|p| (p.mean_cost, p.accuracy)).collect();
/// assert_eq!(v, [(1.0, 0.5), (10.0, 0.8)]);
/// ```
pub fn upper_hull<P: CostAccuracy>(points: &[P]) -> Vec<HullPoint> {
    let mut pts: Vec<HullPoint> = points
        .iter()
        .map(|p| HullPoint {
            mean_cost: p.cost(),
            accuracy: p.accuracy(),
        })
        .filter(|p| p.mean_cost.is_finite() && p.accuracy.is_finite())
        .collect();
    pts.sort_by(|a, b| {
        a.mean_cost
            .total_cmp(&b.mean_cost)
            .then(b.accuracy.total_cmp(&a.accuracy))
    });
    let mut hull: Vec<HullPoint> = Vec::with_capacity(pts.len().min(64));
    for p in pts {
        // Dearer (or as dear) and not more accurate: dominated.
        if hull.last().is_some_and(|l| p.accuracy <= l.accuracy) {
            continue;
        }
        // Drop vertices on or below the chord to the new point.
        while hull.len() >= 2 {
            let (a, b) = (hull[hull.len() - 2], hull[hull.len() - 1]);
            let lhs = (b.accuracy - a.accuracy) * (p.mean_cost - a.mean_cost);
            let rhs = (p.accuracy - a.accuracy) * (b.mean_cost - a.mean_cost);
            // Collinear (to rounding) counts as below.
            if lhs <= rhs + 1e-12 * (lhs.abs() + rhs.abs()) {
                hull.pop();
            } else {
                break;
            }
        }
        hull.push(p);
    }
    hull
}

/// Accuracy of an upper hull (from [`upper_hull`]) at mean cost `budget`:
/// 0 below the cheapest vertex, the last vertex's accuracy beyond it,
/// linear in between. A budget within a relative `1e-12` of a vertex's cost
/// affords that vertex.
fn hull_value(hull: &[HullPoint], budget: f64) -> f64 {
    let Some(first) = hull.first() else {
        return 0.0;
    };
    let reach = budget + 1e-12 * budget.abs().max(f64::MIN_POSITIVE);
    if reach < first.mean_cost {
        return 0.0;
    }
    let i = hull.partition_point(|p| p.mean_cost <= reach);
    // i ≥ 1 since first.mean_cost ≤ reach.
    if i >= hull.len() {
        return hull[hull.len() - 1].accuracy;
    }
    let (a, b) = (hull[i - 1], hull[i]);
    let t = ((budget - a.mean_cost) / (b.mean_cost - a.mean_cost)).clamp(0.0, 1.0);
    a.accuracy + t * (b.accuracy - a.accuracy)
}

/// The best accuracy of any random mix of `points` whose mean cost is at most
/// `budget` (the upper concave envelope of the points, taken as
/// non-decreasing), or 0 if even the cheapest point costs more.
///
/// ```
/// use aurora_router::eval::value_at_budget;
/// let pts = [(1.0, 0.5), (3.0, 0.9)];
/// assert_eq!(value_at_budget(&pts, 0.5), 0.0); // nothing fits
/// assert!((value_at_budget(&pts, 2.0) - 0.7).abs() < 1e-12); // half and half
/// assert_eq!(value_at_budget(&pts, 10.0), 0.9);
/// ```
pub fn value_at_budget<P: CostAccuracy>(points: &[P], budget: f64) -> f64 {
    hull_value(&upper_hull(points), budget)
}

/// Quality at budget: for each budget, the best accuracy reachable at that
/// mean cost, and their mean.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Qab {
    /// The budgets, as fractions of the most expensive model's cost.
    pub budgets: Vec<f64>,
    /// The same budgets in the models' cost units.
    pub budget_costs: Vec<f64>,
    /// The accuracy at each budget (see [`qab`]).
    pub values: Vec<f64>,
    /// Mean of `values`.
    pub mean: f64,
}

/// QAB ("quality at budget") of a set of operating points: for each budget
/// `b` (a fraction of `max_cost`, the most expensive model's cost), the best
/// accuracy of any point — or random mix of two adjacent points of the upper
/// hull — whose mean cost is at most `b · max_cost`; 0 when even the
/// cheapest point costs more. This is the upper concave envelope of the
/// points evaluated at the budget ([`value_at_budget`]). Use [`QAB_BUDGETS`]
/// for the standard budgets.
///
/// Mixing is a real deployment option (pick the operating point at random
/// per prompt), so a curve, the hull of single models and the oracle are all
/// scored the same way.
///
/// ```
/// use aurora_router::eval::{qab, QAB_BUDGETS};
/// // One model of cost 10 and accuracy 0.8, the most expensive: only the
/// // 100 % budget affords it.
/// let q = qab(&[(10.0, 0.8)], 10.0, &QAB_BUDGETS);
/// assert_eq!(q.values, [0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.8]);
/// assert!((q.mean - 0.8 / 9.0).abs() < 1e-12);
/// ```
pub fn qab<P: CostAccuracy>(points: &[P], max_cost: f64, budgets: &[f64]) -> Qab {
    let hull = upper_hull(points);
    let budget_costs: Vec<f64> = budgets.iter().map(|b| b * max_cost).collect();
    let values: Vec<f64> = budget_costs.iter().map(|&b| hull_value(&hull, b)).collect();
    let mean = if values.is_empty() {
        0.0
    } else {
        values.iter().sum::<f64>() / values.len() as f64
    };
    Qab {
        budgets: budgets.to_vec(),
        budget_costs,
        values,
        mean,
    }
}

/// The oracle: for every prompt, the cheapest of the models with the best
/// correctness on it (with 0/1 correctness, the cheapest correct model; a
/// prompt no model gets right counts as wrong at the cheapest model's cost).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Oracle {
    /// Mean correctness of the oracle's picks.
    pub accuracy: f64,
    /// Mean cost of the oracle's picks.
    pub mean_cost: f64,
    /// The oracle's frontier at lower budgets: the best accuracy for each
    /// mean cost when every prompt's correctness is known in advance and
    /// picks may be randomised (the exact optimum of the fractional
    /// multiple-choice knapsack), from "every prompt to the cheapest model"
    /// up to (`mean_cost`, `accuracy`). Concave; its vertices only.
    pub curve: Vec<HullPoint>,
}

/// The oracle of a labelled set: `costs[m]` per model, `correctness[p][m]` in
/// `[0, 1]` per prompt and model. See [`Oracle`]; score its frontier at
/// budgets with [`qab`]`(&oracle.curve, …)`.
///
/// ```
/// use aurora_router::eval::oracle;
/// // Prompt 0: only the big model is right; prompt 1: both are.
/// let o = oracle(&[1.0, 10.0], &[vec![0.0, 1.0], vec![1.0, 1.0]])?;
/// assert_eq!((o.accuracy, o.mean_cost), (1.0, 5.5));
/// // Its frontier starts at "all on the small model".
/// assert_eq!((o.curve[0].mean_cost, o.curve[0].accuracy), (1.0, 0.5));
/// # Ok::<(), aurora_router::eval::EvalError>(())
/// ```
pub fn oracle(costs: &[f64], correctness: &[Vec<f64>]) -> Result<Oracle, EvalError> {
    super::check_costs(costs)?;
    super::check_correctness(correctness, correctness.len(), costs.len())?;
    if correctness.is_empty() {
        return Err(EvalError::Empty);
    }
    let n = correctness.len() as f64;
    let (mut cost, mut acc) = (0.0f64, 0.0f64);
    let (mut end_cost, mut end_acc) = (0.0f64, 0.0f64);
    // (Δcost, Δcorrect) of each prompt's upgrade steps along its own hull.
    let mut steps: Vec<(f64, f64)> = Vec::new();
    let mut opts: Vec<(f64, f64)> = Vec::with_capacity(costs.len());
    for row in correctness {
        opts.clear();
        opts.extend(costs.iter().copied().zip(row.iter().copied()));
        let h = upper_hull(&opts);
        let (first, last) = (h[0], h[h.len() - 1]);
        cost += first.mean_cost;
        acc += first.accuracy;
        end_cost += last.mean_cost;
        end_acc += last.accuracy;
        steps.extend(h.windows(2).map(|w| {
            (
                w[1].mean_cost - w[0].mean_cost,
                w[1].accuracy - w[0].accuracy,
            )
        }));
    }
    // Best gain per cost first: the greedy order is optimal for the
    // fractional problem, and the per-prompt hulls keep each prompt's steps
    // in order (their slopes decrease).
    steps.sort_by(|a, b| (b.1 * a.0).total_cmp(&(a.1 * b.0)));
    let mut curve = vec![HullPoint {
        mean_cost: cost / n,
        accuracy: acc / n,
    }];
    for (i, &(dc, da)) in steps.iter().enumerate() {
        cost += dc;
        acc += da;
        // One vertex per run of equal slopes.
        let same_next = steps
            .get(i + 1)
            .is_some_and(|&(nc, na)| (na * dc - da * nc).abs() <= 1e-12 * (na * dc).abs());
        if !same_next {
            curve.push(HullPoint {
                mean_cost: cost / n,
                accuracy: acc / n,
            });
        }
    }
    // The end point, summed directly (no drift from the running sums).
    let end = HullPoint {
        mean_cost: end_cost / n,
        accuracy: end_acc / n,
    };
    if curve.len() > 1 {
        let last = curve.len() - 1;
        curve[last] = end;
    }
    Ok(Oracle {
        accuracy: end.accuracy,
        mean_cost: end.mean_cost,
        curve,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hull_basics() {
        assert!(upper_hull::<(f64, f64)>(&[]).is_empty());
        let h = upper_hull(&[(2.0, 0.5), (2.0, 0.7), (1.0, 0.2), (3.0, 0.7)]);
        assert_eq!(
            h,
            [
                HullPoint {
                    mean_cost: 1.0,
                    accuracy: 0.2
                },
                HullPoint {
                    mean_cost: 2.0,
                    accuracy: 0.7
                }
            ]
        );
        // Collinear middle point dropped.
        let h = upper_hull(&[(1.0, 0.1), (2.0, 0.2), (3.0, 0.3)]);
        assert_eq!(h.len(), 2);
        assert_eq!(value_at_budget(&[(1.0, 0.1), (3.0, 0.3)], 2.0), 0.2);
        assert_eq!(value_at_budget(&[(f64::NAN, 0.1)], 2.0), 0.0);
    }

    #[test]
    fn oracle_fractional_and_all_wrong() {
        let o = oracle(&[1.0, 2.0], &[vec![0.0, 0.0], vec![0.5, 1.0]]).unwrap();
        assert_eq!(o.accuracy, 0.5);
        assert_eq!(o.mean_cost, 1.5);
        assert_eq!(o.curve.first().unwrap().mean_cost, 1.0);
        assert_eq!(o.curve.first().unwrap().accuracy, 0.25);
        assert!(oracle(&[1.0], &[]).is_err());
    }
}
