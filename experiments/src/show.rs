//! `kas show FILE.ron`, and the operator views shared with `kas ops show`. Graph kernel files
//! (a graph campaign's kernels) are shown as `kas graph show` shows them.

use crate::cli::{ShowArgs, ViewFlags};
use crate::{Verdict, describe};
use anyhow::bail;
use kas_campaign::CAMPAIGN_KIND;
use kas_codegen::export::c_name;
use kas_primitives::format::{
    OPERATOR_KIND, parse_ron, read_operator_file, read_text, write_operator,
};
use kas_primitives::spec::{SPEC_KIND, Spec};
use kas_primitives::{Operator, print};

/// Prints an operator in the view the flags ask for.
pub fn print_operator(
    name: &str,
    summary: &str,
    op: &Operator,
    v: &ViewFlags,
) -> anyhow::Result<()> {
    if v.dot {
        print!("{}", print::dot(op));
    } else if v.loops {
        print!(
            "{}",
            print::loop_nest_c(op, &format!("kas_{}", c_name(name)))
        );
    } else if v.stages {
        print!("{}", kas_codegen::StageIr::lower(op)?.display());
    } else if v.ron {
        print!("{}", write_operator(name, summary, op)?);
    } else if v.json {
        println!(
            "{}",
            serde_json::to_string_pretty(&describe::operator_json(name, summary, op)?)?
        );
    } else {
        print!("{}", describe::operator_text(name, summary, op)?);
    }
    Ok(())
}

/// The `kind` tag alone, to pick the parser (other fields are ignored).
#[derive(serde::Deserialize)]
struct Header {
    #[serde(default)]
    kind: String,
}

/// The `kind` tag of a kas file's text (empty when it has none), other fields ignored.
pub(crate) fn file_kind(text: &str, path: &str) -> anyhow::Result<String> {
    Ok(parse_ron::<Header>(text, path)?.kind)
}

/// Runs `kas show`.
pub fn run(a: ShowArgs) -> anyhow::Result<Verdict> {
    let path = a.file.display().to_string();
    let text = read_text(&a.file)?;
    // Unknown fields are ignored here; the full parser below checks them.
    let kind = file_kind(&text, &path)?;
    match kind.as_str() {
        OPERATOR_KIND => {
            let (file, op) = read_operator_file(&text, &path)?;
            print_operator(&file.name, &file.description, &op, &a.view)?;
        }
        SPEC_KIND => {
            if a.view.dot || a.view.loops || a.view.ron || a.view.stages {
                bail!(
                    "{path}: --dot, --loops, --ron and --stages apply to operator files, not specs"
                );
            }
            let spec = Spec::read(&text, &path)?;
            if a.view.json {
                println!(
                    "{}",
                    serde_json::to_string_pretty(&describe::spec_json(&spec))?
                );
            } else {
                print!("{}", describe::spec_text(&spec));
            }
        }
        kas_graph::format::GRAPH_KIND => {
            if a.view.loops || a.view.ron || a.view.stages || a.view.json {
                bail!(
                    "{path}: --loops, --ron, --stages and --json apply to operator files; a graph kernel file shows as pseudo-C, or Graphviz with --dot"
                );
            }
            crate::graph::show(crate::cli::GraphShowArgs {
                file: a.file.clone(),
                dot: a.view.dot,
            })?;
        }
        CAMPAIGN_KIND => bail!(
            "{path}: this is a campaign file (kind `{CAMPAIGN_KIND}`): kas show reads operator files (`{OPERATOR_KIND}`), graph kernel files (`kas-graph`) and slot specs (`{SPEC_KIND}`)"
        ),
        "" => bail!(
            "{path}: no `kind` field: kas show reads operator files (`{OPERATOR_KIND}`), graph kernel files (`kas-graph`) and slot specs (`{SPEC_KIND}`)"
        ),
        other => bail!(
            "{path}: unknown kind `{other}`: kas show reads operator files (`{OPERATOR_KIND}`), graph kernel files (`kas-graph`) and slot specs (`{SPEC_KIND}`)"
        ),
    }
    Ok(Verdict::Success)
}
