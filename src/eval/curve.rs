//! The deferral curve: every operating point of a λ-scored router, from
//! per-prompt expected errors, in one sort.
//!
//! For one prompt with expected errors `e_m`, the router picks the model
//! minimising `e_m + λ · c_m / max_cost`. As `λ` grows the pick only moves to
//! cheaper models, at breakpoints where two score lines cross: the pick is
//! the lower envelope of `M` lines, walked once in `O(M²)`. Prompts with the
//! same errors (with hard assignment, the same cluster) share one walk. Each
//! breakpoint becomes an event changing the summed cost and correctness;
//! sorting the events gives the whole curve, and any λ grid is read off it
//! with one pass — no routing per λ.

use std::collections::HashMap;

use serde::Serialize;

use super::hull::CostAccuracy;
use super::EvalError;

/// One operating point of a deferral curve.
///
/// In JSON, `λ = ∞` (pure cost) is written `null`; `cost_preference` (1 for
/// `λ = ∞`) tells it apart.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct CurvePoint {
    /// The trade-off weight `λ` (see
    /// [`RouteOptions`](crate::route::RouteOptions)); `f64::INFINITY` is pure
    /// cost.
    pub lambda: f64,
    /// The same trade-off as a cost preference `p = λ / (1 + λ)` in `[0, 1]`.
    pub cost_preference: f64,
    /// Mean cost per prompt of the chosen models, in the models' cost units.
    pub mean_cost: f64,
    /// Mean correctness of the chosen models.
    pub accuracy: f64,
}

impl CostAccuracy for CurvePoint {
    fn cost(&self) -> f64 {
        self.mean_cost
    }
    fn accuracy(&self) -> f64 {
        self.accuracy
    }
}

fn preference(lambda: f64) -> f64 {
    if lambda.is_infinite() {
        1.0
    } else {
        lambda / (1.0 + lambda)
    }
}

/// The default λ grid: 0, then 10⁻⁴ … 10⁴ with 48 points per decade, then
/// `∞` (387 values, increasing).
pub fn default_lambdas() -> Vec<f64> {
    let mut v = Vec::with_capacity(387);
    v.push(0.0);
    v.extend((0..=384).map(|i| 10f64.powf(-4.0 + f64::from(i) / 48.0)));
    v.push(f64::INFINITY);
    v
}

pub use crate::routing::choose;

/// [`choose`] over the allowed models, with precomputed `cost / max_cost`
/// (the routing core's [`choose_among`](crate::routing::choose_among)).
fn choose_masked(
    e: &[f64],
    cost: &[f64],
    norm: &[f64],
    lambda: f64,
    allowed: Option<&[bool]>,
) -> Option<usize> {
    crate::routing::choose_among(e, cost, norm, lambda, |m| allowed.is_none_or(|a| a[m]))
}

/// The picks of one error row as λ grows: `(λ from which it holds, model)`,
/// λ increasing, cost strictly decreasing.
fn envelope(e: &[f64], cost: &[f64], norm: &[f64], allowed: Option<&[bool]>) -> Vec<(f64, usize)> {
    let Some(mut cur) = choose_masked(e, cost, norm, 0.0, allowed) else {
        return Vec::new();
    };
    let mut out = vec![(0.0, cur)];
    let mut lam = 0.0f64;
    loop {
        let mut next: Option<(f64, usize)> = None;
        for j in 0..cost.len() {
            if allowed.is_some_and(|a| !a[j]) || cost[j] >= cost[cur] {
                continue;
            }
            let dc = norm[cur] - norm[j];
            if dc <= 0.0 {
                continue;
            }
            // Where j's line crosses cur's (never before the current λ).
            let x = ((e[j] - e[cur]) / dc).max(lam);
            if !x.is_finite() {
                continue;
            }
            let better = match next {
                None => true,
                // Just past a shared crossing the flatter (cheaper) line wins;
                // among equal costs the lower error, then the lower index.
                Some((bx, b)) => {
                    x < bx
                        || (x == bx && (cost[j] < cost[b] || (cost[j] == cost[b] && e[j] < e[b])))
                }
            };
            if better {
                next = Some((x, j));
            }
        }
        match next {
            Some((x, j)) => {
                out.push((x, j));
                cur = j;
                lam = x;
            }
            None => return out,
        }
    }
}

/// A change of the summed cost and correctness at some λ.
#[derive(Debug, Clone, Copy)]
struct Event {
    lambda: f64,
    d_cost: f64,
    d_correct: f64,
}

/// Prompts grouped by identical routing inputs.
struct Group {
    count: f64,
    /// Summed correctness per model over the group's prompts.
    correct: Vec<f64>,
    errors: Vec<f64>,
    allowed: Option<Vec<bool>>,
    fixed: Option<usize>,
}

/// Accumulates prompts, then produces the curve.
pub(crate) struct SweepBuilder {
    cost: Vec<f64>,
    norm: Vec<f64>,
    index: HashMap<Vec<u64>, usize>,
    groups: Vec<Group>,
    n: usize,
}

impl SweepBuilder {
    /// `costs` must be finite and positive (checked by the callers).
    pub(crate) fn new(costs: &[f64]) -> Self {
        let max = costs.iter().copied().fold(f64::MIN_POSITIVE, f64::max);
        Self {
            cost: costs.to_vec(),
            norm: costs.iter().map(|c| c / max).collect(),
            index: HashMap::new(),
            groups: Vec::new(),
            n: 0,
        }
    }

    /// Adds one prompt: its expected errors, the models it may be routed to
    /// (`None` = all), a model it goes to whatever λ (a configured
    /// fallback), and its correctness per model.
    pub(crate) fn add(
        &mut self,
        errors: &[f64],
        allowed: Option<&[bool]>,
        fixed: Option<usize>,
        correct: &[f64],
    ) {
        let mut key: Vec<u64> = Vec::with_capacity(errors.len() + 2);
        key.push(fixed.map_or(u64::MAX, |f| f as u64));
        match fixed {
            // The errors do not matter when the pick is fixed.
            Some(_) => {}
            None => {
                key.extend(errors.iter().map(|e| e.to_bits()));
                if let Some(a) = allowed {
                    key.extend(a.chunks(64).map(|c| {
                        c.iter()
                            .enumerate()
                            .fold(0u64, |w, (i, &b)| w | (u64::from(b) << i))
                    }));
                }
            }
        }
        let g = match self.index.get(&key) {
            Some(&g) => g,
            None => {
                self.groups.push(Group {
                    count: 0.0,
                    correct: vec![0.0; self.cost.len()],
                    errors: errors.to_vec(),
                    allowed: allowed.map(<[bool]>::to_vec),
                    fixed,
                });
                self.index.insert(key, self.groups.len() - 1);
                self.groups.len() - 1
            }
        };
        let grp = &mut self.groups[g];
        grp.count += 1.0;
        for (s, &y) in grp.correct.iter_mut().zip(correct) {
            *s += y;
        }
        self.n += 1;
    }

    /// Walks every group's envelope and sorts the events.
    pub(crate) fn finish(self) -> Sweep {
        let (mut base_cost, mut base_correct) = (0.0, 0.0);
        let mut events = Vec::new();
        for g in &self.groups {
            let segs = match g.fixed {
                Some(f) => vec![(0.0, f)],
                None => envelope(&g.errors, &self.cost, &self.norm, g.allowed.as_deref()),
            };
            let Some(&(_, first)) = segs.first() else {
                continue;
            };
            base_cost += g.count * self.cost[first];
            base_correct += g.correct[first];
            for w in segs.windows(2) {
                let ((_, from), (lambda, to)) = (w[0], w[1]);
                events.push(Event {
                    lambda,
                    d_cost: g.count * (self.cost[to] - self.cost[from]),
                    d_correct: g.correct[to] - g.correct[from],
                });
            }
        }
        events.sort_by(|a, b| a.lambda.total_cmp(&b.lambda));
        Sweep {
            n: self.n as f64,
            base_cost,
            base_correct,
            events,
        }
    }
}

/// Every operating point of a set of prompts, as sorted events.
pub(crate) struct Sweep {
    n: f64,
    base_cost: f64,
    base_correct: f64,
    events: Vec<Event>,
}

impl Sweep {
    fn point(&self, lambda: f64, cost: f64, correct: f64) -> CurvePoint {
        CurvePoint {
            lambda,
            cost_preference: preference(lambda),
            mean_cost: cost / self.n,
            accuracy: correct / self.n,
        }
    }

    /// Number of distinct breakpoints (the exact curve has one more point).
    pub(crate) fn breakpoints(&self) -> usize {
        let mut n = 0;
        let mut last = f64::NAN;
        for e in &self.events {
            if e.lambda != last {
                n += 1;
                last = e.lambda;
            }
        }
        n
    }

    /// Every distinct operating point, λ increasing: the pick at λ = 0, then
    /// the pick between each breakpoint and the next, labelled with their
    /// geometric mean, and last the pick beyond the last breakpoint,
    /// labelled λ = ∞ (the same pick). Each label is a λ at which routing
    /// reproduces the point without a tie.
    pub(crate) fn exact(&self) -> Vec<CurvePoint> {
        let (mut cost, mut correct) = (self.base_cost, self.base_correct);
        // (λ from which it holds, cost, correct)
        let mut segs = vec![(0.0, cost, correct)];
        let mut i = 0;
        while i < self.events.len() {
            let lambda = self.events[i].lambda;
            while i < self.events.len() && self.events[i].lambda == lambda {
                cost += self.events[i].d_cost;
                correct += self.events[i].d_correct;
                i += 1;
            }
            if lambda <= 0.0 {
                segs[0] = (0.0, cost, correct);
            } else {
                segs.push((lambda, cost, correct));
            }
        }
        let last = segs.len() - 1;
        segs.iter()
            .enumerate()
            .map(|(k, &(from, cost, correct))| {
                let label = if k == 0 {
                    0.0
                } else if k == last {
                    f64::INFINITY
                } else {
                    // Float-adjacent breakpoints: keep the label inside.
                    let next = segs[k + 1].0;
                    let mid = (from * next).sqrt();
                    if mid > from && mid < next {
                        mid
                    } else {
                        from
                    }
                };
                self.point(label, cost, correct)
            })
            .collect()
    }

    /// One point per λ, in the given order (each λ ≥ 0 or +∞, not NaN).
    pub(crate) fn at(&self, lambdas: &[f64]) -> Vec<CurvePoint> {
        let mut order: Vec<usize> = (0..lambdas.len()).collect();
        order.sort_by(|&a, &b| lambdas[a].total_cmp(&lambdas[b]));
        let mut out = vec![self.point(0.0, 0.0, 0.0); lambdas.len()];
        let (mut cost, mut correct) = (self.base_cost, self.base_correct);
        let mut i = 0;
        for idx in order {
            let lambda = lambdas[idx];
            while i < self.events.len() && self.events[i].lambda <= lambda {
                cost += self.events[i].d_cost;
                correct += self.events[i].d_correct;
                i += 1;
            }
            out[idx] = self.point(lambda, cost, correct);
        }
        out
    }
}

/// Drops each point equal in cost and accuracy to the one before it.
pub(crate) fn dedup(points: Vec<CurvePoint>) -> Vec<CurvePoint> {
    let mut out: Vec<CurvePoint> = Vec::with_capacity(points.len());
    for p in points {
        if out
            .last()
            .is_some_and(|l| l.mean_cost == p.mean_cost && l.accuracy == p.accuracy)
        {
            continue;
        }
        out.push(p);
    }
    out
}

/// Checks λ values: each `≥ 0` or `+∞`.
pub(crate) fn check_lambdas(lambdas: &[f64]) -> Result<(), EvalError> {
    match lambdas.iter().find(|l| l.is_nan() || **l < 0.0) {
        Some(l) => Err(EvalError::Invalid {
            what: "lambdas".into(),
            reason: format!("each λ must be ≥ 0 (or +∞), got {l}"),
        }),
        None => Ok(()),
    }
}

fn sweep_of(
    expected: &[Vec<f64>],
    costs: &[f64],
    correctness: &[Vec<f64>],
) -> Result<Sweep, EvalError> {
    super::check_costs(costs)?;
    if expected.is_empty() {
        return Err(EvalError::Empty);
    }
    super::check_matrix("expected errors", expected, expected.len(), costs.len())?;
    super::check_correctness(correctness, expected.len(), costs.len())?;
    let mut b = SweepBuilder::new(costs);
    for (e, y) in expected.iter().zip(correctness) {
        b.add(e, None, None, y);
    }
    Ok(b.finish())
}

/// The deferral curve of a λ-scored router from per-prompt expected errors,
/// without a [`Router`](crate::route::Router): `expected[p][m]` is model
/// `m`'s expected error on prompt `p` (any finite score; lower is better),
/// `costs[m] > 0` its cost, `correctness[p][m] ∈ [0, 1]` the truth. Each
/// prompt goes to [`choose`]`(expected[p], costs, λ)`; the result has one
/// point per λ, in the given order.
///
/// This is what routing cross-validation needs: it runs in
/// `O(P · M² + E log E + L log L)` for `P` prompts, `M` models, `E ≤ P · M`
/// breakpoints and `L` λ values (thousands of prompts × hundreds of λ in a
/// few milliseconds), and rows that are equal (one per cluster, with hard
/// assignment) are walked once.
///
/// ```
/// use aurora_router::eval::{curve_from_expected_errors, qab, QAB_BUDGETS};
/// let expected = vec![vec![0.6, 0.1], vec![0.1, 0.1]];
/// let correct = vec![vec![0.0, 1.0], vec![1.0, 1.0]];
/// let costs = [1.0, 10.0];
/// let c = curve_from_expected_errors(&expected, &costs, &correct, &[0.0, 1.0, f64::INFINITY])?;
/// // λ = 0: prompt 0 to the big model, prompt 1 to the small one (equal errors).
/// assert_eq!((c[0].mean_cost, c[0].accuracy), (5.5, 1.0));
/// // λ = 1: 0.6 + 0.1 < 0.1 + 1: everything to the small model.
/// assert_eq!((c[1].mean_cost, c[1].accuracy), (1.0, 0.5));
/// assert_eq!(c[1], c[2].into_lambda(1.0));
/// let q = qab(&c, 10.0, &QAB_BUDGETS);
/// assert!(q.values[0] == 0.0 && q.values[8] == 1.0);
/// # Ok::<(), aurora_router::eval::EvalError>(())
/// ```
pub fn curve_from_expected_errors(
    expected: &[Vec<f64>],
    costs: &[f64],
    correctness: &[Vec<f64>],
    lambdas: &[f64],
) -> Result<Vec<CurvePoint>, EvalError> {
    check_lambdas(lambdas)?;
    Ok(sweep_of(expected, costs, correctness)?.at(lambdas))
}

/// Every distinct operating point of the router of
/// [`curve_from_expected_errors`], λ increasing: the pick at λ = 0, one point
/// per interval between consecutive λ at which some prompt's pick changes,
/// and the pick at λ = ∞. Each point's `lambda` lies strictly inside its
/// interval (the geometric mean of its ends; 0 and ∞ at the ends), so
/// routing at that λ reproduces it. Mean cost strictly decreases along the
/// result.
///
/// ```
/// use aurora_router::eval::exact_curve;
/// // One prompt: the pick changes where 0.6 + 0.1 λ = 0.1 + λ, at λ = 5/9.
/// let c = exact_curve(&[vec![0.6, 0.1]], &[1.0, 10.0], &[vec![0.0, 1.0]])?;
/// assert_eq!(c.len(), 2);
/// assert_eq!((c[0].lambda, c[0].mean_cost, c[0].accuracy), (0.0, 10.0, 1.0));
/// assert_eq!((c[1].lambda, c[1].mean_cost, c[1].accuracy), (f64::INFINITY, 1.0, 0.0));
/// # Ok::<(), aurora_router::eval::EvalError>(())
/// ```
pub fn exact_curve(
    expected: &[Vec<f64>],
    costs: &[f64],
    correctness: &[Vec<f64>],
) -> Result<Vec<CurvePoint>, EvalError> {
    Ok(sweep_of(expected, costs, correctness)?.exact())
}

impl CurvePoint {
    /// The same operating point labelled with another `λ` (and its cost
    /// preference).
    pub fn into_lambda(self, lambda: f64) -> Self {
        Self {
            lambda,
            cost_preference: preference(lambda),
            ..self
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A small deterministic generator (no `rand` dependency).
    fn lcg(s: &mut u64) -> f64 {
        *s = s
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        (*s >> 11) as f64 / (1u64 << 53) as f64
    }

    #[test]
    fn sweep_matches_choose_everywhere() {
        let mut s = 7u64;
        let costs = [3.8, 7.2, 8.0, 35.0, 12.9, 70.6, 94.0, 6.0, 100.0, 6.0];
        let m = costs.len();
        let expected: Vec<Vec<f64>> = (0..500)
            .map(|_| {
                (0..m)
                    .map(|_| (lcg(&mut s) * 20.0).round() / 20.0)
                    .collect()
            })
            .collect();
        let correct: Vec<Vec<f64>> = (0..500)
            .map(|_| (0..m).map(|_| f64::from(lcg(&mut s) < 0.5)).collect())
            .collect();
        let lambdas = default_lambdas();
        let curve = curve_from_expected_errors(&expected, &costs, &correct, &lambdas).unwrap();
        for (l, p) in lambdas.iter().zip(&curve) {
            let (mut c, mut y) = (0.0, 0.0);
            for (e, r) in expected.iter().zip(&correct) {
                let k = choose(e, &costs, *l);
                c += costs[k];
                y += r[k];
            }
            assert!((p.mean_cost - c / 500.0).abs() < 1e-9, "λ = {l}");
            assert!((p.accuracy - y / 500.0).abs() < 1e-9, "λ = {l}");
        }
        let exact = exact_curve(&expected, &costs, &correct).unwrap();
        assert!(exact.windows(2).all(|w| w[1].mean_cost < w[0].mean_cost));
        // Every exact point is the pick from its λ on.
        for p in &exact {
            let q = curve_from_expected_errors(&expected, &costs, &correct, &[p.lambda]).unwrap();
            assert!((q[0].mean_cost - p.mean_cost).abs() < 1e-9);
        }
        let last = exact.last().unwrap();
        assert!((last.mean_cost - curve.last().unwrap().mean_cost).abs() < 1e-9);
    }

    #[test]
    fn fixed_and_masked_groups() {
        let mut b = SweepBuilder::new(&[1.0, 10.0]);
        b.add(&[0.9, 0.0], None, Some(1), &[0.0, 1.0]);
        b.add(&[0.9, 0.0], Some(&[false, true]), None, &[0.0, 1.0]);
        let s = b.finish();
        assert_eq!(s.breakpoints(), 0);
        let p = s.at(&[f64::INFINITY]);
        assert_eq!((p[0].mean_cost, p[0].accuracy), (10.0, 1.0));
    }
}
