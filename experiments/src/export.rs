//! `kas export`: an operator's kernels as a CUDA bundle other code can build and call.

use crate::Verdict;
use crate::cli::ExportArgs;
use crate::runs::out_dir;
use anyhow::{Context, bail};
use kas_codegen::export::{Chosen, bundle_with};
use kas_eval::tune::cache::default_path;
use kas_eval::tune::{TuneCache, TuneKey};
use kas_primitives::format::read_operator_file;
use kas_primitives::{Operator, library};

/// Reads an operator file, or builds a library operator by name.
pub fn load(arg: &str) -> anyhow::Result<(String, Operator)> {
    if let Some(e) = library::get(arg) {
        return Ok((e.name.to_string(), (e.build)()?));
    }
    let text = std::fs::read_to_string(arg)
        .with_context(|| format!("cannot read {arg} (neither a file nor a library operator)"))?;
    let (file, op) = read_operator_file(&text, arg)?;
    Ok((file.name, op))
}

/// Runs `kas export`.
pub fn run(a: ExportArgs) -> anyhow::Result<Verdict> {
    let (name, op) = load(&a.operator)?;
    let bindings = match &a.binding {
        None => op.bindings.clone(),
        Some(b) => match op.bindings.iter().find(|x| &x.name == b) {
            Some(x) => vec![x.clone()],
            None => {
                let known: Vec<&str> = op.bindings.iter().map(|x| x.name.as_str()).collect();
                bail!(
                    "`{name}` has no binding `{b}` (known: {})",
                    known.join(", ")
                )
            }
        },
    };
    if bindings.is_empty() {
        bail!("`{name}` has no binding to export: add one to its file");
    }
    let out = out_dir(a.out.as_deref(), "export")?;
    // The bundle carries the tuned winners found in the tuning cache (the most recent tuning
    // of each binding, on whatever device it ran), the heuristic schedule elsewhere.
    let cache = TuneCache::load(&default_path())?;
    let chosen = |ir: &kas_codegen::StageIr, b: &kas_primitives::Binding| -> Option<Chosen> {
        let key = TuneKey::new(&op, ir, b, "").ok()?;
        let hits = cache.any_device(&key);
        let (k, e) = hits.first()?;
        (e.schedule.stages.len() == ir.stages.len()).then(|| Chosen {
            schedule: e.schedule.clone(),
            source: format!("tuned on {}", k.device),
        })
    };
    let files = bundle_with(&name, &op, &bindings, &chosen)?;
    for f in &files {
        let p = out.join(&f.name);
        std::fs::write(&p, &f.contents).with_context(|| format!("cannot write {}", p.display()))?;
        println!("wrote {}", p.display());
    }
    println!(
        "exported {name}: {} binding(s), {} files in {}",
        bindings.len(),
        files.len(),
        out.display()
    );
    Ok(Verdict::Success)
}
