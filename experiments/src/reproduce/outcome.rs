//! What an experiment produced: rows of kas's figures beside the paper's, the seeds, the
//! devices and versions; written as `table.md` and `plot.svg` into the output directory.

use super::Context;
use super::paper::Figure;
use anyhow::Context as _;
use std::fmt::Write as _;
use std::path::PathBuf;

/// One compared figure.
#[derive(Debug, Clone)]
pub struct Row {
    /// What is compared.
    pub label: String,
    /// The unit of both values.
    pub unit: String,
    /// kas's figure, if measured.
    pub kas: Option<f64>,
    /// The paper's figure and its source, if it has one.
    pub paper: Option<Figure>,
    /// Why the two differ, or how kas's figure was obtained.
    pub note: String,
}

/// An experiment's result.
#[derive(Debug, Clone)]
pub struct Outcome {
    /// The table's title.
    pub title: String,
    /// The compared figures.
    pub rows: Vec<Row>,
    /// Every seed used.
    pub seeds: Vec<u64>,
    /// One fingerprint line per device that measured.
    pub devices: Vec<String>,
    /// Further markdown (per-measurement details), after the table.
    pub details: Vec<String>,
    /// Keys of the measurements left for a later run (`--minutes` ran out).
    pub pending: Vec<String>,
    /// The journaled measurements behind the table and the seconds they took.
    pub measured: Measured,
}

/// How many measurements a table rests on and how long they took to measure (the wall time of
/// each, as journaled: the device time an experiment costs, without the reruns' restarts).
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Measured {
    /// Journaled measurements.
    pub count: usize,
    /// Their seconds, summed.
    pub seconds: f64,
}

impl Measured {
    /// The count and sum of measurements' `seconds`.
    pub fn of(seconds: impl Iterator<Item = f64>) -> Measured {
        seconds.fold(Measured::default(), |m, seconds| {
            m + Measured { count: 1, seconds }
        })
    }
}

impl std::ops::Add for Measured {
    type Output = Measured;

    /// Both sets of measurements together.
    fn add(self, other: Measured) -> Measured {
        Measured {
            count: self.count + other.count,
            seconds: self.seconds + other.seconds,
        }
    }
}

/// A figure with its unit: three significant digits at most, whole numbers without decimals.
fn value(v: Option<f64>, unit: &str) -> String {
    let number = match v {
        None => return "-".into(),
        Some(x) if x.abs() >= 100.0 || (x.fract() == 0.0 && unit.is_empty()) => format!("{x:.0}"),
        Some(x) if x.abs() >= 1.0 => format!("{x:.2}"),
        Some(x) => format!("{x:.3}"),
    };
    if unit.is_empty() {
        number
    } else {
        format!("{number} {unit}")
    }
}

/// kas's version line: `kas VERSION (git HASH)`.
pub fn version_line() -> String {
    format!(
        "kas {} (git {})",
        kas_eval::fingerprint::KAS_VERSION,
        kas_eval::fingerprint::KAS_GIT_HASH
    )
}

impl Outcome {
    /// Checks that every paper figure is in its row's unit.
    pub fn check_units(&self) -> anyhow::Result<()> {
        for r in &self.rows {
            if let Some(p) = &r.paper
                && p.unit != r.unit
            {
                anyhow::bail!(
                    "paper figure `{}` is in `{}`, its row `{}` in `{}`",
                    p.key,
                    p.unit,
                    r.label,
                    r.unit
                );
            }
        }
        Ok(())
    }

    /// The markdown table with the seeds, the devices and the version.
    pub fn markdown(&self, ctx: &Context, name: &str) -> String {
        let mut s = String::new();
        let _ = writeln!(s, "# {}\n", self.title);
        let _ = writeln!(
            s,
            "`kas reproduce {name}{}{}`; {}.\n",
            if ctx.quick { " --quick" } else { "" },
            if ctx.precision == ctx.default_precision {
                String::new()
            } else {
                format!(" --precision {}", ctx.precision)
            },
            version_line()
        );
        let _ = writeln!(s, "| figure | kas | paper | paper's source | note |");
        let _ = writeln!(s, "|---|---|---|---|---|");
        for r in &self.rows {
            let _ = writeln!(
                s,
                "| {} | {} | {} | {} | {} |",
                r.label,
                value(r.kas, &r.unit),
                value(r.paper.as_ref().map(|p| p.value), &r.unit),
                r.paper.as_ref().map_or("-", |p| p.source.as_str()),
                r.note
            );
        }
        let seeds: Vec<String> = self.seeds.iter().map(u64::to_string).collect();
        let _ = writeln!(s, "\nSeeds: {}.\n", seeds.join(", "));
        let m = self.measured;
        let _ = writeln!(
            s,
            "Measured: {} journaled measurement(s), {:.0} s ({:.1} min) of measuring in all.\n",
            m.count,
            m.seconds,
            m.seconds / 60.0
        );
        if !self.pending.is_empty() {
            let _ = writeln!(
                s,
                "Pending (--minutes ran out; a rerun into the same --out measures them): {}.\n",
                self.pending.join(", ")
            );
        }
        for d in &self.devices {
            let _ = writeln!(s, "Device: {d}\n");
        }
        for d in &self.details {
            let _ = writeln!(s, "{d}");
        }
        s
    }

    /// Writes `table.md` and `plot.svg` into the context's directory (`table-tf32.md`, … at
    /// another precision than f32: [`Context::file`]); returns their paths.
    pub fn write(&self, ctx: &Context, name: &str) -> anyhow::Result<(PathBuf, PathBuf)> {
        let md = ctx.dir.join(ctx.file("table", "md"));
        std::fs::write(&md, self.markdown(ctx, name))
            .with_context(|| format!("writing {}", md.display()))?;
        let svg = ctx.dir.join(ctx.file("plot", "svg"));
        let points: Vec<super::chart::Point> = (self.rows.iter())
            .map(|r| super::chart::Point {
                label: format!("{} [{}]", r.label, r.unit),
                kas: r.kas,
                paper: r.paper.as_ref().map(|p| p.value),
            })
            .collect();
        super::chart::write_svg(&self.title, &points, &svg)?;
        Ok((md, svg))
    }
}

#[cfg(test)]
mod tests {
    use super::value;

    #[test]
    fn figures_print_with_their_units() {
        assert_eq!(value(Some(71.0), ""), "71");
        assert_eq!(value(Some(332.0), ""), "332");
        assert_eq!(value(Some(0.24), "/s"), "0.240 /s");
        assert_eq!(value(Some(1.694), "x"), "1.69 x");
        assert_eq!(value(Some(300.0), "s"), "300 s");
        assert_eq!(value(None, "%"), "-");
    }
}
