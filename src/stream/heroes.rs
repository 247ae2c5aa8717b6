//! Hero selection: the best few items of a cluster, by
//! `w_c · centrality + w_q · quality + w_r · recency`.

use super::group::Group;
use super::stats::dot;
use super::CheckedStreamParams;

/// The hero scoring weights and count.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct HeroWeights {
    pub centrality: f32,
    pub quality: f32,
    pub recency: f32,
    pub half_life: f64,
    pub n: usize,
}

impl From<&CheckedStreamParams> for HeroWeights {
    fn from(p: &CheckedStreamParams) -> Self {
        HeroWeights {
            centrality: p.hero_centrality,
            quality: p.hero_quality,
            recency: p.hero_recency,
            half_life: p.recency_half_life,
            n: p.heroes,
        }
    }
}

/// Last timestamp of the cluster at `pos` (recency is measured from it, so
/// scores depend only on the cluster, never on the wall clock).
pub(crate) fn last_seen(g: &Group, pos: usize) -> f64 {
    g.clusters[pos]
        .members
        .iter()
        .map(|&m| g.item(m).timestamp)
        .fold(f64::NEG_INFINITY, f64::max)
}

/// An item's hero score within the cluster at `pos`.
pub(crate) fn score(g: &Group, pos: usize, slot: u32, last: f64, w: &HeroWeights) -> f32 {
    let item = g.item(slot);
    let centrality = dot(&g.clusters[pos].centre, &item.vector());
    let quality = item.quality.unwrap_or(0.0);
    let age = (last - item.timestamp).max(0.0);
    let recency = (-(age / w.half_life) * std::f64::consts::LN_2).exp() as f32;
    w.centrality * centrality + w.quality * quality + w.recency * recency
}

/// The `n` best members, best first; ties go to the earlier arrival.
pub(crate) fn select(g: &Group, pos: usize, n: usize, w: &HeroWeights) -> Vec<u32> {
    let last = last_seen(g, pos);
    let mut scored: Vec<(f32, usize, u32)> = g.clusters[pos]
        .members
        .iter()
        .enumerate()
        .map(|(i, &m)| (score(g, pos, m, last, w), i, m))
        .collect();
    scored.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
    scored.into_iter().take(n).map(|(_, _, m)| m).collect()
}
