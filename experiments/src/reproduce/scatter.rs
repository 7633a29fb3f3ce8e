//! A labelled scatter plot of a reproduction (`syno-accuracy`'s accuracy against the whole
//! model's multiply-adds): one series for kas's points and one for the paper's, each point
//! named, drawn with the campaign plot's colours and grid ([`crate::plot`]).

use crate::plot::{COLORS, GRID};
use anyhow::{Context, anyhow};
use plotters::prelude::*;
use std::path::Path;

/// One named point.
pub struct Labelled {
    /// Its name beside the marker.
    pub label: String,
    /// x and y.
    pub at: (f64, f64),
}

/// The plot's title, axis names and series (`(name, points)`, at most as many as the colours).
pub struct Scatter<'a> {
    /// Title.
    pub title: &'a str,
    /// The x axis.
    pub x: &'a str,
    /// The y axis.
    pub y: &'a str,
    /// The series.
    pub series: Vec<(&'a str, Vec<Labelled>)>,
}

/// Writes the scatter plot to `path`.
pub fn write_scatter(s: &Scatter, path: &Path) -> anyhow::Result<()> {
    draw(s, path).with_context(|| format!("writing {}", path.display()))
}

/// The range of `values` with a margin of a tenth on each side (or ±1 around one value).
fn range(values: impl Iterator<Item = f64>) -> (f64, f64) {
    let (lo, hi) = values
        .filter(|v| v.is_finite())
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), v| {
            (a.min(v), b.max(v))
        });
    if !lo.is_finite() {
        return (0.0, 1.0);
    }
    let pad = if hi > lo { (hi - lo) / 10.0 } else { 1.0 };
    (lo - pad, hi + pad)
}

fn draw(s: &Scatter, path: &Path) -> anyhow::Result<()> {
    let err = |e: &dyn std::fmt::Display| anyhow!("{e}");
    let points = || s.series.iter().flat_map(|(_, p)| p.iter());
    let (x0, x1) = range(points().map(|p| p.at.0));
    let (y0, y1) = range(points().map(|p| p.at.1));
    let root = SVGBackend::new(path, (900, 600)).into_drawing_area();
    root.fill(&WHITE).map_err(|e| err(&e))?;
    let mut chart = ChartBuilder::on(&root)
        .caption(s.title, ("sans-serif", 22))
        .margin(15)
        .x_label_area_size(45)
        .y_label_area_size(60)
        .build_cartesian_2d(x0..x1, y0..y1)
        .map_err(|e| err(&e))?;
    chart
        .configure_mesh()
        .x_desc(s.x)
        .y_desc(s.y)
        .bold_line_style(GRID)
        .max_light_lines(0)
        .draw()
        .map_err(|e| err(&e))?;
    for (i, (name, pts)) in s.series.iter().enumerate() {
        let color = COLORS[i % COLORS.len()];
        chart
            .draw_series(
                pts.iter()
                    .filter(|p| p.at.0.is_finite() && p.at.1.is_finite())
                    .map(|p| {
                        EmptyElement::at(p.at)
                            + Circle::new((0, 0), 6, color.filled())
                            + Text::new(p.label.clone(), (8, -4), ("sans-serif", 13))
                    }),
            )
            .map_err(|e| err(&e))?
            .label(*name)
            .legend(move |(x, y)| Circle::new((x, y), 6, color.filled()));
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

    #[test]
    fn every_point_is_drawn_with_its_label() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("scatter.svg");
        let s = Scatter {
            title: "t",
            x: "MACs",
            y: "accuracy",
            series: vec![
                (
                    "kas",
                    vec![
                        Labelled {
                            label: "conv".into(),
                            at: (1.0, 90.0),
                        },
                        Labelled {
                            label: "op".into(),
                            at: (0.5, 89.0),
                        },
                    ],
                ),
                (
                    "paper",
                    vec![Labelled {
                        label: "op (paper)".into(),
                        at: (0.6, 78.0),
                    }],
                ),
            ],
        };
        write_scatter(&s, &path).unwrap();
        let svg = std::fs::read_to_string(&path).unwrap();
        let texts: Vec<&str> = (svg.split("<text").skip(1))
            .filter_map(|t| Some(t[t.find('>')? + 1..t.find("</text>")?].trim()))
            .collect();
        for text in [
            "conv",
            "op",
            "op (paper)",
            "kas",
            "paper",
            "MACs",
            "accuracy",
        ] {
            assert!(texts.contains(&text), "no `{text}` in {texts:?}");
        }
        // Three points and two legend markers.
        assert_eq!(svg.matches("<circle").count(), 5);
    }
}
