//! Parity of the pure-Rust all-MiniLM-L6-v2 embedder with sentence-transformers
//! on the shared MMLU-Pro questions: embeds N rows (the 200 longest, all
//! truncated at 256 tokens, plus rows spread evenly over the file) and
//! compares them with the same rows of `embeddings_minilm.f16.npy`.
//!
//! ```text
//! cargo run --release --features bert --example minilm_parity -- \
//!     models/all-MiniLM-L6-v2 ../shared/data/mmlu_pro 2000
//! ```
//! Prints the mean and minimum cosine and the rate; exits non-zero when
//! mean < 0.9999 or min < 0.999.

use std::time::Instant;

use aurora_router::embed::{Embedder, MiniLmEmbedder, PrecomputedEmbeddings};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let model = args
        .get(1)
        .map_or("models/all-MiniLM-L6-v2", String::as_str);
    let data = args
        .get(2)
        .map_or("../shared/data/mmlu_pro", String::as_str);
    let n: usize = args.get(3).map_or(Ok(2000), |s| s.parse())?;
    let texts: Vec<String> = std::fs::read_to_string(format!("{data}/questions.jsonl"))?
        .lines()
        .map(|l| {
            serde_json::from_str::<serde_json::Value>(l)
                .map(|v| v["text"].as_str().unwrap_or("").to_string())
        })
        .collect::<Result<_, _>>()?;
    let npy = PrecomputedEmbeddings::load(
        format!("{data}/embeddings_minilm.f16.npy"),
        "all-MiniLM-L6-v2",
    )?;
    let e = MiniLmEmbedder::open(model)?;

    let mut by_len: Vec<usize> = (0..texts.len()).collect();
    by_len.sort_by_key(|&i| std::cmp::Reverse(texts[i].len()));
    let longest = 200.min(n);
    let mut rows: Vec<usize> = by_len[..longest].to_vec();
    let rest: Vec<usize> = by_len[longest..].to_vec();
    let mut spread: Vec<usize> = rest.clone();
    spread.sort_unstable();
    let k = n - longest;
    rows.extend((0..k).map(|j| spread[j * spread.len() / k.max(1)]));
    rows.sort_unstable();
    rows.dedup();
    let truncated = rows
        .iter()
        .filter(|&&r| e.token_count(&texts[r]).map(|c| c >= 256).unwrap_or(false))
        .count();

    let batch: Vec<&str> = rows.iter().map(|&r| texts[r].as_str()).collect();
    let t = Instant::now();
    let got = e.embed_batch(&batch)?;
    let secs = t.elapsed().as_secs_f64();
    let mut cos: Vec<(f64, usize)> = rows
        .iter()
        .zip(&got)
        .map(|(&r, v)| {
            let w = npy.row(r).expect("row in range");
            let dot: f64 = v.iter().zip(w).map(|(a, b)| *a as f64 * *b as f64).sum();
            let nw: f64 = w.iter().map(|x| (*x as f64).powi(2)).sum::<f64>().sqrt();
            let nv: f64 = v.iter().map(|x| (*x as f64).powi(2)).sum::<f64>().sqrt();
            (dot / (nv * nw), r)
        })
        .collect();
    let mean = cos.iter().map(|c| c.0).sum::<f64>() / cos.len() as f64;
    cos.sort_by(|a, b| a.0.total_cmp(&b.0));
    println!(
        "{} rows ({} truncated at 256 tokens): mean cosine {:.7}, min {:.7} (row {}), {:.1} texts/s",
        rows.len(),
        truncated,
        mean,
        cos[0].0,
        cos[0].1,
        rows.len() as f64 / secs
    );
    if mean < 0.9999 || cos[0].0 < 0.999 {
        return Err("parity below the bar (mean ≥ 0.9999, min ≥ 0.999)".into());
    }
    Ok(())
}
