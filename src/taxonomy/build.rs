//! The recursive builder: reduce each node's own points, split them, keep
//! noise at the node, recurse into children whose silhouette is low.
//!
//! For a node at depth `d` with `n` items:
//! 1. `min_cluster_size = max(floor, n_total · base_pct · decay^d)` (the
//!    seed's rule). A node with fewer than `2 · min_cluster_size` items is a
//!    leaf.
//! 2. Its embeddings (re-embedded with the depth's [`Embedder`] when one is
//!    given) are reduced by a PCA or a UMAP fitted on these points only (the
//!    "zoom"), or used as given (`none`). After UMAP, HDBSCAN and the
//!    silhouette read Euclidean distances on the layout (as umap-learn +
//!    hdbscan do); otherwise cosine.
//! 3. Split candidates, scored by mean cosine silhouette over the non-noise
//!    points (`cluster::silhouette`): HDBSCAN with that `min_cluster_size`
//!    (`cluster::Hdbscan`), and/or spherical KMeans for every
//!    `K ∈ 2..=min(max_children, n / min_cluster_size)`
//!    (`cluster::kmeans`), where KMeans clusters smaller than
//!    `min_cluster_size` become noise. The best split wins (`auto`).
//! 4. Noise stays at the node and is counted. Children are ordered largest
//!    first; a child is split again only when its own silhouette (the mean
//!    over its members in this split) is below the threshold and its depth
//!    is below `max_depth`.
//!
//! Everything is seeded and summed in a fixed order: the same inputs and
//! seed give the same tree, byte for byte.

use ndarray::{Array2, ArrayView2, Axis};
use rayon::prelude::*;

use super::ctfidf;
use super::naming::{keyword_name, mmr_representatives};
use super::params::{Method, Reduce, TaxonomyValidParams};
use super::{Taxonomy, TaxonomyError, TaxonomyNode};
use crate::cluster::kmeans::SphericalKMeans;
use crate::cluster::silhouette::{silhouette, SilhouetteSample};
use crate::cluster::umap::{umap_with_distances, UmapParams};
use crate::cluster::{DistanceMatrix, Hdbscan};
use crate::embed::Embedder;
use crate::profile::F16Matrix;

/// Largest number of points a silhouette is averaged over (a seeded sample
/// above it).
const SILHOUETTE_SAMPLE: usize = 3000;

/// The items to build a taxonomy from.
#[derive(Debug, Clone, Copy)]
pub struct BuildInput<'a> {
    /// Item ids (written as representatives).
    pub ids: &'a [String],
    /// Item texts (for c-TF-IDF and re-embedding).
    pub texts: &'a [String],
    /// One L2-normalised embedding per item.
    pub embeddings: ArrayView2<'a, f32>,
    /// The model that made `embeddings`.
    pub embedding_model: &'a str,
    /// Whether the embeddings come from the mock Cactus.
    pub is_mock: bool,
}

/// One split of a node.
struct Split {
    /// Per point: cluster `0..k` or `-1` (noise).
    labels: Vec<i32>,
    k: usize,
    silhouette: f64,
    per_cluster: Vec<f64>,
}

struct Builder<'a> {
    input: BuildInput<'a>,
    params: &'a TaxonomyValidParams,
    reembed: &'a [Option<&'a dyn Embedder>],
    nodes: Vec<TaxonomyNode>,
    members: Vec<Vec<usize>>,
}

/// Builds the tree. `reembed[d]`, when given, re-embeds a depth-`d` node's
/// texts before it is split (the seed re-embeds subtrees with a stronger
/// model); the stored centroids stay in the input embedding space.
pub fn build<'a>(
    input: BuildInput<'a>,
    params: &'a TaxonomyValidParams,
    reembed: &'a [Option<&'a dyn Embedder>],
) -> Result<Taxonomy, TaxonomyError> {
    let p = params.get();
    let (n, dim) = input.embeddings.dim();
    for (what, len) in [("ids", input.ids.len()), ("texts", input.texts.len())] {
        if len != n {
            return Err(TaxonomyError::DimensionMismatch {
                what: format!("{what} (one per embedding row)"),
                expected: n,
                got: len,
            });
        }
    }
    if n < p.floor {
        return Err(TaxonomyError::TooFewPoints { n, floor: p.floor });
    }
    if input.embeddings.iter().any(|v| !v.is_finite()) {
        return Err(TaxonomyError::Input {
            path: "embeddings".into(),
            line: 0,
            reason: "has a non-finite value".into(),
        });
    }
    let first = input.embeddings.row(0);
    if input.embeddings.rows().into_iter().all(|r| {
        r.iter()
            .zip(first.iter())
            .all(|(a, b)| (a - b).abs() <= 1e-6)
    }) {
        return Err(TaxonomyError::IdenticalEmbeddings(n));
    }
    let mut b = Builder {
        input,
        params,
        reembed,
        nodes: Vec::new(),
        members: Vec::new(),
    };
    b.grow(None, (0..n).collect(), 0, None)?;
    b.name_all();
    let mut cent = Vec::with_capacity(b.nodes.len() * dim);
    for m in &b.members {
        cent.extend(centroid(input.embeddings, m));
    }
    let centroids = F16Matrix::from_rows(b.nodes.len(), dim, &cent)?;
    let tree = Taxonomy {
        embedding_model: input.embedding_model.to_string(),
        is_mock: input.is_mock,
        dim,
        n_items: n,
        config: serde_json::to_value(p).unwrap_or_default(),
        nodes: b.nodes,
        centroids,
    };
    crate::profile::Section::validate(&tree)?;
    Ok(tree)
}

/// Clamped to [-1, 1] and rounded to 6 decimals, so the value survives a
/// JSON round trip exactly.
fn round6(s: f64) -> f64 {
    (s.clamp(-1.0, 1.0) * 1e6).round() / 1e6
}

fn centroid(x: ArrayView2<'_, f32>, members: &[usize]) -> Vec<f32> {
    let mut c = vec![0.0f64; x.ncols()];
    for &i in members {
        for (s, &v) in c.iter_mut().zip(x.row(i).iter()) {
            *s += v as f64;
        }
    }
    let norm = c.iter().map(|v| v * v).sum::<f64>().sqrt();
    c.iter()
        .map(|&v| if norm > 0.0 { (v / norm) as f32 } else { 0.0 })
        .collect()
}

impl Builder<'_> {
    fn grow(
        &mut self,
        parent: Option<usize>,
        members: Vec<usize>,
        depth: usize,
        own_silhouette: Option<f64>,
    ) -> Result<(), TaxonomyError> {
        let id = self.nodes.len();
        self.nodes.push(TaxonomyNode {
            id,
            parent,
            depth,
            size: members.len(),
            noise: 0,
            silhouette: own_silhouette,
            split_silhouette: None,
            name: String::new(),
            keywords: Vec::new(),
            representatives: Vec::new(),
            children: Vec::new(),
            label: None,
        });
        self.members.push(members.clone());
        if let Some(p) = parent {
            self.nodes[p].children.push(id);
        }
        let p = self.params.get();
        let wants_split = depth == 0
            || (depth < p.max_depth && own_silhouette.is_none_or(|s| s < p.silhouette_threshold));
        if !wants_split {
            return Ok(());
        }
        let Some(split) = self.split(&members, depth)? else {
            return Ok(());
        };
        let mut groups: Vec<(Vec<usize>, f64)> = (0..split.k)
            .map(|c| (Vec::new(), split.per_cluster[c]))
            .collect();
        let mut noise = 0;
        for (&i, &l) in members.iter().zip(&split.labels) {
            if l < 0 {
                noise += 1;
            } else {
                groups[l as usize].0.push(i);
            }
        }
        groups.sort_by(|a, b| b.0.len().cmp(&a.0.len()).then(a.0[0].cmp(&b.0[0])));
        self.nodes[id].noise = noise;
        self.nodes[id].split_silhouette = Some(round6(split.silhouette));
        for (g, s) in groups {
            self.grow(Some(id), g, depth + 1, Some(round6(s)))?;
        }
        Ok(())
    }

    /// The best split of a node's points, or `None` when it cannot split.
    fn split(&self, members: &[usize], depth: usize) -> Result<Option<Split>, TaxonomyError> {
        let p = self.params.get();
        let n = members.len();
        let mcs = self
            .params
            .min_cluster_size_for(self.input.embeddings.nrows(), n, depth);
        if n < 2 * mcs || n < 3 {
            return Ok(None);
        }
        let x: Array2<f32> = match self.reembed.get(depth).copied().flatten() {
            Some(e) => reembed(e, self.input.texts, members)?,
            None => self.input.embeddings.select(Axis(0), members),
        };
        let seed = p.seed ^ depth as u64;
        // `gate`: the distances the children's own silhouettes (the
        // recursion gate) are measured with; the split's own space except
        // after UMAP, where they are the node's cosine distances (Euclidean
        // silhouettes on a UMAP layout are high by construction, and the
        // gate would stop almost every split).
        let (z, d, gate) = match p.reduce {
            Reduce::Pca(k) => {
                let z = crate::cluster::reduce::pca_normalized(x.view(), k, seed);
                let d = DistanceMatrix::cosine(z.view())?;
                (z, d, None)
            }
            Reduce::None => {
                let d = DistanceMatrix::cosine(x.view())?;
                (x, d, None)
            }
            Reduce::Umap(k) => {
                // Euclidean on the layout for HDBSCAN and the split's
                // silhouette (as umap-learn + hdbscan); spherical KMeans
                // gets the layout's centred, re-normalised rows.
                let dx = DistanceMatrix::cosine(x.view())?;
                let y = umap_with_distances(x.view(), &dx, &UmapParams::new(k).seed(seed))?;
                let d = DistanceMatrix::euclidean(y.view())?;
                (center_normalize(y), d, Some(dx))
            }
        };
        let gate = gate.as_ref().unwrap_or(&d);
        let mut cands: Vec<Split> = Vec::new();
        if matches!(p.method, Method::Hdbscan | Method::Auto) {
            let fit = Hdbscan::params()
                .min_cluster_size(mcs)
                .min_samples(p.min_samples.min(n - 1))
                .check()?
                .fit(&d)?;
            let ok_noise = p.method == Method::Hdbscan || fit.noise_fraction <= 0.5;
            if fit.n_clusters >= 2 && ok_noise {
                if let Some(s) = self.score(&d, gate, fit.labels, fit.n_clusters)? {
                    cands.push(s);
                }
            }
        }
        if matches!(p.method, Method::Kmeans | Method::Auto) {
            let k_max = p.max_children.min(n / mcs);
            let seed = p.seed;
            let fits: Vec<Vec<i32>> = (2..=k_max)
                .into_par_iter()
                .map(|k| -> Result<Vec<i32>, TaxonomyError> {
                    let fit = SphericalKMeans::params(k)
                        .seed(seed)
                        .n_runs(3)
                        .check()?
                        .fit(z.view())?;
                    let mut sizes = vec![0usize; k];
                    for &l in &fit.labels {
                        sizes[l] += 1;
                    }
                    let mut remap = vec![-1i32; k];
                    let mut next = 0;
                    for (c, &s) in sizes.iter().enumerate() {
                        if s >= mcs {
                            remap[c] = next;
                            next += 1;
                        }
                    }
                    Ok(fit.labels.iter().map(|&l| remap[l]).collect())
                })
                .collect::<Result<_, _>>()?;
            for labels in fits {
                let k = labels.iter().copied().max().unwrap_or(-1) + 1;
                if k >= 2 {
                    if let Some(s) = self.score(&d, gate, labels, k as usize)? {
                        cands.push(s);
                    }
                }
            }
        }
        // Highest silhouette; ties keep the earlier candidate.
        Ok(cands
            .into_iter()
            .fold(None, |best: Option<Split>, c| match best {
                Some(b) if b.silhouette >= c.silhouette => Some(b),
                _ => Some(c),
            }))
    }

    /// Scores a labelling over its non-noise points (distances `d`); also
    /// the mean silhouette of each cluster (distances `gate`).
    fn score(
        &self,
        d: &DistanceMatrix,
        gate: &DistanceMatrix,
        labels: Vec<i32>,
        k: usize,
    ) -> Result<Option<Split>, TaxonomyError> {
        let kept: Vec<usize> = (0..labels.len()).filter(|&i| labels[i] >= 0).collect();
        let sample: Vec<usize> =
            match SilhouetteSample::for_size(kept.len(), SILHOUETTE_SAMPLE, self.params.get().seed)
            {
                SilhouetteSample::All => kept,
                SilhouetteSample::Indices(idx) => idx.into_iter().map(|j| kept[j]).collect(),
            };
        let dense: Vec<usize> = labels.iter().map(|&l| l.max(0) as usize).collect();
        let mut in_sample = vec![0usize; k];
        for &i in &sample {
            in_sample[dense[i]] += 1;
        }
        if in_sample.iter().filter(|&&c| c > 0).count() < 2 {
            return Ok(None);
        }
        let s = silhouette(d, &dense, k, &SilhouetteSample::Indices(sample.clone()))?;
        let per_cluster = per_cluster_silhouette(gate, &dense, k, &sample);
        Ok(Some(Split {
            labels,
            k,
            silhouette: s,
            per_cluster,
        }))
    }

    /// c-TF-IDF keywords of every node against its siblings, names and
    /// representatives.
    fn name_all(&mut self) {
        let p = self.params.get();
        let texts = self.input.texts;
        let classes_of = |ids: &[usize], members: &[Vec<usize>]| -> Vec<Vec<&str>> {
            ids.iter()
                .map(|&c| members[c].iter().map(|&i| texts[i].as_str()).collect())
                .collect()
        };
        let root_kw = ctfidf::keywords(&classes_of(&[0], &self.members), p.keywords);
        self.nodes[0].keywords = root_kw.into_iter().next().unwrap_or_default();
        self.nodes[0].name = "all".into();
        for parent in 0..self.nodes.len() {
            let kids = self.nodes[parent].children.clone();
            if kids.is_empty() {
                continue;
            }
            let kws = ctfidf::keywords(&classes_of(&kids, &self.members), p.keywords);
            for (c, kw) in kids.into_iter().zip(kws) {
                self.nodes[c].name = keyword_name(&kw);
                self.nodes[c].keywords = kw;
            }
        }
        for (i, m) in self.members.iter().enumerate() {
            let c = centroid(self.input.embeddings, m);
            self.nodes[i].representatives =
                mmr_representatives(self.input.embeddings, m, &c, p.representatives)
                    .into_iter()
                    .map(|r| self.input.ids[r].clone())
                    .collect();
        }
    }
}

/// Mean silhouette of each cluster's points in `sample` (0 for a cluster
/// without sampled points).
fn per_cluster_silhouette(
    d: &DistanceMatrix,
    labels: &[usize],
    k: usize,
    sample: &[usize],
) -> Vec<f64> {
    let mut sizes = vec![0usize; k];
    for &i in sample {
        sizes[labels[i]] += 1;
    }
    let per_point: Vec<(usize, f64)> = sample
        .par_iter()
        .map(|&i| {
            let row = d.row(i);
            let mut sums = vec![0.0f64; k];
            for &j in sample {
                sums[labels[j]] += row[j] as f64;
            }
            let own = labels[i];
            if sizes[own] <= 1 {
                return (own, 0.0);
            }
            let a = sums[own] / (sizes[own] - 1) as f64;
            let b = (0..k)
                .filter(|&c| c != own && sizes[c] > 0)
                .map(|c| sums[c] / sizes[c] as f64)
                .fold(f64::INFINITY, f64::min);
            let m = a.max(b);
            (
                own,
                if m > 0.0 && b.is_finite() {
                    (b - a) / m
                } else {
                    0.0
                },
            )
        })
        .collect();
    let mut tot = vec![0.0f64; k];
    for (c, s) in per_point {
        tot[c] += s;
    }
    tot.iter()
        .zip(&sizes)
        .map(|(&t, &s)| if s > 0 { t / s as f64 } else { 0.0 })
        .collect()
}

/// Rows minus their mean, L2-normalised.
fn center_normalize(mut y: Array2<f32>) -> Array2<f32> {
    if let Some(mean) = y.mean_axis(Axis(0)) {
        y -= &mean.insert_axis(Axis(0));
    }
    for mut row in y.rows_mut() {
        let norm = row.dot(&row).sqrt();
        if norm > 0.0 {
            row.mapv_inplace(|v| v / norm);
        }
    }
    y
}

fn reembed(
    e: &dyn Embedder,
    texts: &[String],
    members: &[usize],
) -> Result<Array2<f32>, TaxonomyError> {
    let dim = e.dim();
    let mut out = Array2::<f32>::zeros((members.len(), dim));
    for (r, &i) in members.iter().enumerate() {
        let mut v = e.embed(&texts[i])?;
        if v.len() != dim {
            return Err(TaxonomyError::DimensionMismatch {
                what: format!("re-embedding by `{}`", e.model_id()),
                expected: dim,
                got: v.len(),
            });
        }
        crate::embed::l2_normalize(&mut v);
        out.row_mut(r).assign(&ndarray::ArrayView1::from(&v[..]));
    }
    Ok(out)
}
