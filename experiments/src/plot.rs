//! The campaign plot (SVG, plotters without system fonts): every measured candidate as
//! accuracy (a language model: validation loss) against latency relative to the original
//! layers (log scale, ticks at 1, 2 and 5 per decade, or at the decades on a wide range, each
//! labelled once), the Pareto front as a line, the baseline of each fidelity marked at latency
//! 1 in that fidelity's colour and shape, each with its legend entry. Only major grid lines, in
//! light grey.

use anyhow::{Context, anyhow};
use kas_search::report::CampaignReport;
use plotters::element::ComposedElement;
use plotters::prelude::*;
use std::path::Path;

pub(crate) const COLORS: [RGBColor; 4] = [
    RGBColor(120, 150, 200),
    RGBColor(230, 140, 40),
    RGBColor(60, 160, 90),
    RGBColor(150, 90, 170),
];

/// The grid lines.
pub(crate) const GRID: RGBColor = RGBColor(225, 225, 225);

/// Writes the plot of `r` to `path`.
pub fn write_svg(r: &CampaignReport, path: &Path) -> anyhow::Result<()> {
    draw(r, path).with_context(|| format!("writing {}", path.display()))
}

/// Tick values of a log axis over `lo..hi` (0 < lo < hi): 1, 2 and 5 times each power of ten
/// when the range spans at most three decades (every integer multiple on a range too narrow
/// for three of those), else the powers of ten (every `k`-th on a very wide range, so that
/// about 10 remain).
pub(crate) fn log_ticks(lo: f64, hi: f64) -> Vec<f64> {
    let (first, last) = (lo.log10().floor() as i32, hi.log10().ceil() as i32);
    let decades = (last - first).max(1);
    let every = decades / 10 + 1;
    let ticks = |steps: &[f64]| -> Vec<f64> {
        (first..=last)
            .filter(|e| steps.len() > 1 || (e - first) % every == 0)
            .flat_map(|e| steps.iter().map(move |m| m * 10f64.powi(e)))
            .filter(|t| (lo..=hi).contains(t))
            .collect()
    };
    if decades > 3 {
        return ticks(&[1.0]);
    }
    let coarse = ticks(&[1.0, 2.0, 5.0]);
    if coarse.len() >= 3 {
        coarse
    } else {
        ticks(&[1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0])
    }
}

/// A tick label with the digits its decade needs: `0.05`, `0.2`, `1`, `20`.
pub(crate) fn tick_label(v: f64) -> String {
    let decimals = (-v.log10().floor()).max(0.0) as usize;
    format!("{v:.decimals$}")
}

/// A baseline's marker: a filled outline with a black border, around a point.
type Marker<C, DB> = ComposedElement<C, DB, Polygon<(i32, i32)>, PathElement<(i32, i32)>>;

/// The baseline marker of fidelity `level` at `at`, `s` pixels from its centre: a triangle,
/// square, diamond or downward triangle, filled with the fidelity's colour and outlined in
/// black, so that two baselines at the same latency stay apart.
fn baseline_marker<C, DB: DrawingBackend>(level: usize, at: C, s: i32) -> Marker<C, DB> {
    let outline = match level % 4 {
        0 => vec![(0, -s), (s, s * 2 / 3), (-s, s * 2 / 3)],
        1 => vec![(-s, -s), (s, -s), (s, s), (-s, s)],
        2 => vec![(0, -s), (s, 0), (0, s), (-s, 0)],
        _ => vec![(-s, -s * 2 / 3), (s, -s * 2 / 3), (0, s)],
    };
    let mut closed = outline.clone();
    closed.push(outline[0]);
    EmptyElement::at(at)
        + Polygon::new(outline, COLORS[level % COLORS.len()].filled())
        + PathElement::new(closed, BLACK.stroke_width(1))
}

fn draw(r: &CampaignReport, path: &Path) -> anyhow::Result<()> {
    let err = |e: &dyn std::fmt::Display| anyhow!("{e}");
    // The y axis: accuracy, or a language model's validation loss (lower is better).
    let label = r.target().label();
    let points: Vec<(f64, f64, usize)> = r
        .entries
        .iter()
        .filter_map(|e| Some((e.relative_latency()?, e.figure()?, e.fidelity)))
        .collect();
    let baselines: Vec<(f64, usize)> = r
        .baselines
        .iter()
        .filter_map(|(l, o)| Some((r.target().of(o.metrics()?)?, *l)))
        .collect();
    let lat = points.iter().map(|p| p.0).chain([1.0]);
    let (lo_x, hi_x) = lat.fold((f64::INFINITY, 0.0f64), |(a, b), x| (a.min(x), b.max(x)));
    let (lo_x, hi_x) = (lo_x / 1.3, hi_x * 1.3);
    let acc = points
        .iter()
        .map(|p| p.1)
        .chain(baselines.iter().map(|b| b.0));
    let (lo_y, hi_y) = acc.fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), y| {
        (a.min(y), b.max(y))
    });
    let (lo_y, hi_y) = if lo_y.is_finite() {
        let pad = ((hi_y - lo_y) * 0.08).max(0.01);
        (lo_y - pad, hi_y + pad)
    } else {
        (0.0, 1.0)
    };
    let root = SVGBackend::new(path, (900, 600)).into_drawing_area();
    root.fill(&WHITE).map_err(|e| err(&e))?;
    let x_axis = (lo_x..hi_x)
        .log_scale()
        .with_key_points(log_ticks(lo_x, hi_x));
    let mut chart = ChartBuilder::on(&root)
        .caption(
            format!("campaign {}: {label} vs latency", r.file.name),
            ("sans-serif", 22),
        )
        .margin(15)
        .x_label_area_size(45)
        .y_label_area_size(60)
        .build_cartesian_2d(x_axis, lo_y..hi_y)
        .map_err(|e| err(&e))?;
    chart
        .configure_mesh()
        .x_desc("latency relative to the original layers (log scale)")
        .y_desc(label)
        .x_label_formatter(&|v| tick_label(*v))
        .bold_line_style(GRID)
        .max_light_lines(0)
        .draw()
        .map_err(|e| err(&e))?;
    for level in 0..r.file.fidelities.len() {
        let color = COLORS[level % COLORS.len()];
        chart
            .draw_series(
                points
                    .iter()
                    .filter(|p| p.2 == level)
                    .map(|p| Circle::new((p.0, p.1), 4, color.filled())),
            )
            .map_err(|e| err(&e))?
            .label(format!("candidates ({})", r.fidelity_name(level)))
            .legend(move |(x, y)| Circle::new((x, y), 4, color.filled()));
    }
    let front: Vec<(f64, f64)> = r
        .front
        .iter()
        .filter_map(|&i| Some((r.entries[i].relative_latency()?, r.entries[i].figure()?)))
        .collect();
    chart
        .draw_series(LineSeries::new(front.clone(), RED.stroke_width(2)))
        .map_err(|e| err(&e))?
        .label("Pareto front")
        .legend(|(x, y)| PathElement::new(vec![(x - 8, y), (x + 8, y)], RED.stroke_width(2)));
    chart
        .draw_series(
            front
                .iter()
                .map(|p| Circle::new(*p, 5, RED.stroke_width(2))),
        )
        .map_err(|e| err(&e))?;
    for &(a, level) in &baselines {
        chart
            .draw_series([baseline_marker(level, (1.0, a), 8)])
            .map_err(|e| err(&e))?
            .label(format!("baseline ({})", r.fidelity_name(level)))
            .legend(move |at| baseline_marker(level, at, 6));
    }
    chart
        .configure_series_labels()
        .background_style(WHITE.mix(0.8))
        .border_style(BLACK)
        .position(SeriesLabelPosition::LowerRight)
        .draw()
        .map_err(|e| err(&e))?;
    root.present().map_err(|e| err(&e))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use kas_campaign::{CampaignFile, Metrics, Outcome};
    use kas_search::report::ReportRow;

    /// A report with two fidelities, candidates from 0.2× to 40× the original latency, and a
    /// baseline at each fidelity.
    fn report() -> CampaignReport {
        let text = include_str!("../configs/cnn-fmnist.ron");
        let file = CampaignFile::parse(text, "cnn-fmnist.ron").unwrap();
        let ok = |accuracy: f64, speedup: f64| {
            Outcome::Ok(Metrics {
                accuracy: Some(accuracy),
                speedup: Some(speedup),
                ..Metrics::default()
            })
        };
        let entries: Vec<ReportRow> = [
            (0.8, 5.0, 1),
            (0.7, 0.025, 0),
            (0.6, 1.5, 0),
            (0.75, 0.5, 1),
        ]
        .iter()
        .enumerate()
        .map(|(i, &(a, s, fidelity))| {
            ReportRow::new(format!("{i:032x}"), fidelity, ok(a, s), a, i as u64)
        })
        .collect();
        CampaignReport {
            file,
            dir: std::path::PathBuf::from("."),
            results: entries.clone(),
            entries,
            baselines: [(0, ok(0.7, 1.0)), (1, ok(0.82, 1.0))]
                .into_iter()
                .collect(),
            evaluations: 4,
            failures: Default::default(),
            front: vec![0],
            unfinished: vec![],
            baseline_seeds: Default::default(),
            devices: vec!["stand-in".into()],
            retimes: (0, 0),
            migrations: vec![],
        }
    }

    fn svg() -> String {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("report.svg");
        write_svg(&report(), &path).unwrap();
        std::fs::read_to_string(&path).unwrap()
    }

    /// The text of every `<text>` element.
    fn texts(svg: &str) -> Vec<String> {
        svg.split("<text")
            .skip(1)
            .map(|t| {
                let body = &t[t.find('>').unwrap() + 1..t.find("</text>").unwrap()];
                body.trim().to_string()
            })
            .collect()
    }

    #[test]
    fn tick_labels_are_unique_and_cover_the_whole_log_range() {
        let svg = svg();
        let texts = texts(&svg);
        let mut seen = std::collections::BTreeSet::new();
        for t in &texts {
            assert!(seen.insert(t.as_str()), "`{t}` is drawn twice: {texts:?}");
        }
        // The latencies run from 0.2 to 40: labels below 1, at 1, and past 10.
        for label in ["0.2", "0.5", "1", "2", "5", "10", "20"] {
            assert!(
                texts.iter().any(|t| t == label),
                "no tick `{label}`: {texts:?}"
            );
        }
        assert!(!texts.iter().any(|t| t == "10.0"), "{texts:?}");
    }

    #[test]
    fn each_baseline_has_its_own_marker_and_legend_entry() {
        let svg = svg();
        let texts = texts(&svg);
        for label in ["baseline (screen)", "baseline (full)"] {
            assert!(texts.iter().any(|t| t == label), "{texts:?}");
        }
        // Markers: two on the plot, two in the legend; fidelity 0 a triangle in its colour,
        // fidelity 1 a square in its colour.
        let polygons: Vec<(String, usize)> = svg
            .split("<polygon")
            .skip(1)
            .map(|p| {
                let fill = p.split("fill=\"").nth(1).unwrap();
                let fill = fill[..fill.find('"').unwrap()].to_string();
                let points = p.split("points=\"").nth(1).unwrap();
                let n = points[..points.find('"').unwrap()]
                    .split_whitespace()
                    .count();
                (fill, n)
            })
            .collect();
        let hex = |c: RGBColor| format!("#{:02X}{:02X}{:02X}", c.0, c.1, c.2);
        let count =
            |fill: &str, n: usize| polygons.iter().filter(|p| p.0 == fill && p.1 == n).count();
        assert_eq!(count(&hex(COLORS[0]), 3), 2, "{polygons:?}");
        assert_eq!(count(&hex(COLORS[1]), 4), 2, "{polygons:?}");
        assert_eq!(polygons.len(), 4, "{polygons:?}");
    }

    #[test]
    fn only_major_grid_lines() {
        let svg = svg();
        // 8 x ticks and 5 y ticks: one grid line each, no minor grid.
        let lines = svg.matches("<line").count();
        assert!(lines <= 16, "{lines} grid lines");
    }

    #[test]
    fn log_ticks_are_few_distinct_and_inside_the_range() {
        for lo_exp in -30..10 {
            for span in [1.05, 1.5, 3.0, 10.0, 40.0, 1e3, 1e5, 1e12] {
                let lo = 10f64.powf(lo_exp as f64 / 10.0);
                let hi = lo * span;
                let ticks = log_ticks(lo, hi);
                assert!(ticks.len() <= 16, "{lo}..{hi}: {ticks:?}");
                // The plot's range always holds 1/1.3..1.3, a factor of 1.69.
                if span >= 1.69 {
                    assert!(ticks.len() >= 2, "{lo}..{hi}: {ticks:?}");
                }
                assert!(
                    ticks.iter().all(|t| (lo..=hi).contains(t)),
                    "{lo}..{hi}: {ticks:?}"
                );
                let labels: std::collections::BTreeSet<String> =
                    ticks.iter().map(|t| tick_label(*t)).collect();
                assert_eq!(labels.len(), ticks.len(), "{lo}..{hi}: {ticks:?}");
            }
        }
        assert_eq!(
            log_ticks(0.15, 52.0),
            [0.2, 0.5, 1.0, 2.0, 5.0, 10.0, 20.0, 50.0]
        );
        assert_eq!(log_ticks(1.0 / 1.3, 1.3), [0.8, 0.9, 1.0]);
        assert_eq!(tick_label(0.05), "0.05");
        assert_eq!(tick_label(20.0), "20");
    }
}
