//! Runtime: which path of the tree an embedding falls into.
//!
//! At each node the embedding goes to the child whose centroid is nearest
//! (largest cosine), and it stops where the tree stops. This is all the lean
//! mobile library needs: a dot product per child along one path.

use super::{Taxonomy, TaxonomyError};

impl Taxonomy {
    /// The path of node ids (root first) of an embedding. The vector need
    /// not be normalised (the nearest centroid by cosine does not depend on
    /// its norm), but it must have the tree's dimension and finite values.
    ///
    /// ```
    /// use aurora_router::profile::F16Matrix;
    /// use aurora_router::taxonomy::{Taxonomy, TaxonomyNode};
    /// let node = |id, parent, depth, size, children: Vec<usize>| TaxonomyNode {
    ///     id, parent, depth, size, noise: 0, silhouette: None, split_silhouette: None,
    ///     name: format!("n{id}"), keywords: vec![], representatives: vec![], children, label: None,
    /// };
    /// let tree = Taxonomy {
    ///     embedding_model: "toy".into(), is_mock: false, dim: 2, n_items: 4,
    ///     config: serde_json::json!({}),
    ///     nodes: vec![node(0, None, 0, 4, vec![1, 2]), node(1, Some(0), 1, 2, vec![]), node(2, Some(0), 1, 2, vec![])],
    ///     centroids: F16Matrix::from_rows(3, 2, &[0.7, 0.7, 1.0, 0.0, 0.0, 1.0]).unwrap(),
    /// };
    /// assert_eq!(tree.path_of(&[0.1, 0.9]).unwrap(), vec![0, 2]);
    /// assert!(tree.path_of(&[1.0]).is_err());
    /// ```
    pub fn path_of(&self, embedding: &[f32]) -> Result<Vec<usize>, TaxonomyError> {
        if embedding.len() != self.dim {
            return Err(TaxonomyError::DimensionMismatch {
                what: "query embedding".into(),
                expected: self.dim,
                got: embedding.len(),
            });
        }
        if embedding.iter().any(|v| !v.is_finite()) {
            return Err(TaxonomyError::Input {
                path: "query embedding".into(),
                line: 0,
                reason: "has a non-finite value".into(),
            });
        }
        let mut path = vec![0usize];
        let mut at = 0usize;
        while let Some(node) = self.nodes.get(at) {
            let mut best: Option<(usize, f32)> = None;
            for &c in &node.children {
                let s: f32 = self
                    .centroids
                    .row(c)
                    .iter()
                    .zip(embedding)
                    .map(|(a, b)| a * b)
                    .sum();
                if best.is_none_or(|(_, bs)| s > bs) {
                    best = Some((c, s));
                }
            }
            match best {
                Some((c, _)) => {
                    path.push(c);
                    at = c;
                }
                None => break,
            }
        }
        Ok(path)
    }
}
