//! Command-line definitions (clap). Conventions are fixed in `docs/CLI.md`.

use clap::{Args, Parser, Subcommand};
use std::path::PathBuf;

/// kas: kernel architecture search.
#[derive(Debug, Parser)]
#[command(name = "kas", version, about, long_about = None)]
pub struct Cli {
    /// The command to run.
    #[command(subcommand)]
    pub command: Command,
}

/// Top-level commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// The built-in library of classic operators.
    #[command(subcommand)]
    Ops(OpsCommand),
    /// Describe an operator file or a spec file.
    Show(ShowArgs),
    /// Sample distinct complete operators for a slot spec (guided synthesis).
    Sample(SampleArgs),
}

/// `kas ops …`
#[derive(Debug, Subcommand)]
pub enum OpsCommand {
    /// List the library's operators.
    List(JsonFlag),
    /// Show one library operator.
    Show(OpsShowArgs),
    /// Check every library operator against its independent direct implementation.
    Check(OpsCheckArgs),
}

/// A lone `--json` flag.
#[derive(Debug, Args)]
pub struct JsonFlag {
    /// Print machine-readable JSON instead of text.
    #[arg(long)]
    pub json: bool,
}

/// What to print for an operator.
#[derive(Debug, Args)]
#[group(multiple = false)]
pub struct ViewFlags {
    /// Print the primitive DAG as Graphviz dot.
    #[arg(long)]
    pub dot: bool,
    /// Print the forward loop nest as C.
    #[arg(long)]
    pub loops: bool,
    /// Print the operator file (RON).
    #[arg(long)]
    pub ron: bool,
    /// Print machine-readable JSON.
    #[arg(long)]
    pub json: bool,
}

/// `kas ops show NAME`
#[derive(Debug, Args)]
pub struct OpsShowArgs {
    /// Name of a library operator (see `kas ops list`).
    pub name: String,
    /// What to print (default: a description).
    #[command(flatten)]
    pub view: ViewFlags,
}

/// `kas ops check`
#[derive(Debug, Args)]
pub struct OpsCheckArgs {
    /// Seed of the random inputs.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Print machine-readable JSON.
    #[arg(long)]
    pub json: bool,
}

/// `kas show FILE.ron`
#[derive(Debug, Args)]
pub struct ShowArgs {
    /// An operator file (`kas-operator`) or a spec file (`kas-spec`).
    pub file: PathBuf,
    /// What to print (default: a description; `--dot`, `--loops`, `--ron` apply to operators).
    #[command(flatten)]
    pub view: ViewFlags,
}

/// `kas sample --spec FILE …`
#[derive(Debug, Args)]
pub struct SampleArgs {
    /// The slot spec (`kas-spec` RON file).
    #[arg(long)]
    pub spec: PathBuf,
    /// Stop after this many distinct operators (the same ones for a seed, whatever --threads).
    #[arg(long, conflicts_with = "seconds")]
    pub count: Option<usize>,
    /// Stop after this many seconds.
    #[arg(long)]
    pub seconds: Option<f64>,
    /// Seed of every random choice.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Worker threads (default: one per core).
    #[arg(long, default_value_t = 0)]
    pub threads: usize,
    /// Directory for the operator files (default `runs/sample-<time>/`).
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Also write the report as JSON to this file.
    #[arg(long)]
    pub stats_json: Option<PathBuf>,
}
