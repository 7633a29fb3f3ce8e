//! `kas tune list|export|import`: the cache of tuned kernel schedules.

use crate::Verdict;
use crate::cli::TuneCommand;
use crate::table::table;
use kas_eval::tune::TuneCache;
use kas_eval::tune::cache::default_path;
use std::path::PathBuf;

fn cache_path(p: Option<PathBuf>) -> PathBuf {
    p.unwrap_or_else(default_path)
}

fn us(s: f64) -> String {
    format!("{:.1}", s * 1e6)
}

/// Runs `kas tune …`.
pub fn run(c: TuneCommand) -> anyhow::Result<Verdict> {
    match c {
        TuneCommand::List(a) => {
            let path = cache_path(a.cache);
            let cache = TuneCache::load(&path)?;
            let rows: Vec<Vec<String>> = cache
                .iter()
                .map(|(k, e)| {
                    vec![
                        k.canonical[..12].to_string(),
                        k.binding.clone(),
                        k.device.clone(),
                        k.precision.to_string(),
                        e.schedule.label(),
                        e.stage_seconds
                            .iter()
                            .map(|&s| us(s))
                            .collect::<Vec<_>>()
                            .join(" + "),
                        e.reference_seconds
                            .iter()
                            .map(|&s| us(s))
                            .collect::<Vec<_>>()
                            .join(" + "),
                    ]
                })
                .collect();
            if rows.is_empty() {
                println!("no tuned schedule in {}", path.display());
            } else {
                let header = [
                    "operator",
                    "binding",
                    "device",
                    "precision",
                    "schedule",
                    "stages [us]",
                    "reference [us]",
                ];
                println!("{}", table(&header, rows));
                println!("{} schedules in {}", cache.len(), path.display());
            }
        }
        TuneCommand::Export(a) => {
            let path = cache_path(a.cache);
            let cache = TuneCache::load(&path)?;
            cache.export(&a.file)?;
            println!(
                "exported {} schedules from {} to {}",
                cache.len(),
                path.display(),
                a.file.display()
            );
        }
        TuneCommand::Import(a) => {
            let path = cache_path(a.cache);
            let mut cache = TuneCache::load(&path)?;
            let n = cache.import(&a.file)?;
            cache.save(&path)?;
            println!(
                "imported {n} schedules from {} into {} ({} in all)",
                a.file.display(),
                path.display(),
                cache.len()
            );
        }
    }
    Ok(Verdict::Success)
}
