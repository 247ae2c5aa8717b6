//! The miner: cluster the incoming messages, then split each cluster by the
//! kind of reply it got.

use std::collections::{HashMap, HashSet};

use ndarray::{Array2, ArrayView2, Axis};

use super::{PairSet, Template, TemplateError, TemplatesSection};
use crate::cluster::kmeans::SphericalKMeans;

/// Default [`MineParams::coherence_weight`], chosen on a validation split
/// of the training dialogues (see BENCHMARKS.md).
pub const DEFAULT_COHERENCE_WEIGHT: f32 = 0.0;

/// Miner parameters, unchecked (builder).
///
/// ```
/// use aurora_router::templates::MineParams;
/// let p = MineParams::new().min_support(3).max_templates(200).seed(7).check().unwrap();
/// assert_eq!(p.max_templates(), 200);
/// assert!(MineParams::new().max_templates(0).check().is_err());
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct MineParams {
    min_support: usize,
    max_templates: usize,
    seed: u64,
    incoming_clusters: Option<usize>,
    response_clusters: Option<usize>,
    variants: usize,
    kmeans_iterations: u64,
    coherence_weight: f32,
}

/// Checked miner parameters.
#[derive(Debug, Clone, PartialEq)]
pub struct MineValidParams(MineParams);

impl Default for MineParams {
    fn default() -> Self {
        Self::new()
    }
}

impl MineParams {
    /// Defaults: min support 5, at most 400 templates, seed 42, incoming
    /// clusters = max templates, 96 response clusters, 8 variants.
    pub fn new() -> Self {
        MineParams {
            min_support: 5,
            max_templates: 400,
            seed: 42,
            incoming_clusters: None,
            response_clusters: None,
            variants: 8,
            kmeans_iterations: 25,
            coherence_weight: DEFAULT_COHERENCE_WEIGHT,
        }
    }
    /// A pattern needs at least this many pairs to become a template.
    pub fn min_support(mut self, n: usize) -> Self {
        self.min_support = n;
        self
    }
    /// Keep at most this many templates (the best supported).
    pub fn max_templates(mut self, k: usize) -> Self {
        self.max_templates = k;
        self
    }
    /// Seed of the clusterings.
    pub fn seed(mut self, s: u64) -> Self {
        self.seed = s;
        self
    }
    /// Number of incoming-message clusters (default: `max_templates`,
    /// capped by the number of pairs / min support).
    pub fn incoming_clusters(mut self, k: usize) -> Self {
        self.incoming_clusters = Some(k);
        self
    }
    /// Number of reply clusters (default 96, chosen on a validation split, capped by the pairs).
    pub fn response_clusters(mut self, k: usize) -> Self {
        self.response_clusters = Some(k);
        self
    }
    /// Variants kept per side of each template.
    pub fn variants(mut self, n: usize) -> Self {
        self.variants = n;
        self
    }
    /// Weight of `ln(coherence)` in the matching score (see
    /// [`TemplatesSection::coherence_weight`]).
    pub fn coherence_weight(mut self, w: f32) -> Self {
        self.coherence_weight = w;
        self
    }
    /// Maximum KMeans iterations.
    pub fn kmeans_iterations(mut self, n: u64) -> Self {
        self.kmeans_iterations = n;
        self
    }
    /// Validates.
    pub fn check(self) -> Result<MineValidParams, TemplateError> {
        let bad = |name, reason: &str| {
            Err(TemplateError::InvalidParam {
                name,
                reason: reason.to_string(),
            })
        };
        if self.min_support < 1 {
            return bad("min_support", "must be at least 1");
        }
        if self.max_templates < 1 {
            return bad("max_templates", "must be at least 1");
        }
        if self.incoming_clusters == Some(0) {
            return bad("incoming_clusters", "must be at least 1");
        }
        if self.response_clusters == Some(0) {
            return bad("response_clusters", "must be at least 1");
        }
        if !(self.coherence_weight >= 0.0 && self.coherence_weight.is_finite()) {
            return bad("coherence_weight", "must be a finite number ≥ 0");
        }
        if self.kmeans_iterations < 1 {
            return bad("kmeans_iterations", "must be at least 1");
        }
        Ok(MineValidParams(self))
    }
}

impl MineValidParams {
    /// Minimum support.
    pub fn min_support(&self) -> usize {
        self.0.min_support
    }
    /// Maximum number of templates.
    pub fn max_templates(&self) -> usize {
        self.0.max_templates
    }
    /// Seed.
    pub fn seed(&self) -> u64 {
        self.0.seed
    }
    fn as_json(&self, k_in: usize, k_out: usize) -> serde_json::Value {
        serde_json::json!({
            "min_support": self.0.min_support,
            "max_templates": self.0.max_templates,
            "seed": self.0.seed,
            "incoming_clusters": k_in,
            "response_clusters": k_out,
            "variants": self.0.variants,
        })
    }
}

fn kmeans(
    x: ArrayView2<'_, f32>,
    k: usize,
    p: &MineValidParams,
) -> Result<Vec<usize>, TemplateError> {
    let fit = SphericalKMeans::params(k)
        .seed(p.0.seed)
        .n_runs(1)
        .max_iterations(p.0.kmeans_iterations)
        .check()
        .and_then(|kp| kp.fit(x))
        .map_err(|e| TemplateError::Cluster(e.to_string()))?;
    Ok(fit.labels)
}

/// Members of `idx` ordered by decreasing cosine to their mean direction:
/// the first is the medoid (for unit vectors, the member with the largest
/// summed similarity to the others).
fn by_centrality(x: ArrayView2<'_, f32>, idx: &[usize]) -> Vec<usize> {
    let mut mean = ndarray::Array1::<f32>::zeros(x.ncols());
    for &i in idx {
        mean += &x.row(i);
    }
    let mut scored: Vec<(f32, usize)> = idx.iter().map(|&i| (x.row(i).dot(&mean), i)).collect();
    scored.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
    scored.into_iter().map(|(_, i)| i).collect()
}

/// The first text and up to `n` further distinct texts, in order.
fn pick(order: &[usize], text: impl Fn(usize) -> String, n: usize) -> (String, usize, Vec<String>) {
    let mut seen = HashSet::new();
    let mut out = Vec::new();
    let mut first = 0;
    for &i in order {
        let t = text(i);
        if seen.insert(t.trim().to_lowercase()) {
            if out.is_empty() {
                first = i;
            }
            out.push(t);
            if out.len() > n {
                break;
            }
        }
    }
    let head = out.remove(0);
    (head, first, out)
}

/// The most common reply label of `members` (ties: the first seen), if
/// any member has one.
fn majority_label(set: &PairSet, members: &[usize]) -> Option<Vec<String>> {
    let mut counts: Vec<(&Vec<String>, usize)> = Vec::new();
    for &i in members {
        if let Some(a) = &set.pairs[i].acts {
            match counts.iter_mut().find(|(l, _)| *l == a) {
                Some((_, c)) => *c += 1,
                None => counts.push((a, 1)),
            }
        }
    }
    let best = counts.iter().map(|(_, c)| *c).max()?;
    counts
        .into_iter()
        .find(|(_, c)| *c == best)
        .map(|(l, _)| l.clone())
}

/// Mines templates from `set`, whose texts are embedded by `x` (rows as
/// [`PairSet`] documents them, L2-normalised), made by `model`.
///
/// Incoming messages are clustered by spherical KMeans; replies too,
/// globally. Each (incoming cluster, reply cluster) cell with at least
/// `min_support` pairs becomes a template: its representatives are the
/// cell's medoids (the reply's among the cell's most common reply label,
/// when the pairs carry `acts`), its coherence the cell's share of its
/// incoming cluster.
/// The `max_templates` best-supported cells are kept.
pub fn mine(
    set: &PairSet,
    x: ArrayView2<'_, f32>,
    model: &str,
    params: &MineValidParams,
) -> Result<TemplatesSection, TemplateError> {
    let n = set.len();
    if n == 0 {
        return Err(TemplateError::EmptyPairs(set.source.clone()));
    }
    if x.nrows() != set.rows {
        return Err(TemplateError::InvalidParam {
            name: "embeddings",
            reason: format!(
                "{} rows, but {} has {} texts (one row per text)",
                x.nrows(),
                set.source,
                set.rows
            ),
        });
    }
    let p = &params.0;
    let xin: Array2<f32> = x.select(Axis(0), &set.incoming_rows);
    let xout: Array2<f32> = x.select(Axis(0), &set.response_rows);
    let cap = (n / p.min_support).max(1);
    let k_in = p
        .incoming_clusters
        .unwrap_or(p.max_templates)
        .min(cap)
        .min(n);
    let k_out = p.response_clusters.unwrap_or(96).min(cap).min(n);
    let lin = kmeans(xin.view(), k_in, params)?;
    let lout = kmeans(xout.view(), k_out, params)?;

    let mut cluster_size = vec![0usize; k_in];
    let mut cells: HashMap<(usize, usize), Vec<usize>> = HashMap::new();
    for i in 0..n {
        cluster_size[lin[i]] += 1;
        cells.entry((lin[i], lout[i])).or_default().push(i);
    }
    let mut cells: Vec<((usize, usize), Vec<usize>)> = cells
        .into_iter()
        .filter(|(_, m)| m.len() >= p.min_support)
        .collect();
    if cells.is_empty() {
        return Err(TemplateError::NoTemplates {
            min_support: p.min_support,
            pairs: n,
        });
    }
    cells.sort_by(|a, b| b.1.len().cmp(&a.1.len()).then(a.0.cmp(&b.0)));
    cells.truncate(p.max_templates);

    let templates = cells
        .iter()
        .map(|((c, _), members)| {
            let in_order = by_centrality(xin.view(), members);
            // When the replies carry labels (SGD acts), the representative
            // reply is the medoid of the cell's most common label.
            let majority = majority_label(set, members);
            let labelled: Vec<usize> = match &majority {
                Some(l) => members
                    .iter()
                    .copied()
                    .filter(|&i| set.pairs[i].acts.as_ref() == Some(l))
                    .collect(),
                None => members.clone(),
            };
            let out_order = by_centrality(xout.view(), &labelled);
            let (inc, _, inc_var) = pick(&in_order, |i| set.pairs[i].incoming.clone(), p.variants);
            let (resp, ri, resp_var) =
                pick(&out_order, |i| set.pairs[i].response.clone(), p.variants);
            Template {
                representative_incoming: inc,
                representative_response: resp,
                incoming_variants: inc_var,
                response_variants: resp_var,
                support: members.len() as u64,
                coherence: members.len() as f32 / cluster_size[*c] as f32,
                response_acts: set.pairs[ri].acts.clone(),
            }
        })
        .collect();
    Ok(TemplatesSection {
        format: super::FORMAT_VERSION.to_string(),
        mining_model: model.to_string(),
        pairs: n as u64,
        params: params.as_json(k_in, k_out),
        coherence_weight: p.coherence_weight,
        templates,
        calibrations: Vec::new(),
    })
}
