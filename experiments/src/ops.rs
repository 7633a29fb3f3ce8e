//! `kas ops list | show | check`: the built-in operator library.

use crate::cli::{JsonFlag, OpsCheckArgs, OpsCommand, OpsShowArgs};
use crate::table::{sci, table};
use crate::{Verdict, show};
use anyhow::{Context, bail};
use kas_primitives::library::{self, Entry, check::check};
use kas_primitives::plan::summary;
use serde_json::json;

/// Runs an `ops` subcommand.
pub fn run(c: OpsCommand) -> anyhow::Result<Verdict> {
    match c {
        OpsCommand::List(a) => list(a),
        OpsCommand::Show(a) => show_op(a),
        OpsCommand::Check(a) => check_all(a),
    }
}

fn entry(name: &str) -> anyhow::Result<&'static Entry> {
    match library::get(name) {
        Some(e) => Ok(e),
        None => {
            let names: Vec<&str> = library::entries().iter().map(|e| e.name).collect();
            bail!("no library operator `{name}` (known: {})", names.join(", "))
        }
    }
}

fn list(a: JsonFlag) -> anyhow::Result<Verdict> {
    let mut rows = Vec::new();
    let mut items = Vec::new();
    for e in library::entries() {
        let op = (e.build)().with_context(|| format!("building `{}`", e.name))?;
        let sum = summary(&op)?;
        let hash = op.structural_hash().to_string();
        rows.push(vec![
            e.name.to_string(),
            op.tensor_count().to_string(),
            op.bindings.len().to_string(),
            sci(sum.total_flops),
            hash[..12].to_string(),
            e.summary.to_string(),
        ]);
        items.push(json!({
            "name": e.name,
            "summary": e.summary,
            "tensors": op.tensor_count(),
            "bindings": op.bindings.len(),
            "flops": sum.total_flops as f64,
            "structural_hash": hash,
        }));
    }
    if a.json {
        println!(
            "{}",
            serde_json::to_string_pretty(&json!({ "operators": items }))?
        );
    } else {
        print!(
            "{}",
            table(
                &["name", "tensors", "bindings", "FLOPs", "hash", "formula"],
                rows
            )
        );
        println!("\n{} operators", library::entries().len());
    }
    Ok(Verdict::Success)
}

fn show_op(a: OpsShowArgs) -> anyhow::Result<Verdict> {
    let e = entry(&a.name)?;
    let op = (e.build)().with_context(|| format!("building `{}`", e.name))?;
    show::print_operator(e.name, e.summary, &op, &a.view)?;
    Ok(Verdict::Success)
}

fn check_all(a: OpsCheckArgs) -> anyhow::Result<Verdict> {
    let mut rows = Vec::new();
    let mut items = Vec::new();
    let (mut matched, mut total) = (0usize, 0usize);
    for e in library::entries() {
        total += 1;
        let reports = check(e, a.seed).with_context(|| format!("checking `{}`", e.name))?;
        let ok = reports.iter().all(|r| r.ok);
        matched += ok as usize;
        for r in &reports {
            rows.push(vec![
                r.name.clone(),
                r.binding.clone(),
                format!("{:.1e}", r.err),
                if r.ok { "match" } else { "MISMATCH" }.to_string(),
            ]);
            items.push(json!({"operator": r.name, "binding": r.binding, "err": r.err, "ok": r.ok}));
        }
    }
    let line = format!("{matched}/{total} operators match");
    if a.json {
        let v = json!({
            "seed": a.seed,
            "tolerance": library::check::TOLERANCE,
            "results": items,
            "matched": matched,
            "total": total,
            "summary": line,
        });
        println!("{}", serde_json::to_string_pretty(&v)?);
    } else {
        print!("{}", table(&["operator", "binding", "err", "result"], rows));
        println!(
            "\ninterpreter vs direct implementation, seed {}, tolerance {:.0e}",
            a.seed,
            library::check::TOLERANCE
        );
        println!("{line}");
    }
    Ok(if matched == total {
        Verdict::Success
    } else {
        Verdict::Failure
    })
}
