//! The λ choice rule: which model a router picks from expected errors.

/// The allowed model minimising `errors[m] + λ · cost_norm[m]`
/// (`cost_norm = cost / max_cost`); ties go to the lower cost, then the
/// lower error, then the lower index. `λ = ∞` is pure cost. `None` when no
/// model is allowed. This is the rule of the [`Router`](crate::route::Router)
/// and of every curve and baseline that simulates it.
///
/// ```
/// use aurora_router::routing::choose_among;
/// let (e, cost, norm) = ([0.4, 0.1], [1.0, 10.0], [0.1, 1.0]);
/// assert_eq!(choose_among(&e, &cost, &norm, 0.0, |_| true), Some(1));
/// assert_eq!(choose_among(&e, &cost, &norm, 0.0, |m| m == 0), Some(0));
/// assert_eq!(choose_among(&e, &cost, &norm, 0.0, |_| false), None);
/// ```
#[inline]
pub fn choose_among(
    errors: &[f64],
    costs: &[f64],
    cost_norm: &[f64],
    lambda: f64,
    allowed: impl Fn(usize) -> bool,
) -> Option<usize> {
    let pure_cost = lambda.is_infinite();
    let mut best: Option<(usize, f64)> = None;
    let n = errors.len().min(costs.len()).min(cost_norm.len());
    for m in 0..n {
        if !allowed(m) {
            continue;
        }
        let e = errors[m];
        let score = if pure_cost {
            cost_norm[m]
        } else {
            e + lambda * cost_norm[m]
        };
        let better = match best {
            None => true,
            Some((b, bs)) => {
                score < bs
                    || (score == bs
                        && (costs[m] < costs[b] || (costs[m] == costs[b] && e < errors[b])))
            }
        };
        if better {
            best = Some((m, score));
        }
    }
    best.map(|(m, _)| m)
}

/// [`choose_among`] over every model, normalising the costs here.
///
/// ```
/// use aurora_router::routing::choose;
/// let (errors, costs) = ([0.4, 0.1], [1.0, 10.0]);
/// assert_eq!(choose(&errors, &costs, 0.0), 1);
/// assert_eq!(choose(&errors, &costs, 1.0), 0); // 0.4 + 0.1 < 0.1 + 1
/// assert_eq!(choose(&errors, &costs, f64::INFINITY), 0);
/// ```
///
/// # Panics
///
/// If `expected` and `costs` differ in length or are empty.
pub fn choose(expected: &[f64], costs: &[f64], lambda: f64) -> usize {
    assert!(
        !costs.is_empty() && expected.len() == costs.len(),
        "choose: {} errors for {} costs",
        expected.len(),
        costs.len()
    );
    let max = costs.iter().copied().fold(f64::MIN_POSITIVE, f64::max);
    let norm: Vec<f64> = costs.iter().map(|c| c / max).collect();
    choose_among(expected, costs, &norm, lambda, |_| true).unwrap_or(0)
}
