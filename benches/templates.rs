//! Template matching and loading speed.
//!
//! `cargo bench --bench templates -- --warm-up-time 1 --measurement-time 3`
//!
//! Target (median): matching one embedding against 1,000 templates (d = 384)
//! ≤ 20 µs. `peer_ndarray_matvec` is the same search as a plain ndarray
//! matrix–vector product and argmax, for a ratio in the same run. Loading
//! 1,000 templates is timed twice: re-embedding with the mock Cactus, and
//! with a table lookup embedder (≈ no embedding cost), which splits the
//! load time between embedding and the rest.

use std::hint::black_box;

use aurora_router::embed::{CactusEmbedder, Embedder, PrecomputedEmbeddings};
use aurora_router::templates::{LookupEmbedder, Template, TemplateSet, TemplatesSection};
use criterion::{criterion_group, criterion_main, Criterion};
use ndarray::Array2;

const WORDS: &[&str] = &[
    "lunch", "dinner", "flight", "hotel", "movie", "train", "table", "tonight", "tomorrow", "book",
    "find", "cancel", "cheap", "nearby", "music", "weather", "bus", "doctor", "party", "gym",
];

fn text(i: usize, v: usize) -> String {
    let w = |k: usize| WORDS[(i * 7 + k * 13 + v) % WORDS.len()];
    format!("message {i} variant {v}: {} {} {} please", w(1), w(2), w(3))
}

fn section(n: usize) -> TemplatesSection {
    let mut s = TemplatesSection::new("bench");
    for i in 0..n {
        let mut t = Template::new(&text(i, 0), &format!("reply {i}"), 10);
        t.incoming_variants = (1..5).map(|v| text(i, v)).collect();
        s.templates.push(t);
    }
    s
}

fn bench(c: &mut Criterion) {
    if !cactus_sys::is_mock() {
        eprintln!("skipped: needs the mock Cactus");
        return;
    }
    let mock = CactusEmbedder::mock(384).unwrap();
    let sec = section(1000);
    let bytes = sec.to_file_json().unwrap();
    let set = TemplateSet::load_with_threshold(&bytes, &mock, 0.5).unwrap();
    let queries: Vec<Vec<f32>> = (0..64)
        .map(|i| mock.embed(&text(i * 15 + 3, 7)).unwrap())
        .collect();
    let mut g = c.benchmark_group("templates_match_1000x384");
    let mut i = 0;
    g.bench_function("match_embedding", |b| {
        b.iter(|| {
            i = (i + 1) % queries.len();
            black_box(set.match_embedding(black_box(&queries[i])).unwrap())
        })
    });
    // Peer: the prototypes as an ndarray matrix, one mat-vec + argmax.
    let protos: Vec<f32> = (0..set.len())
        .flat_map(|k| {
            let mut v = vec![0.0f32; 384];
            v[k % 384] = 1.0;
            v
        })
        .collect();
    let m = Array2::from_shape_vec((set.len(), 384), protos).unwrap();
    let mut j = 0;
    g.bench_function("peer_ndarray_matvec", |b| {
        b.iter(|| {
            j = (j + 1) % queries.len();
            let q = ndarray::ArrayView1::from(&queries[j][..]);
            let s = m.dot(&q);
            let best =
                s.iter().enumerate().fold(
                    (0, f32::NEG_INFINITY),
                    |a, (k, &x)| if x > a.1 { (k, x) } else { a },
                );
            black_box(best)
        })
    });
    g.finish();

    // Loading: embedding vs the rest.
    let texts: Vec<&str> = sec
        .templates
        .iter()
        .flat_map(Template::incoming_texts)
        .collect();
    let data: Vec<f32> = mock.embed_batch(&texts).unwrap().concat();
    let pre = PrecomputedEmbeddings::from_rows(data, 384, mock.model_id(), "bench").unwrap();
    let lookup = LookupEmbedder::new(texts.iter().copied(), &pre).unwrap();
    let mut g = c.benchmark_group("templates_load_1000");
    g.sample_size(10);
    g.bench_function("load_reembed_mock", |b| {
        b.iter(|| black_box(TemplateSet::load_with_threshold(&bytes, &mock, 0.5).unwrap()))
    });
    g.bench_function("load_lookup_no_embedding", |b| {
        b.iter(|| black_box(TemplateSet::load_with_threshold(&bytes, &lookup, 0.5).unwrap()))
    });
    g.bench_function("embed_5000_texts_mock", |b| {
        b.iter(|| black_box(mock.embed_batch(&texts).unwrap()))
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
