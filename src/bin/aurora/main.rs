//! `aurora`: build router profiles, route prompts, check the setup.

mod embedding_args;
mod eval_cmd;
mod label_cmd;
mod paths;
mod profile_cmd;
mod progress;
mod report_cmd;
mod route_cmd;
mod routes_cmd;
#[cfg(feature = "serve")]
mod serve_cmd;
mod setup_cmd;
mod stream_cmd;
mod taxonomy_cmd;
mod templates_cmd;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// Any command's failure: printed as one line on stderr.
pub type CliResult<T = ()> = Result<T, Box<dyn std::error::Error>>;

#[derive(Parser)]
#[command(
    name = "aurora",
    version,
    about = "On-device LLM routing: build router profiles, route prompts, check the setup"
)]
struct Cli {
    /// Worker threads for embedding and clustering (default: all cores).
    #[arg(long, global = true)]
    threads: Option<usize>,
    /// No progress bars.
    #[arg(long, short, global = true)]
    quiet: bool,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Print which Cactus backend is linked, its embedding dimension and the target.
    Doctor(setup_cmd::DoctorArgs),
    /// Embed one text and print the vector.
    Embed(setup_cmd::EmbedArgs),
    /// Route a prompt or an embedding with a profile.
    Route(route_cmd::RouteArgs),
    /// Build or edit router profiles.
    #[command(subcommand)]
    Profile(profile_cmd::ProfileCommand),
    /// Evaluate a profile on a held-out labelled set: deferral curve, QAB, baselines.
    Eval(eval_cmd::EvalArgs),
    /// Write one self-contained HTML page that shows a profile: map, error heatmap, deferral curves, candidates.
    Report(report_cmd::ReportArgs),
    /// Build, annotate, test and show a recursive cluster taxonomy.
    #[command(subcommand)]
    Taxonomy(taxonomy_cmd::TaxonomyCommand),
    /// Reply templates: mine, calibrate, match, evaluate.
    #[command(subcommand)]
    Templates(templates_cmd::TemplatesCommand),
    /// Semantic routes: build from example utterances, match, evaluate.
    #[command(subcommand)]
    Routes(routes_cmd::RoutesCommand),
    /// Measure each model's correctness on multiple-choice questions with cactus_complete.
    Label(label_cmd::LabelArgs),
    /// Incremental per-group clustering with heroes: ingest, clusters, eval.
    #[command(subcommand)]
    Stream(stream_cmd::StreamCommand),
    /// Serve the cluster store, a router profile and a route set over HTTP (feature `serve`).
    #[cfg(feature = "serve")]
    Serve(serve_cmd::ServeArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    if let Some(n) = cli.threads {
        if n == 0 {
            eprintln!("error: --threads must be at least 1");
            return ExitCode::from(2);
        }
        if let Err(e) = rayon::ThreadPoolBuilder::new()
            .num_threads(n)
            .build_global()
        {
            eprintln!("error: cannot start {n} threads: {e}");
            return ExitCode::FAILURE;
        }
    }
    let result = match cli.command {
        Command::Doctor(a) => setup_cmd::doctor(a),
        Command::Embed(a) => setup_cmd::embed(a),
        Command::Route(a) => route_cmd::run(a),
        Command::Profile(c) => profile_cmd::run(c, cli.quiet),
        Command::Eval(a) => eval_cmd::run(a, cli.quiet),
        Command::Report(a) => report_cmd::run(a, cli.quiet),
        Command::Taxonomy(c) => taxonomy_cmd::run(c, cli.quiet),
        Command::Templates(c) => templates_cmd::run(c, cli.quiet),
        Command::Routes(c) => routes_cmd::run(c, cli.quiet),
        Command::Label(a) => label_cmd::run(a, cli.quiet),
        Command::Stream(c) => stream_cmd::run(c, cli.quiet),
        #[cfg(feature = "serve")]
        Command::Serve(a) => serve_cmd::run(a),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            let msg = e.to_string().replace('\n', " ");
            eprintln!("error: {msg}");
            ExitCode::FAILURE
        }
    }
}
