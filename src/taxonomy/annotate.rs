//! Annotations: each item's path in the tree, as JSON Lines
//! `{"id": …, "path": [node ids, root first], "names": [node names]}`.

use std::collections::HashSet;
use std::io::Write;
use std::path::Path;

use ndarray::ArrayView2;
use serde::{Deserialize, Serialize};

use super::{Taxonomy, TaxonomyError};

/// One item's place in the tree.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Annotation {
    /// The item's id.
    pub id: String,
    /// Node ids from the root (0) down to where the item stops.
    pub path: Vec<usize>,
    /// The nodes' names, in the same order.
    pub names: Vec<String>,
}

impl Annotation {
    /// The item's node at depth `d`, or the deepest node above it when its
    /// path stops earlier (noise kept at a parent counts as that parent's).
    pub fn node_at(&self, d: usize) -> usize {
        self.path[d.min(self.path.len() - 1)]
    }
}

/// Annotates items: each embedding descends to the nearest child centroid
/// until the tree stops. Fails on another embedding model or dimension.
pub fn annotate(
    tree: &Taxonomy,
    ids: &[String],
    embeddings: ArrayView2<'_, f32>,
    embedding_model: &str,
) -> Result<Vec<Annotation>, TaxonomyError> {
    if embedding_model != tree.embedding_model {
        return Err(TaxonomyError::ModelMismatch {
            expected: tree.embedding_model.clone(),
            got: embedding_model.to_string(),
        });
    }
    if embeddings.ncols() != tree.dim {
        return Err(TaxonomyError::DimensionMismatch {
            what: "embeddings".into(),
            expected: tree.dim,
            got: embeddings.ncols(),
        });
    }
    if embeddings.nrows() != ids.len() {
        return Err(TaxonomyError::DimensionMismatch {
            what: "embedding rows (one per prompt)".into(),
            expected: ids.len(),
            got: embeddings.nrows(),
        });
    }
    ids.iter()
        .zip(embeddings.rows())
        .map(|(id, row)| {
            let v = row.to_vec();
            let path = tree.path_of(&v)?;
            Ok(Annotation {
                id: id.clone(),
                names: tree.names_of(&path),
                path,
            })
        })
        .collect()
}

/// Writes annotations as JSON Lines.
pub fn write_annotations(path: &Path, items: &[Annotation]) -> Result<(), TaxonomyError> {
    let io = |source| TaxonomyError::Io {
        path: path.to_path_buf(),
        source,
    };
    let mut f = std::io::BufWriter::new(std::fs::File::create(path).map_err(io)?);
    for a in items {
        let line = serde_json::to_string(a).map_err(|e| TaxonomyError::Input {
            path: path.to_path_buf(),
            line: 0,
            reason: e.to_string(),
        })?;
        writeln!(f, "{line}").map_err(io)?;
    }
    f.flush().map_err(io)
}

/// Reads annotations and checks them against `tree`: every path starts at
/// the root, follows parent → child links, and ids are unique.
pub fn read_annotations(path: &Path, tree: &Taxonomy) -> Result<Vec<Annotation>, TaxonomyError> {
    let text = std::fs::read_to_string(path).map_err(|source| TaxonomyError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    let bad = |line: usize, reason: String| TaxonomyError::AnnotationMismatch {
        path: path.to_path_buf(),
        line,
        reason,
    };
    let mut out = Vec::new();
    let mut seen = HashSet::new();
    for (i, l) in text.lines().enumerate() {
        let line = i + 1;
        if l.trim().is_empty() {
            continue;
        }
        let a: Annotation = serde_json::from_str(l).map_err(|e| TaxonomyError::Input {
            path: path.to_path_buf(),
            line,
            reason: format!("not an annotation object {{\"id\", \"path\", \"names\"}}: {e}"),
        })?;
        if a.path.first() != Some(&0) {
            return Err(bad(line, "the path must start at the root (node 0)".into()));
        }
        for w in a.path.windows(2) {
            let ok = tree.nodes.get(w[1]).is_some_and(|n| n.parent == Some(w[0]));
            if !ok {
                return Err(bad(
                    line,
                    format!("node {} is not a child of node {} in this tree", w[1], w[0]),
                ));
            }
        }
        if a.names.len() != a.path.len() {
            return Err(bad(line, "`names` and `path` differ in length".into()));
        }
        if !seen.insert(a.id.clone()) {
            return Err(bad(line, format!("id `{}` appears twice", a.id)));
        }
        out.push(a);
    }
    if out.is_empty() {
        return Err(bad(0, "no annotations".into()));
    }
    Ok(out)
}
