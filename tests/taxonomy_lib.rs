//! The taxonomy library: builder invariants, the re-embedding hook, the
//! runtime path and section validation.

mod common;

use aurora_router::embed::{EmbedError, Embedder, PrecomputedEmbeddings};
use aurora_router::profile::{ProfileFile, Section};
use aurora_router::taxonomy::build::{build, BuildInput};
use aurora_router::taxonomy::params::{Reduce, TaxonomyParams};
use aurora_router::taxonomy::{Taxonomy, TaxonomyError};

fn fixture_input() -> (Vec<String>, Vec<String>, PrecomputedEmbeddings) {
    let prompts = aurora_router::dataset::read_prompts(&common::fixture("prompts.jsonl")).unwrap();
    let mut e =
        PrecomputedEmbeddings::load(common::fixture("embeddings_minilm.f16.npy"), "m").unwrap();
    e.normalize_rows().unwrap();
    (
        prompts.iter().map(|p| p.id.clone()).collect(),
        prompts.iter().map(|p| p.text.clone()).collect(),
        e,
    )
}

/// Counts calls; embeds by letter frequencies.
struct Letters(std::sync::atomic::AtomicUsize);
impl Embedder for Letters {
    fn embed(&self, text: &str) -> Result<Vec<f32>, EmbedError> {
        self.0.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let mut v = vec![0.01f32; 26];
        for c in text.bytes().filter(u8::is_ascii_lowercase) {
            v[(c - b'a') as usize] += 1.0;
        }
        Ok(v)
    }
    fn dim(&self) -> usize {
        26
    }
    fn model_id(&self) -> &str {
        "letters"
    }
    fn is_mock(&self) -> bool {
        true
    }
}

#[test]
fn tree_invariants_and_runtime_paths() {
    let (ids, texts, e) = fixture_input();
    let params = TaxonomyParams::new().max_depth(2).check().unwrap();
    let input = BuildInput {
        ids: &ids,
        texts: &texts,
        embeddings: e.view(),
        embedding_model: "m",
        is_mock: false,
    };
    let tree = build(input, &params, &[]).unwrap();
    tree.validate().unwrap();
    assert!(tree.nodes.len() > 2);
    for n in &tree.nodes[1..] {
        assert!(!n.keywords.is_empty() && !n.name.is_empty());
        assert!((1..=10).contains(&n.representatives.len()));
        assert!(n.silhouette.is_some());
    }
    let root = &tree.nodes[0];
    let kids: usize = root.children.iter().map(|&c| tree.nodes[c].size).sum();
    assert_eq!(kids + root.noise, 300);
    let path = tree.path_of(e.row(0).unwrap()).unwrap();
    assert_eq!(path[0], 0);
    assert!(matches!(
        tree.path_of(&[1.0; 3]),
        Err(TaxonomyError::DimensionMismatch { .. })
    ));
    // Round trip through the container.
    let mut f = ProfileFile::new();
    f.set_section(&tree).unwrap();
    let back = ProfileFile::from_json(&f.to_json())
        .unwrap()
        .require::<Taxonomy>()
        .unwrap();
    assert_eq!(back.nodes, tree.nodes);
}

#[test]
fn umap_reduction_builds_the_same_tree_twice() {
    let (ids, texts, e) = fixture_input();
    let params = TaxonomyParams::new()
        .max_depth(1)
        .reduce(Reduce::Umap(5))
        .check()
        .unwrap();
    let input = BuildInput {
        ids: &ids,
        texts: &texts,
        embeddings: e.view(),
        embedding_model: "m",
        is_mock: false,
    };
    let tree = build(input, &params, &[]).unwrap();
    tree.validate().unwrap();
    assert!(tree.nodes[0].children.len() >= 2, "the root is split");
    assert_eq!(tree.config["reduce"], serde_json::json!({"Umap": 5}));
    let again = build(input, &params, &[]).unwrap();
    let json = |t: &Taxonomy| {
        let mut f = ProfileFile::new();
        f.set_section(t).unwrap();
        f.to_json()
    };
    assert_eq!(json(&tree), json(&again), "byte-identical for one seed");
}

#[test]
fn reduce_specs_parse_or_name_the_flag() {
    assert_eq!("umap:50".parse::<Reduce>().unwrap(), Reduce::Umap(50));
    assert_eq!("pca:20".parse::<Reduce>().unwrap(), Reduce::Pca(20));
    assert_eq!("none".parse::<Reduce>().unwrap(), Reduce::None);
    for bad in ["umap:0", "umap:1", "umap:x", "umap", "tsne:5", ""] {
        let err = bad.parse::<Reduce>().unwrap_err();
        assert!(
            matches!(err, TaxonomyError::InvalidParam { .. }) && err.to_string().contains("reduce"),
            "{bad}: {err}"
        );
    }
}

#[test]
fn a_depth_embedder_is_used_below_the_root() {
    let (ids, texts, e) = fixture_input();
    let params = TaxonomyParams::new().max_depth(2).check().unwrap();
    let letters = Letters(Default::default());
    let hooks: [Option<&dyn Embedder>; 2] = [None, Some(&letters)];
    let input = BuildInput {
        ids: &ids,
        texts: &texts,
        embeddings: e.view(),
        embedding_model: "m",
        is_mock: false,
    };
    let tree = build(input, &params, &hooks).unwrap();
    tree.validate().unwrap();
    assert!(letters.0.load(std::sync::atomic::Ordering::Relaxed) > 0);
}

#[test]
fn broken_sections_are_rejected() {
    let (ids, texts, e) = fixture_input();
    let params = TaxonomyParams::new().max_depth(1).check().unwrap();
    let input = BuildInput {
        ids: &ids,
        texts: &texts,
        embeddings: e.view(),
        embedding_model: "m",
        is_mock: false,
    };
    let tree = build(input, &params, &[]).unwrap();
    let mut bad = tree.clone();
    bad.nodes[1].parent = Some(5000);
    assert!(bad
        .validate()
        .unwrap_err()
        .to_string()
        .contains("taxonomy.nodes["));
    let mut bad = tree.clone();
    bad.nodes[0].size += 1;
    assert!(bad.validate().is_err());
    let mut bad = tree;
    bad.dim = 3;
    assert!(bad
        .validate()
        .unwrap_err()
        .to_string()
        .contains("taxonomy.centroids"));
}

#[test]
fn build_input_errors() {
    let (ids, texts, e) = fixture_input();
    let params = TaxonomyParams::new().check().unwrap();
    let input = BuildInput {
        ids: &ids[..10],
        texts: &texts,
        embeddings: e.view(),
        embedding_model: "m",
        is_mock: false,
    };
    assert!(matches!(
        build(input, &params, &[]),
        Err(TaxonomyError::DimensionMismatch { .. })
    ));
}
