//! `aurora doctor` and `aurora embed`: verify the setup.

use std::path::PathBuf;

use aurora_router::embed::{CactusEmbedder, Embedder};
use clap::Args;

use crate::CliResult;

/// Flags of `aurora doctor`.
#[derive(Args, Debug)]
pub struct DoctorArgs {
    /// A Cactus model to open and probe (default: the mock's built-in model, when linked).
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
    #[arg(long)]
    text: String,
    /// Cactus model path (default: the mock's built-in model, when linked).
    #[arg(long)]
    model: Option<PathBuf>,
    /// Print JSON: {dim, embedding, is_mock, model_id}.
    #[arg(long)]
    json: bool,
}

fn open(model: Option<&PathBuf>) -> CliResult<CactusEmbedder> {
    match model {
        Some(p) => Ok(CactusEmbedder::open(p)?),
        None if cactus_sys::is_mock() => Ok(CactusEmbedder::mock(384)?),
        None => Err("this build links the real Cactus: give --model PATH".into()),
    }
}

/// `aurora doctor`.
pub fn doctor(a: DoctorArgs) -> CliResult {
    let backend = if cactus_sys::is_mock() {
        "mock"
    } else {
        "cactus"
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
        println!("backend:       {backend}");
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
    let v = e.embed(&a.text)?;
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
