//! Where models fail: χ² tests of independence between node and
//! correctness, Fisher's exact test, Cramér's V and Benjamini–Hochberg
//! q-values, matching `scipy.stats` (checked by `tests/taxonomy_stats.rs`
//! against values from `benches/peers/taxonomy_stats_peer.py`).
//!
//! * Per model and depth `d`: the table node-at-depth-`d` × {correct, wrong}
//!   (items whose path stops above `d` count in their deepest node), tested
//!   with `scipy.stats.chi2_contingency` semantics (Yates' correction only
//!   when the table has one degree of freedom), with Cramér's V from the
//!   uncorrected statistic (`scipy.stats.contingency.association`).
//! * Per model and node: the node's items against the rest of its parent's
//!   items, a 2 × 2 table; Fisher's exact test (two-sided) when any expected
//!   count is below 5, else `chi2_contingency` (with Yates' correction).
//! * q-values: Benjamini–Hochberg over all node tests of one model
//!   (`scipy.stats.false_discovery_control(method="bh")`).
//! * A model is *significantly worse* at a node when q < α, the node's
//!   accuracy is below the rest of its parent's, and below the model's own
//!   overall accuracy.
//!
//! A correctness value counts as correct when it is at least 0.5.

use serde::Serialize;

use super::annotate::Annotation;
use super::{Taxonomy, TaxonomyError};

/// `ln Γ(x)` for `x > 0` (Lanczos, g = 7, 9 terms; ~1e-15 relative).
pub fn ln_gamma(x: f64) -> f64 {
    const G: [f64; 9] = [
        0.999_999_999_999_809_9,
        676.520_368_121_885_1,
        -1_259.139_216_722_402_8,
        771.323_428_777_653_1,
        -176.615_029_162_140_6,
        12.507_343_278_686_905,
        -0.138_571_095_265_720_12,
        9.984_369_578_019_572e-6,
        1.505_632_735_149_311_6e-7,
    ];
    if x < 0.5 {
        let pi = std::f64::consts::PI;
        return (pi / (pi * x).sin()).ln() - ln_gamma(1.0 - x);
    }
    let x = x - 1.0;
    let mut a = G[0];
    let t = x + 7.5;
    for (i, &g) in G.iter().enumerate().skip(1) {
        a += g / (x + i as f64);
    }
    0.5 * (2.0 * std::f64::consts::PI).ln() + (x + 0.5) * t.ln() - t + a.ln()
}

/// Regularised upper incomplete gamma `Q(a, x)`.
fn gamma_q(a: f64, x: f64) -> f64 {
    if x <= 0.0 {
        return 1.0;
    }
    let lnpre = -x + a * x.ln() - ln_gamma(a);
    if x < a + 1.0 {
        // Series for P.
        let (mut sum, mut term, mut ap) = (1.0 / a, 1.0 / a, a);
        for _ in 0..10_000 {
            ap += 1.0;
            term *= x / ap;
            sum += term;
            if term.abs() < sum.abs() * 1e-16 {
                break;
            }
        }
        (1.0 - sum * lnpre.exp()).max(0.0)
    } else {
        // Continued fraction for Q (modified Lentz).
        let tiny = 1e-300;
        let mut b = x + 1.0 - a;
        let mut c = 1.0 / tiny;
        let mut d = 1.0 / b;
        let mut h = d;
        for i in 1..10_000 {
            let an = -(i as f64) * (i as f64 - a);
            b += 2.0;
            d = an * d + b;
            if d.abs() < tiny {
                d = tiny;
            }
            c = b + an / c;
            if c.abs() < tiny {
                c = tiny;
            }
            d = 1.0 / d;
            let del = d * c;
            h *= del;
            if (del - 1.0).abs() < 1e-16 {
                break;
            }
        }
        (lnpre.exp() * h).clamp(0.0, 1.0)
    }
}

/// Survival function of the χ² distribution with `dof` degrees of freedom.
///
/// ```
/// use aurora_router::taxonomy::stats::chi2_sf;
/// assert!((chi2_sf(3.841458820694124, 1.0) - 0.05).abs() < 1e-9);
/// ```
pub fn chi2_sf(x: f64, dof: f64) -> f64 {
    gamma_q(dof / 2.0, x / 2.0)
}

/// A χ² test result.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct ChiSquare {
    /// The statistic.
    pub statistic: f64,
    /// Degrees of freedom.
    pub dof: usize,
    /// The p-value.
    pub p_value: f64,
}

fn expected(table: &[Vec<f64>]) -> Option<Vec<Vec<f64>>> {
    let n: f64 = table.iter().flatten().sum();
    let cols = table.first()?.len();
    let rs: Vec<f64> = table.iter().map(|r| r.iter().sum()).collect();
    let cs: Vec<f64> = (0..cols)
        .map(|j| table.iter().map(|r| r[j]).sum())
        .collect();
    if n <= 0.0 || rs.contains(&0.0) || cs.contains(&0.0) {
        return None;
    }
    Some(
        rs.iter()
            .map(|r| cs.iter().map(|c| r * c / n).collect())
            .collect(),
    )
}

/// `scipy.stats.chi2_contingency(table, correction)`: `None` when a row or
/// column sums to zero (scipy raises) or the table is smaller than 2 × 2.
pub fn chi2_contingency(table: &[Vec<f64>], correction: bool) -> Option<ChiSquare> {
    let e = expected(table)?;
    let (r, c) = (table.len(), table[0].len());
    if r < 2 || c < 2 {
        return None;
    }
    let dof = (r - 1) * (c - 1);
    let mut stat = 0.0;
    for (row, erow) in table.iter().zip(&e) {
        for (&o, &ex) in row.iter().zip(erow) {
            let mut o = o;
            if correction && dof == 1 {
                let diff = ex - o;
                o += diff.signum() * diff.abs().min(0.5);
            }
            stat += (o - ex) * (o - ex) / ex;
        }
    }
    Some(ChiSquare {
        statistic: stat,
        dof,
        p_value: chi2_sf(stat, dof as f64),
    })
}

/// Cramér's V of a table (from the uncorrected χ²).
pub fn cramers_v(table: &[Vec<f64>]) -> Option<f64> {
    let chi = chi2_contingency(table, false)?;
    let n: f64 = table.iter().flatten().sum();
    let m = table.len().min(table[0].len()) - 1;
    Some((chi.statistic / (n * m as f64)).sqrt())
}

/// Two-sided Fisher's exact test of `[[a, b], [c, d]]`, as
/// `scipy.stats.fisher_exact`: the sum of the hypergeometric probabilities
/// of every table with the same margins that is no more likely than the
/// observed one.
///
/// ```
/// use aurora_router::taxonomy::stats::fisher_exact;
/// // scipy.stats.fisher_exact([[8, 2], [1, 5]]).pvalue
/// assert!((fisher_exact(8, 2, 1, 5) - 0.034965034965035).abs() < 1e-12);
/// ```
pub fn fisher_exact(a: u64, b: u64, c: u64, d: u64) -> f64 {
    let (r1, r2, c1) = (a + b, c + d, a + c);
    let n = r1 + r2;
    if r1 == 0 || r2 == 0 || c1 == 0 || c1 == n {
        return 1.0;
    }
    let lf = |k: u64| ln_gamma(k as f64 + 1.0);
    let base = lf(r1) + lf(r2) + lf(c1) + lf(n - c1) - lf(n);
    let logp = |x: u64| base - lf(x) - lf(r1 - x) - lf(c1 - x) - lf(r2 + x - c1);
    let lo = c1.saturating_sub(r2);
    let hi = r1.min(c1);
    let obs = logp(a);
    let mut p = 0.0;
    for x in lo..=hi {
        let lx = logp(x);
        if lx <= obs + 1e-7 {
            p += lx.exp();
        }
    }
    p.min(1.0)
}

/// Benjamini–Hochberg q-values, in the order of `p`.
///
/// ```
/// use aurora_router::taxonomy::stats::bh_qvalues;
/// let q = bh_qvalues(&[0.01, 0.04, 0.03]);
/// assert!((q[0] - 0.03).abs() < 1e-12 && (q[1] - 0.04).abs() < 1e-12 && (q[2] - 0.04).abs() < 1e-12);
/// ```
pub fn bh_qvalues(p: &[f64]) -> Vec<f64> {
    let m = p.len();
    let mut order: Vec<usize> = (0..m).collect();
    order.sort_by(|&a, &b| p[a].total_cmp(&p[b]));
    let mut q = vec![0.0; m];
    let mut running = 1.0f64;
    for rank in (0..m).rev() {
        let i = order[rank];
        running = running.min(p[i] * m as f64 / (rank + 1) as f64);
        q[i] = running.min(1.0);
    }
    q
}

/// The χ² test of one model at one depth.
#[derive(Debug, Clone, Serialize)]
pub struct DepthTest {
    /// The depth.
    pub depth: usize,
    /// Groups (nodes) in the table.
    pub nodes: usize,
    /// χ² statistic (`None` when the table is degenerate).
    pub chi2: Option<f64>,
    /// Degrees of freedom.
    pub dof: Option<usize>,
    /// p-value.
    pub p_value: Option<f64>,
    /// Cramér's V.
    pub cramers_v: Option<f64>,
}

/// One model at one node, against the rest of the node's parent.
#[derive(Debug, Clone, Serialize)]
pub struct NodeTest {
    /// The node.
    pub node: usize,
    /// Its name.
    pub name: String,
    /// Its depth.
    pub depth: usize,
    /// Items in the node.
    pub n: usize,
    /// The model's accuracy on them.
    pub accuracy: f64,
    /// Items in the rest of the parent.
    pub rest_n: usize,
    /// The model's accuracy on the rest of the parent.
    pub rest_accuracy: f64,
    /// `fisher` or `chi2`.
    pub test: &'static str,
    /// χ² statistic (chi2 only).
    pub statistic: Option<f64>,
    /// p-value.
    pub p_value: f64,
    /// Benjamini–Hochberg q-value over this model's node tests.
    pub q_value: f64,
}

/// All tests of one model.
#[derive(Debug, Clone, Serialize)]
pub struct ModelStats {
    /// The model.
    pub model: String,
    /// Its overall accuracy on the annotated items.
    pub accuracy: f64,
    /// Per-depth χ² tests.
    pub depths: Vec<DepthTest>,
    /// Per-node tests.
    pub nodes: Vec<NodeTest>,
    /// Nodes where the model is significantly worse (see the module docs),
    /// most significant first.
    pub worse: Vec<usize>,
}

/// The statistics report.
#[derive(Debug, Clone, Serialize)]
pub struct StatsReport {
    /// Items tested.
    pub items: usize,
    /// Significance level for `worse`.
    pub alpha: f64,
    /// One entry per model.
    pub models: Vec<ModelStats>,
}

/// Runs every test. `correct[i][m]` is model `m` on annotation `i`.
pub fn stats(
    tree: &Taxonomy,
    annotations: &[Annotation],
    models: &[String],
    correct: &[Vec<f64>],
    alpha: f64,
) -> Result<StatsReport, TaxonomyError> {
    if correct.len() != annotations.len() {
        return Err(TaxonomyError::DimensionMismatch {
            what: "results rows (one per annotation)".into(),
            expected: annotations.len(),
            got: correct.len(),
        });
    }
    let max_depth = tree.max_depth();
    let mut out = Vec::new();
    for (m, model) in models.iter().enumerate() {
        let ok: Vec<bool> = correct.iter().map(|r| r[m] >= 0.5).collect();
        let n_ok = ok.iter().filter(|&&b| b).count();
        let accuracy = n_ok as f64 / ok.len() as f64;
        let mut depths = Vec::new();
        for d in 1..=max_depth {
            let mut rows: std::collections::BTreeMap<usize, [f64; 2]> = Default::default();
            for (a, &c) in annotations.iter().zip(&ok) {
                rows.entry(a.node_at(d)).or_default()[usize::from(!c)] += 1.0;
            }
            let table: Vec<Vec<f64>> = rows.values().map(|r| r.to_vec()).collect();
            let chi = chi2_contingency(&table, true);
            depths.push(DepthTest {
                depth: d,
                nodes: table.len(),
                chi2: chi.map(|c| c.statistic),
                dof: chi.map(|c| c.dof),
                p_value: chi.map(|c| c.p_value),
                cramers_v: cramers_v(&table),
            });
        }
        let mut nodes = Vec::new();
        for node in tree.nodes.iter().skip(1) {
            let parent = node.parent.unwrap_or(0);
            let (mut a, mut b, mut c, mut dd) = (0u64, 0u64, 0u64, 0u64);
            for (ann, &okv) in annotations.iter().zip(&ok) {
                if ann.path.get(node.depth) == Some(&node.id) {
                    if okv {
                        a += 1
                    } else {
                        b += 1
                    }
                } else if ann.path.get(node.depth - 1) == Some(&parent) {
                    if okv {
                        c += 1
                    } else {
                        dd += 1
                    }
                }
            }
            if a + b == 0 || c + dd == 0 {
                continue;
            }
            let table = vec![vec![a as f64, b as f64], vec![c as f64, dd as f64]];
            let small = expected(&table).is_none_or(|e| e.iter().flatten().any(|&x| x < 5.0));
            let (test, statistic, p_value) = match chi2_contingency(&table, true) {
                Some(chi) if !small => ("chi2", Some(chi.statistic), chi.p_value),
                _ => ("fisher", None, fisher_exact(a, b, c, dd)),
            };
            nodes.push(NodeTest {
                node: node.id,
                name: node.name.clone(),
                depth: node.depth,
                n: (a + b) as usize,
                accuracy: a as f64 / (a + b) as f64,
                rest_n: (c + dd) as usize,
                rest_accuracy: c as f64 / (c + dd) as f64,
                test,
                statistic,
                p_value,
                q_value: 1.0,
            });
        }
        let q = bh_qvalues(&nodes.iter().map(|t| t.p_value).collect::<Vec<_>>());
        for (t, q) in nodes.iter_mut().zip(q) {
            t.q_value = q;
        }
        let mut worse: Vec<&NodeTest> = nodes
            .iter()
            .filter(|t| t.q_value < alpha && t.accuracy < t.rest_accuracy && t.accuracy < accuracy)
            .collect();
        worse.sort_by(|x, y| x.q_value.total_cmp(&y.q_value).then(x.node.cmp(&y.node)));
        let worse = worse.iter().map(|t| t.node).collect();
        out.push(ModelStats {
            model: model.clone(),
            accuracy,
            depths,
            nodes,
            worse,
        });
    }
    Ok(StatsReport {
        items: annotations.len(),
        alpha,
        models: out,
    })
}
