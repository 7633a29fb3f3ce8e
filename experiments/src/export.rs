//! `kas export`: an operator's kernels as a CUDA bundle other code can build and call.

use crate::Verdict;
use crate::cli::ExportArgs;
use crate::export_torch;
use crate::runs::out_path;
use anyhow::{Context, bail};
use kas_codegen::export::pytorch::{TorchExport, pytorch_files};
use kas_codegen::export::{BundleFile, Chosen, bundle_with};
use kas_eval::tune::cache::default_path;
use kas_eval::tune::{TuneCache, TuneKey};
use kas_primitives::format::{read_operator_file, read_text};
use kas_primitives::{Operator, library};
use std::path::{Path, PathBuf};

/// Reads an operator file, or builds a library operator by name.
pub fn load(arg: &str) -> anyhow::Result<(String, Operator)> {
    if let Some(e) = library::get(arg) {
        return Ok((e.name.to_string(), (e.build)()?));
    }
    let path = Path::new(arg);
    if !path.exists() {
        bail!(
            "cannot read {arg}: neither a file nor a library operator (`kas ops list` lists them)"
        );
    }
    let text = read_text(path)?;
    let (file, op) = read_operator_file(&text, arg)?;
    Ok((file.name, op))
}

/// Runs `kas export`.
pub fn run(a: ExportArgs) -> anyhow::Result<Verdict> {
    let precision = a.precision.precision();
    let (name, op, weights) = if a.best {
        export_torch::best(Path::new(&a.operator))?
    } else {
        let (name, op) = load(&a.operator)?;
        (name, op, None)
    };
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
    // The bundle carries the tuned winners found in the tuning cache (the most recent tuning
    // of each binding, on whatever device it ran), the heuristic schedule elsewhere.
    let cache = TuneCache::load(&default_path())?;
    let chosen = |ir: &kas_codegen::StageIr, b: &kas_primitives::Binding| -> Option<Chosen> {
        let key = TuneKey::new(&op, ir, b, "", precision).ok()?;
        let hits = cache.any_device(&key);
        let (k, e) = hits.first()?;
        (e.schedule.stages.len() == ir.stages.len()).then(|| Chosen {
            schedule: e.schedule.clone(),
            source: format!("tuned on {}", k.device),
        })
    };
    let mut binary: Option<Vec<u8>> = None;
    // Everything is generated before the folder is touched: a failed export leaves nothing.
    let mut files = bundle_with(&name, &op, &bindings, precision, &chosen)?;
    if a.pytorch {
        let shapes = export_torch::shapes(&op, &a.shapes)?;
        export_torch::note_missing_gradients(&op)?;
        let torch = pytorch_files(&TorchExport {
            name: &name,
            op: &op,
            shapes: &shapes,
            buckets: &a.batch_buckets,
            precision,
        })?;
        if let Some(readme) = files.iter_mut().find(|f| f.name == "README.md") {
            readme.contents.push_str(
                "\n## PyTorch\n\nThis bundle also holds a PyTorch extension (forward and backward, any \
                 batch size): see `PYTORCH.md`.\n",
            );
        }
        files.extend(torch);
        println!("PyTorch extension: {} shape(s)", shapes.len());
    }
    if let Some(w) = &weights {
        let bytes = std::fs::read(w).with_context(|| format!("cannot read {}", w.display()))?;
        files.push(BundleFile {
            name: "weights.safetensors".into(),
            contents: String::new(),
        });
        binary = Some(bytes);
    } else if a.best {
        println!(
            "the campaign saved no trained weights for this operator (only full-fidelity evaluations of campaigns run since weights were saved have them)"
        );
    }
    let out = out_path(a.out.as_deref(), "export");
    write_bundle(&out, &files, binary.as_deref())?;
    for f in &files {
        println!("wrote {}", out.join(&f.name).display());
    }
    println!(
        "exported {name} at {precision}: {} binding(s), {} files in {}",
        bindings.len(),
        files.len(),
        out.display()
    );
    Ok(Verdict::Success)
}

/// Writes `files` into `out`, creating it (and missing parents) if needed; `weights.safetensors`
/// gets the bytes `binary`. On failure, what this call created is removed: the folders it
/// made, or, in a folder that already existed, the files it wrote.
fn write_bundle(out: &Path, files: &[BundleFile], binary: Option<&[u8]>) -> anyhow::Result<()> {
    let created = first_missing(out);
    let mut written: Vec<PathBuf> = Vec::new();
    let result = (|| -> anyhow::Result<()> {
        std::fs::create_dir_all(out).with_context(|| format!("cannot create {}", out.display()))?;
        for f in files {
            let p = out.join(&f.name);
            let bytes = match binary {
                Some(b) if f.name == "weights.safetensors" => b,
                _ => f.contents.as_bytes(),
            };
            std::fs::write(&p, bytes).with_context(|| format!("cannot write {}", p.display()))?;
            written.push(p);
        }
        Ok(())
    })();
    if result.is_err() {
        // Best effort: the error being reported is the write's.
        match &created {
            Some(dir) => {
                let _ = std::fs::remove_dir_all(dir);
            }
            None => {
                for p in &written {
                    let _ = std::fs::remove_file(p);
                }
            }
        }
    }
    result
}

/// The outermost folder of `path` (itself included) that does not exist yet: what
/// `create_dir_all(path)` would create.
fn first_missing(path: &Path) -> Option<PathBuf> {
    let mut missing = None;
    for p in path.ancestors() {
        if p.as_os_str().is_empty() || p.exists() {
            break;
        }
        missing = Some(p.to_path_buf());
    }
    missing
}
