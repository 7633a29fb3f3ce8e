//! The kernel files of a campaign directory (`operators/<canonical hash>.ron`): a
//! `kas-operator` file for an operator, a `kas-graph` file for a graph kernel. Readers tell
//! the two apart by the file's `kind`.

use kas_campaign::Kernel;
use kas_graph::format::GRAPH_KIND;
use kas_graph::{read_graph, write_graph};
use kas_primitives::format::{OPERATOR_KIND, parse_ron};
use kas_primitives::{read_operator, write_operator};

/// The `kind` tag alone (other fields are left to the full parser).
#[derive(serde::Deserialize)]
struct Header {
    #[serde(default)]
    kind: String,
}

/// The kernel in `text` (a file named `path` in errors), or why it cannot be read.
pub fn parse_kernel(text: &str, path: &str) -> Result<Kernel, String> {
    let kind = parse_ron::<Header>(text, path)
        .map_err(|e| e.to_string())?
        .kind;
    match kind.as_str() {
        GRAPH_KIND => read_graph(text, path)
            .map(Kernel::Graph)
            .map_err(|e| e.to_string()),
        OPERATOR_KIND => read_operator(text, path)
            .map(|(_, op)| Kernel::Operator(op))
            .map_err(|e| e.to_string()),
        other => Err(format!(
            "{path}: kind `{other}`: a campaign's kernel files are `{OPERATOR_KIND}` or `{GRAPH_KIND}` files"
        )),
    }
}

/// Reads the kernel file at `path`.
pub fn read_kernel(path: &std::path::Path) -> Result<Kernel, String> {
    let text = kas_primitives::format::read_text(path).map_err(|e| e.to_string())?;
    parse_kernel(&text, &path.display().to_string())
}

/// The text of `kernel`'s file, named `name` with `description`.
pub fn write_kernel(name: &str, description: &str, kernel: &Kernel) -> Result<String, String> {
    match kernel {
        Kernel::Operator(op) => write_operator(name, description, op).map_err(|e| e.to_string()),
        Kernel::Graph(g) => {
            let mut g = g.clone();
            g.name = name.to_string();
            write_graph(&g, description).map_err(|e| e.to_string())
        }
    }
}
