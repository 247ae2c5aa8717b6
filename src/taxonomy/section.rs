//! The `taxonomy` section: the tree as it is stored in a profile file.
//!
//! Nodes are numbered `0..n` in depth-first pre-order; node 0 is the root
//! (depth 0, every item). Row `i` of `centroids` is node `i`'s unit-norm
//! centroid in the embedding space of `embedding_model` (the mean of all the
//! node's items, noise included), so the runtime needs no projection.

use serde::{Deserialize, Serialize};

use crate::profile::{F16Matrix, ProfileError, Section};

/// One node of the tree.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TaxonomyNode {
    /// Index of the node (its position in [`Taxonomy::nodes`]).
    pub id: usize,
    /// The parent's id (`None` for the root).
    pub parent: Option<usize>,
    /// Depth: 0 for the root.
    pub depth: usize,
    /// Items in the node's subtree (noise kept here included).
    pub size: usize,
    /// Items kept at this node because its split labelled them noise.
    pub noise: usize,
    /// Mean silhouette of this node's items within its parent's split
    /// (`None` for the root).
    pub silhouette: Option<f64>,
    /// Mean silhouette of this node's own split into its children (`None`
    /// for a leaf).
    pub split_silhouette: Option<f64>,
    /// The node's name (c-TF-IDF keywords, or a generated label).
    pub name: String,
    /// c-TF-IDF keywords against the node's siblings, best first.
    pub keywords: Vec<String>,
    /// Ids of 5–10 representative items (closest to the centroid, MMR-diverse).
    pub representatives: Vec<String>,
    /// Children ids, largest first.
    pub children: Vec<usize>,
    /// A generated 2–5 word label (`--name-with`), when asked for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub label: Option<GeneratedLabel>,
}

/// A label written by a generation model.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GeneratedLabel {
    /// The label.
    pub text: String,
    /// The generation model.
    pub model: String,
    /// Whether it came from the deterministic mock completion.
    pub is_mock: bool,
}

/// The `taxonomy` section.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Taxonomy {
    /// The model that made the embeddings the tree was built from.
    pub embedding_model: String,
    /// Whether those embeddings came from the mock Cactus.
    pub is_mock: bool,
    /// Embedding dimension.
    pub dim: usize,
    /// Items the tree was built from.
    pub n_items: usize,
    /// The build configuration (flags), for provenance and caching.
    pub config: serde_json::Value,
    /// The nodes, in depth-first pre-order.
    pub nodes: Vec<TaxonomyNode>,
    /// One unit-norm centroid per node (`nodes.len() × dim`).
    pub centroids: F16Matrix,
}

impl Section for Taxonomy {
    const NAME: &'static str = "taxonomy";

    fn validate(&self) -> Result<(), ProfileError> {
        if self.nodes.is_empty() {
            return Err(ProfileError::invalid(
                "taxonomy.nodes",
                "is empty (the root is required)",
            ));
        }
        if self.dim == 0 {
            return Err(ProfileError::invalid("taxonomy.dim", "must be positive"));
        }
        if self.centroids.rows() != self.nodes.len() || self.centroids.cols() != self.dim {
            return Err(ProfileError::invalid(
                "taxonomy.centroids",
                format!(
                    "shape is {}×{}, expected {}×{} (one row per node)",
                    self.centroids.rows(),
                    self.centroids.cols(),
                    self.nodes.len(),
                    self.dim
                ),
            ));
        }
        let n = self.nodes.len();
        for (i, node) in self.nodes.iter().enumerate() {
            let f = |x: &str| format!("taxonomy.nodes[{i}].{x}");
            if node.id != i {
                return Err(ProfileError::invalid(
                    f("id"),
                    format!("is {}, expected {i}", node.id),
                ));
            }
            match (i, node.parent) {
                (0, None) => {
                    if node.depth != 0 || node.size != self.n_items {
                        return Err(ProfileError::invalid(
                            f("size"),
                            "the root must have depth 0 and hold every item",
                        ));
                    }
                }
                (0, Some(_)) => {
                    return Err(ProfileError::invalid(f("parent"), "the root has no parent"))
                }
                (_, None) => {
                    return Err(ProfileError::invalid(
                        f("parent"),
                        "only the root may lack a parent",
                    ))
                }
                (_, Some(p)) => {
                    if p >= i {
                        return Err(ProfileError::invalid(
                            f("parent"),
                            format!("{p} does not precede node {i}"),
                        ));
                    }
                    let parent = &self.nodes[p];
                    if !parent.children.contains(&i) || node.depth != parent.depth + 1 {
                        return Err(ProfileError::invalid(
                            f("parent"),
                            format!("node {p} does not list {i} as a child one level up"),
                        ));
                    }
                }
            }
            let mut sum = node.noise;
            for &c in &node.children {
                if c >= n || self.nodes[c].parent != Some(i) {
                    return Err(ProfileError::invalid(
                        f("children"),
                        format!("child {c} is not a node whose parent is {i}"),
                    ));
                }
                sum += self.nodes[c].size;
            }
            if !node.children.is_empty() && sum != node.size {
                return Err(ProfileError::invalid(
                    f("size"),
                    format!(
                        "{} ≠ noise {} + children's sizes {}",
                        node.size,
                        node.noise,
                        sum - node.noise
                    ),
                ));
            }
            for s in [node.silhouette, node.split_silhouette]
                .into_iter()
                .flatten()
            {
                if !(-1.0..=1.0).contains(&s) {
                    return Err(ProfileError::invalid(
                        f("silhouette"),
                        format!("{s} is outside [-1, 1]"),
                    ));
                }
            }
        }
        Ok(())
    }
}

impl Taxonomy {
    /// Depth of the deepest node.
    pub fn max_depth(&self) -> usize {
        self.nodes.iter().map(|n| n.depth).max().unwrap_or(0)
    }

    /// The names along a path of node ids.
    pub fn names_of(&self, path: &[usize]) -> Vec<String> {
        path.iter()
            .filter_map(|&i| self.nodes.get(i).map(|n| n.name.clone()))
            .collect()
    }

    /// Renders the tree as indented text: one line per node with its size,
    /// noise, name and keywords (for `aurora taxonomy show`).
    pub fn render(&self, max_keywords: usize) -> String {
        let mut out = String::new();
        self.render_node(0, max_keywords, &mut out);
        out
    }

    fn render_node(&self, i: usize, max_keywords: usize, out: &mut String) {
        let node = &self.nodes[i];
        let indent = "  ".repeat(node.depth);
        let label = node
            .label
            .as_ref()
            .map(|l| format!(" «{}»{}", l.text, if l.is_mock { " (mock)" } else { "" }))
            .unwrap_or_default();
        let sil = node
            .silhouette
            .map(|s| format!(" sil {s:.2}"))
            .unwrap_or_default();
        let kw: Vec<&str> = node
            .keywords
            .iter()
            .take(max_keywords)
            .map(String::as_str)
            .collect();
        out.push_str(&format!(
            "{indent}[{}] {}{label} — {} items{}{sil}",
            node.id,
            node.name,
            node.size,
            if node.noise > 0 {
                format!(" ({} noise)", node.noise)
            } else {
                String::new()
            }
        ));
        if !kw.is_empty() {
            out.push_str(&format!(" · {}", kw.join(", ")));
        }
        out.push('\n');
        for &c in &node.children {
            self.render_node(c, max_keywords, out);
        }
    }
}
