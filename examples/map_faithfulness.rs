//! Which 2-D map `aurora report` should draw: trustworthiness and 10-NN
//! preservation of the PCA and the UMAP map of a `.npy` of embeddings
//! (default: the shipped MMLU-Pro example), with their times.
//!
//! ```sh
//! cargo run --release --features builder --example map_faithfulness [E.npy]
//! ```

use std::time::Instant;

use aurora_router::embed::PrecomputedEmbeddings;
use aurora_router::eval::{map_faithfulness, pca_map, umap_map};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let path = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "examples/mmlu_pro/embeddings_minilm.f16.npy".into());
    let e = PrecomputedEmbeddings::load(&path, "any")?;
    let rows: Vec<Vec<f32>> = (0..e.rows())
        .map(|i| e.row(i).map(<[f32]>::to_vec))
        .collect::<Result<_, _>>()?;
    println!("{} rows × {}: {path}", e.rows(), e.dim());
    println!(
        "{:<6} {:>19} {:>11} {:>8}",
        "map", "trustworthiness@10", "10-NN kept", "seconds"
    );
    let t = Instant::now();
    let pca = pca_map(&rows);
    let pca_s = t.elapsed().as_secs_f64();
    let t = Instant::now();
    let umap = umap_map(&rows, 42);
    let umap_s = t.elapsed().as_secs_f64();
    for (name, xy, secs) in [("PCA", &pca, pca_s), ("UMAP", &umap, umap_s)] {
        let (trust, kept) = map_faithfulness(&rows, xy, 10);
        println!("{name:<6} {trust:>19.4} {kept:>11.4} {secs:>8.2}");
    }
    Ok(())
}
