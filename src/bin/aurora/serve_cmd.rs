//! `aurora serve`: the cluster store, a router profile and a route set
//! behind HTTP (feature `serve`; see `aurora_router::serve`).

use std::io::Write;
use std::net::SocketAddr;
use std::path::PathBuf;

use aurora_router::embed::{open_model, CactusEmbedder, Embedder};
use aurora_router::route::Router;
use aurora_router::routes::RouteSet;
use aurora_router::serve::{self, ServeParams, Service, DEFAULT_BODY_LIMIT};
use aurora_router::stream::{ClusterStore, Durability, StreamParams};
use clap::{ArgGroup, Args};

use crate::stream_cmd::{reopen, ParamArgs};
use crate::CliResult;

/// Flags of `aurora serve`.
#[derive(Args, Debug)]
#[command(group(ArgGroup::new("embedder").args(["embedding_model", "model", "mock"])))]
pub struct ServeArgs {
    /// The store directory (created when missing; it then records the embedding model).
    #[arg(long)]
    store: PathBuf,
    /// The model whose vectors clients send as `embedding` (a store fed with vectors).
    #[arg(long)]
    embedding_model: Option<String>,
    /// Dimension of --embedding-model's vectors (needed to create a store; checked otherwise).
    #[arg(long, requires = "embedding_model")]
    dim: Option<usize>,
    /// Embed `text` with this model: a sentence-transformers folder (e.g.
    /// models/all-MiniLM-L6-v2) or a Cactus model. The store records its id.
    #[arg(long)]
    model: Option<PathBuf>,
    /// Embed `text` with the mock Cactus (lexical hashing; for tests and demos).
    #[arg(long)]
    mock: bool,
    /// Dimension of the mock's vectors.
    #[arg(long, default_value_t = 384, requires = "mock")]
    mock_dim: usize,
    /// Router profile for `POST /route`.
    #[arg(long)]
    profile: Option<PathBuf>,
    /// Route set (or a profile holding a `routes` section) for `POST /routes/match`.
    #[arg(long)]
    routes: Option<PathBuf>,
    /// Address to listen on (loopback by default; port 0 picks a free port).
    #[arg(long, default_value = "127.0.0.1:8080")]
    addr: SocketAddr,
    /// Require `Authorization: Bearer <token>` (the file's first line) on every endpoint but /healthz.
    #[arg(long)]
    token_file: Option<PathBuf>,
    /// Largest request body in bytes (larger: 400).
    #[arg(long, default_value_t = DEFAULT_BODY_LIMIT)]
    body_limit: usize,
    /// Acknowledge a batch after `write(2)` (survives a killed process, not a
    /// power loss) instead of after `fdatasync`.
    #[arg(long)]
    no_fsync: bool,
    #[command(flatten)]
    params: ParamArgs,
}

/// Runs `aurora serve` until SIGTERM / SIGINT.
pub fn run(a: ServeArgs) -> CliResult {
    init_tracing();
    let embedder: Option<Box<dyn Embedder>> = match (&a.model, a.mock) {
        (Some(p), _) => Some(open_model(p)?),
        (None, true) => Some(Box::new(CactusEmbedder::mock(a.mock_dim)?)),
        (None, false) => None,
    };
    let spec: Option<(String, Option<usize>)> = match (&embedder, &a.embedding_model) {
        (Some(e), _) => Some((e.model_id().to_string(), Some(e.dim()))),
        (None, Some(m)) => Some((m.clone(), a.dim)),
        (None, None) => None,
    };
    let durability = if a.no_fsync {
        Durability::Flush
    } else {
        Durability::Fsync
    };
    let exists = a.store.join("meta.json").exists();
    let store = if exists {
        let (m, d) = ClusterStore::read_model(&a.store)?;
        if let Some((model, dim)) = &spec {
            if *model != m || dim.is_some_and(|dim| dim != d) {
                return Err(format!(
                    "{}: the store holds `{m}` vectors of dimension {d}, not `{model}`{}",
                    a.store.display(),
                    dim.map(|d| format!(" of dimension {d}"))
                        .unwrap_or_default()
                )
                .into());
            }
        }
        reopen(&a.store, &a.params, durability, &m, d)?
    } else {
        let Some((model, dim)) = spec else {
            return Err(format!(
                "{}: no store there yet: give --embedding-model NAME --dim N (clients send vectors) or --model DIR (the service embeds text) to create it",
                a.store.display()
            )
            .into());
        };
        let Some(dim) = dim else {
            return Err("--embedding-model creates a new store: give its --dim N too".into());
        };
        let p = a
            .params
            .build(StreamParams::new())
            .durability(durability)
            .check()?;
        ClusterStore::open(&a.store, &model, dim, p)?
    };
    let mut service = Service::new(store);
    if let Some(e) = embedder {
        service = service.embedder(e)?;
    }
    if let Some(p) = &a.profile {
        let r = Router::from_path(p).map_err(|e| format!("{}: {e}", p.display()))?;
        service = service.router(r);
    }
    if let Some(p) = &a.routes {
        let r = RouteSet::from_path(p).map_err(|e| format!("{}: {e}", p.display()))?;
        service = service.routes(r);
    }
    let mut params = ServeParams::new().addr(a.addr).body_limit(a.body_limit);
    if let Some(f) = &a.token_file {
        params = params.token_file(f)?;
    }
    let params = params.check()?;
    serve::run(service, params, |bound| {
        // The first stdout line: scripts (and the tests) read the port from it.
        println!("listening on http://{bound}");
        let _ = std::io::stdout().flush();
    })?;
    Ok(())
}

/// Structured logs on stderr; `RUST_LOG` filters them (default `info`).
fn init_tracing() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .try_init();
}
