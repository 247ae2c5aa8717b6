//! `aurora doctor` and `aurora embed`: verify the setup.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Instant;

use aurora_router::dataset::read_prompts;
use aurora_router::embed::{detect_model, open_model, CactusEmbedder, Embedder, NpySidecar};
use clap::Args;

use crate::embedding_args::embed_rows;
use crate::paths::check_out_path;
use crate::CliResult;

/// Flags of `aurora doctor`.
#[derive(Args, Debug)]
pub struct DoctorArgs {
    /// A model to open and probe: a sentence-transformers folder (pure-Rust
    /// BERT) or a Cactus model (default: the mock's built-in model, when linked).
    #[arg(long)]
    model: Option<PathBuf>,
    /// Print JSON.
    #[arg(long)]
    json: bool,
}

/// Flags of `aurora embed`.
#[derive(Args, Debug)]
pub struct EmbedArgs {
    /// Text to embed.
    #[arg(long, required_unless_present = "prompts", conflicts_with = "prompts")]
    text: Option<String>,
    /// Embed every line of this JSONL prompt file (`{"id", "text"}`) into --out.
    #[arg(long, requires = "out")]
    prompts: Option<PathBuf>,
    /// The .npy matrix to write with --prompts: one row per line, float16.
    #[arg(long, requires = "prompts")]
    out: Option<PathBuf>,
    /// Write float32 rows instead of float16.
    #[arg(long = "f32", requires = "out")]
    f32_rows: bool,
    /// Model: a sentence-transformers folder (e.g. models/all-MiniLM-L6-v2)
    /// or a Cactus model path (default: the mock's built-in model, when linked).
    #[arg(long)]
    model: Option<PathBuf>,
    /// Print JSON: {dim, embedding, is_mock, model_id} (with --text), or a
    /// summary (with --prompts).
    #[arg(long)]
    json: bool,
    /// No progress bar.
    #[arg(long)]
    quiet: bool,
}

fn open(model: Option<&PathBuf>) -> CliResult<Box<dyn Embedder>> {
    match model {
        Some(p) => Ok(open_model(p)?),
        None if cactus_sys::is_mock() => Ok(Box::new(CactusEmbedder::mock(384)?)),
        None => Err("this build links the real Cactus: give --model PATH".into()),
    }
}

/// `aurora doctor`.
pub fn doctor(a: DoctorArgs) -> CliResult {
    let cactus = if cactus_sys::is_mock() {
        "mock"
    } else {
        "cactus"
    };
    let (backend, why) = match &a.model {
        Some(p) => match detect_model(p) {
            (aurora_router::embed::ModelKind::SentenceTransformers, why) => ("bert", why),
            (_, why) => (cactus, why),
        },
        None => (
            cactus,
            "no --model: the Cactus backend linked in this build".to_string(),
        ),
    };
    let probe = open(a.model.as_ref()).and_then(|e| {
        let v = e.embed("aurora doctor probe")?;
        Ok((e.model_id().to_string(), v.len()))
    });
    let target = env!("AURORA_TARGET");
    if a.json {
        let (model_id, dim, err) = match &probe {
            Ok((m, d)) => (Some(m.clone()), Some(*d), None),
            Err(e) => (None, None, Some(e.to_string())),
        };
        let v = serde_json::json!({
            "version": aurora_router::VERSION,
            "backend": backend,
            "backend_reason": why,
            "is_mock": cactus_sys::is_mock(),
            "linked_from": cactus_sys::link_info(),
            "target": target,
            "model_id": model_id,
            "embedding_dim": dim,
            "error": err,
        });
        println!("{v}");
    } else {
        println!("aurora-router {}", aurora_router::VERSION);
        println!("backend:       {backend} ({why})");
        println!("linked from:   {}", cactus_sys::link_info());
        println!("target:        {target}");
        match &probe {
            Ok((m, d)) => {
                println!("model:         {m}");
                println!("embedding dim: {d}");
            }
            Err(e) => println!("model:         FAILED: {e}"),
        }
    }
    probe.map(|_| ())
}

/// `aurora embed`.
pub fn embed(a: EmbedArgs) -> CliResult {
    let e = open(a.model.as_ref())?;
    if let (Some(prompts), Some(out)) = (&a.prompts, &a.out) {
        return embed_file(e.as_ref(), prompts, out, &a);
    }
    let text = a.text.as_deref().unwrap_or_default();
    let v = e.embed(text)?;
    if a.json {
        let out = serde_json::json!({
            "dim": v.len(),
            "embedding": v,
            "is_mock": e.is_mock(),
            "model_id": e.model_id(),
        });
        println!("{out}");
    } else {
        let s: Vec<String> = v.iter().map(|x| format!("{x:.6}")).collect();
        println!("{}", s.join(" "));
    }
    Ok(())
}

/// `aurora embed --prompts P.jsonl --out E.npy`.
fn embed_file(e: &dyn Embedder, prompts: &Path, out: &Path, a: &EmbedArgs) -> CliResult {
    check_out_path(out, "--out", &["npy"])?;
    let p = read_prompts(prompts)?;
    let texts: Vec<&str> = p.iter().map(|p| p.text.as_str()).collect();
    let start = Instant::now();
    let data = embed_rows(e, &texts, a.quiet)?;
    let secs = start.elapsed().as_secs_f64();
    write_npy(out, texts.len(), e.dim(), &data, a.f32_rows)
        .map_err(|err| format!("--out {}: cannot write: {err}", out.display()))?;
    // The sidecar E.npy.json: which model made the rows, so that every
    // reader can refuse them for a profile of another model.
    let normalized = data
        .chunks(e.dim().max(1))
        .all(|r| (r.iter().map(|x| x * x).sum::<f32>().sqrt() - 1.0).abs() < 1e-3);
    NpySidecar {
        model: e.model_id().to_string(),
        dim: e.dim(),
        normalized,
        count: texts.len(),
        is_mock: e.is_mock(),
    }
    .write(out)?;
    let rate = texts.len() as f64 / secs.max(1e-9);
    let dtype = if a.f32_rows { "float32" } else { "float16" };
    if a.json {
        let v = serde_json::json!({
            "rows": texts.len(),
            "dim": e.dim(),
            "dtype": dtype,
            "seconds": secs,
            "texts_per_second": rate,
            "model_id": e.model_id(),
            "is_mock": e.is_mock(),
            "out": out.display().to_string(),
        });
        println!("{v}");
    } else {
        println!(
            "wrote {} rows × {} ({dtype}) to {} in {secs:.1}s ({rate:.1} texts/s), model {}{}",
            texts.len(),
            e.dim(),
            out.display(),
            e.model_id(),
            if e.is_mock() { " (mock)" } else { "" }
        );
    }
    Ok(())
}

/// Writes a 2-D little-endian `.npy` matrix (NPY format 1.0), float16 or float32.
fn write_npy(
    path: &Path,
    rows: usize,
    dim: usize,
    data: &[f32],
    f32_rows: bool,
) -> std::io::Result<()> {
    let descr = if f32_rows { "<f4" } else { "<f2" };
    let mut header =
        format!("{{'descr': '{descr}', 'fortran_order': False, 'shape': ({rows}, {dim}), }}");
    // magic (6) + version (2) + length (2) + header, padded to 64 bytes with '\n' last.
    let total = 10 + header.len() + 1;
    header.push_str(&" ".repeat(total.div_ceil(64) * 64 - total));
    header.push('\n');
    let mut bytes = Vec::with_capacity(10 + header.len() + data.len() * 4);
    bytes.extend_from_slice(b"\x93NUMPY\x01\x00");
    bytes.extend_from_slice(&(header.len() as u16).to_le_bytes());
    bytes.extend_from_slice(header.as_bytes());
    if f32_rows {
        data.iter()
            .for_each(|x| bytes.extend_from_slice(&x.to_le_bytes()));
    } else {
        data.iter()
            .for_each(|x| bytes.extend_from_slice(&half::f16::from_f32(*x).to_le_bytes()));
    }
    let mut f = std::fs::File::create(path)?;
    f.write_all(&bytes)?;
    f.flush()
}
