//! The campaign plot (SVG, plotters without system fonts): every measured candidate as
//! accuracy against latency relative to the original layers (log scale), the Pareto front as
//! a line, the baseline of each fidelity marked at latency 1.

use anyhow::{Context, anyhow};
use kas_search::report::CampaignReport;
use plotters::prelude::*;
use std::path::Path;

const COLORS: [RGBColor; 4] = [
    RGBColor(120, 150, 200),
    RGBColor(230, 140, 40),
    RGBColor(60, 160, 90),
    RGBColor(150, 90, 170),
];

/// Writes the plot of `r` to `path`.
pub fn write_svg(r: &CampaignReport, path: &Path) -> anyhow::Result<()> {
    draw(r, path).with_context(|| format!("writing {}", path.display()))
}

fn draw(r: &CampaignReport, path: &Path) -> anyhow::Result<()> {
    let err = |e: &dyn std::fmt::Display| anyhow!("{e}");
    let points: Vec<(f64, f64, usize)> = r
        .entries
        .iter()
        .filter_map(|e| Some((e.relative_latency()?, e.accuracy()?, e.fidelity)))
        .collect();
    let baselines: Vec<(f64, usize)> = r
        .baselines
        .iter()
        .filter_map(|(l, o)| Some((o.metrics()?.accuracy?, *l)))
        .collect();
    let lat = points.iter().map(|p| p.0).chain([1.0]);
    let (lo_x, hi_x) = lat.fold((f64::INFINITY, 0.0f64), |(a, b), x| (a.min(x), b.max(x)));
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
    let mut chart = ChartBuilder::on(&root)
        .caption(
            format!("campaign {}: accuracy vs latency", r.file.name),
            ("sans-serif", 22),
        )
        .margin(15)
        .x_label_area_size(45)
        .y_label_area_size(60)
        .build_cartesian_2d((lo_x / 1.3..hi_x * 1.3).log_scale(), lo_y..hi_y)
        .map_err(|e| err(&e))?;
    chart
        .configure_mesh()
        .x_desc("latency relative to the original layers (log scale)")
        .y_desc("accuracy")
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
        .filter_map(|&i| Some((r.entries[i].relative_latency()?, r.entries[i].accuracy()?)))
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
    for (a, level) in &baselines {
        let name = r.fidelity_name(*level).to_string();
        chart
            .draw_series([TriangleMarker::new((1.0, *a), 9, BLACK.filled())])
            .map_err(|e| err(&e))?
            .label(format!("baseline ({name})"))
            .legend(|(x, y)| TriangleMarker::new((x, y), 6, BLACK.filled()));
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
