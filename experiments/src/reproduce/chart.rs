//! The plot of a reproduction: kas's figure and the paper's for each compared figure, side by
//! side on a log axis, drawn with the campaign plot's axes, colours and grid
//! ([`crate::plot`]).

use crate::plot::{COLORS, GRID, log_ticks, tick_label};
use anyhow::{Context, anyhow};
use plotters::prelude::*;
use std::path::Path;

/// One compared figure.
pub struct Point {
    /// Its label on the x axis (with its unit).
    pub label: String,
    /// kas's value.
    pub kas: Option<f64>,
    /// The paper's value.
    pub paper: Option<f64>,
}

/// Writes the plot of `points` to `path`.
pub fn write_svg(title: &str, points: &[Point], path: &Path) -> anyhow::Result<()> {
    draw(title, points, path).with_context(|| format!("writing {}", path.display()))
}

fn draw(title: &str, points: &[Point], path: &Path) -> anyhow::Result<()> {
    let err = |e: &dyn std::fmt::Display| anyhow!("{e}");
    let values = || {
        points
            .iter()
            .flat_map(|p| [p.kas, p.paper])
            .flatten()
            .filter(|v| v.is_finite() && *v > 0.0)
    };
    let lo = values().fold(f64::INFINITY, f64::min);
    let hi = values().fold(0.0f64, f64::max);
    let (lo, hi) = if lo.is_finite() {
        (lo / 2.0, hi * 2.0)
    } else {
        (0.1, 10.0)
    };
    let n = points.len().max(1);
    let root = SVGBackend::new(path, (160 * n as u32 + 300, 600)).into_drawing_area();
    root.fill(&WHITE).map_err(|e| err(&e))?;
    let y_axis = (lo..hi).log_scale().with_key_points(log_ticks(lo, hi));
    let mut chart = ChartBuilder::on(&root)
        .caption(title, ("sans-serif", 22))
        .margin(15)
        .x_label_area_size(45)
        .y_label_area_size(60)
        .build_cartesian_2d(-0.5f64..n as f64 - 0.5, y_axis)
        .map_err(|e| err(&e))?;
    let labels: Vec<String> = points.iter().map(|p| p.label.clone()).collect();
    chart
        .configure_mesh()
        .x_labels(n)
        .x_label_formatter(&|x| {
            let i = x.round();
            if (x - i).abs() < 1e-6 && i >= 0.0 {
                labels.get(i as usize).cloned().unwrap_or_default()
            } else {
                String::new()
            }
        })
        .y_label_formatter(&|v| tick_label(*v))
        .y_desc("value (each figure in its own unit, log scale)")
        .bold_line_style(GRID)
        .max_light_lines(0)
        .draw()
        .map_err(|e| err(&e))?;
    let series = [
        (
            "kas",
            -0.12,
            COLORS[0],
            points.iter().map(|p| p.kas).collect::<Vec<_>>(),
        ),
        (
            "paper",
            0.12,
            COLORS[1],
            points.iter().map(|p| p.paper).collect(),
        ),
    ];
    for (name, dx, color, vals) in series {
        chart
            .draw_series(
                (vals.iter().enumerate())
                    .filter_map(|(i, v)| Some((i as f64 + dx, (*v)?)))
                    .filter(|(_, v)| v.is_finite() && *v > 0.0)
                    .map(|(x, v)| Circle::new((x, v), 6, color.filled())),
            )
            .map_err(|e| err(&e))?
            .label(name)
            .legend(move |(x, y)| Circle::new((x, y), 6, color.filled()));
    }
    chart
        .configure_series_labels()
        .background_style(WHITE.mix(0.8))
        .border_style(BLACK)
        .position(SeriesLabelPosition::UpperRight)
        .draw()
        .map_err(|e| err(&e))?;
    root.present().map_err(|e| err(&e))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_series_and_every_label_are_drawn() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("plot.svg");
        let points = [
            Point {
                label: "rate [/s]".into(),
                kas: Some(3.0),
                paper: Some(0.24),
            },
            Point {
                label: "kas only [%]".into(),
                kas: Some(12.0),
                paper: None,
            },
        ];
        write_svg("t", &points, &path).unwrap();
        let svg = std::fs::read_to_string(&path).unwrap();
        let texts: Vec<&str> = (svg.split("<text").skip(1))
            .filter_map(|t| Some(t[t.find('>')? + 1..t.find("</text>")?].trim()))
            .collect();
        for text in ["kas", "paper", "rate [/s]", "kas only [%]"] {
            assert!(texts.contains(&text), "no `{text}` in {texts:?}");
        }
        // Three points and two legend markers.
        assert_eq!(svg.matches("<circle").count(), 5);
    }
}
