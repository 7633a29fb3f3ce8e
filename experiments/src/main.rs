//! The `kas` command line. Exit codes (see `docs/CLI.md`): 0 success, 1 the command ran and
//! found a failure, 2 bad input or a missing prerequisite.

mod bench;
mod bench_graph;
mod bench_model;
mod canon;
mod cli;
mod closed_pipe;
mod data;
mod data_bench;
mod describe;
mod doctor;
mod engine_ray;
mod export;
mod export_torch;
mod graph;
mod graph_verify;
mod internal;
mod ops;
mod plot;
mod quality;
mod report;
mod reproduce;
mod runs;
mod sample;
mod search;
mod show;
mod spec;
mod table;
mod train;
mod tune;
mod verify;
mod verify_grad;

use clap::Parser;

/// mimalloc: synthesis allocates millions of small nodes; with it a 60 s `kas sample` on the
/// resnet18-conv spec takes 45 k minor page faults instead of 1.0 M.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

use std::process::ExitCode;

/// What a command concluded.
pub enum Verdict {
    /// Everything checked out.
    Success,
    /// The command ran and found a failure (a mismatch, an unsound rule).
    Failure,
}

fn main() -> ExitCode {
    closed_pipe::exit_quietly_on_closed_stdout();
    let cli = cli::Cli::parse();
    let result = match cli.command {
        cli::Command::Ops(c) => ops::run(c),
        cli::Command::Show(a) => show::run(a),
        cli::Command::Verify(a) => verify::run(a),
        cli::Command::Export(a) => export::run(a),
        cli::Command::Canon(a) => canon::run(a),
        cli::Command::Sample(a) => sample::run(a),
        cli::Command::Train(a) => train::run(*a),
        cli::Command::Spec(a) => spec::run(a),
        cli::Command::Data(c) => data::run(c),
        cli::Command::Search(a) => search::run(a),
        cli::Command::Report(a) => report::run(a),
        cli::Command::SearchQuality(a) => quality::run(a),
        cli::Command::Bench(a) => bench::run(a),
        cli::Command::Tune(c) => tune::run(c),
        cli::Command::Doctor(a) => doctor::run(a),
        cli::Command::Reproduce(a) => reproduce::run(a),
        cli::Command::Graph(c) => graph::run(c),
        cli::Command::Internal(c) => internal::run(c),
    };
    match result {
        Ok(Verdict::Success) => ExitCode::SUCCESS,
        Ok(Verdict::Failure) => ExitCode::from(1),
        Err(e) => {
            eprintln!("error: {}", one_line(&e));
            ExitCode::from(2)
        }
    }
}

/// An error on one line, no backtrace: the chain of causes joined by ": ", leaving out a
/// cause that the message before it already shows (the library crates' errors display their
/// source and also return it from `source()`, so `{e:#}` would print an OS error twice).
pub(crate) fn one_line(e: &anyhow::Error) -> String {
    let mut out = String::new();
    let mut prev: Option<String> = None;
    for cause in e.chain() {
        let msg = cause.to_string();
        match &prev {
            Some(p) if p.contains(&msg) => {}
            Some(_) => {
                out.push_str(": ");
                out.push_str(&msg);
            }
            None => out.push_str(&msg),
        }
        prev = Some(msg);
    }
    out
}
