//! Plain tables for terminals.

use comfy_table::presets::UTF8_BORDERS_ONLY;
use comfy_table::{CellAlignment, ContentArrangement, Table};

/// A table with a header; columns whose header starts with `#` or ends with a unit in
/// brackets are right-aligned (numbers).
pub fn table(header: &[&str], rows: Vec<Vec<String>>) -> String {
    let mut t = Table::new();
    t.load_style(UTF8_BORDERS_ONLY)
        .set_content_arrangement(ContentArrangement::Disabled)
        .set_header(header.to_vec());
    for r in rows {
        t.add_row(r);
    }
    for (i, h) in header.iter().enumerate() {
        if numeric(h)
            && let Some(c) = t.column_mut(i)
        {
            c.set_cell_alignment(CellAlignment::Right);
        }
    }
    t.to_string()
}

fn numeric(h: &str) -> bool {
    h.ends_with(']')
        || matches!(
            h,
            "FLOPs"
                | "naive FLOPs"
                | "params"
                | "err"
                | "stages"
                | "bindings"
                | "tensors"
                | "value"
                | "speedup"
                | "roofline"
                | "epoch"
                | "step"
                | "train loss"
                | "test accuracy"
                | "val loss"
        )
}

/// `1234567` → `1.23e6`; small numbers stay exact.
pub fn sci(x: u128) -> String {
    if x < 100_000 {
        x.to_string()
    } else {
        format!("{:.3e}", x as f64)
    }
}
