//! People-facing and JSON descriptions of operators and specs.

use crate::table::{sci, table};
use kas_primitives::plan::{Operand, Plan, summary};
use kas_primitives::spec::{Spec, display_shape};
use kas_primitives::{Accesses, Operator, Size};
use serde_json::{Value, json};
use std::fmt::Write as _;

fn shape(op: &Operator, sizes: &[Size]) -> String {
    let parts: Vec<String> = sizes.iter().map(|s| s.display(&op.vars)).collect();
    format!("[{}]", parts.join(", "))
}

fn tensor_name(t: usize) -> String {
    if t == 0 { "in".into() } else { format!("w{t}") }
}

/// A description of an operator: shapes, index expressions, plan and costs per binding.
pub fn operator_text(name: &str, summary_line: &str, op: &Operator) -> anyhow::Result<String> {
    let acc = Accesses::of(op);
    let mut s = String::new();
    writeln!(s, "operator {name}")?;
    if !summary_line.is_empty() {
        writeln!(s, "  {summary_line}")?;
    }
    writeln!(s, "structural hash {}", op.structural_hash())?;
    let vars: Vec<String> = op
        .vars
        .primary
        .iter()
        .chain(&op.vars.coefficient)
        .map(|v| v.compact())
        .collect();
    writeln!(s, "variables {}", vars.join(", "))?;
    writeln!(s)?;
    for t in 0..op.tensor_count() {
        let idx: Vec<String> = acc.tensors[t].iter().map(|e| e.display(&op.vars)).collect();
        writeln!(
            s,
            "{:<4} {:<28} read at [{}]",
            tensor_name(t),
            shape(op, &op.tensor_shape(t)),
            idx.join(", ")
        )?;
    }
    writeln!(s, "out  {}", shape(op, &op.output_shape()))?;
    let legend: Vec<String> = op
        .outputs
        .iter()
        .enumerate()
        .map(|(i, &d)| {
            format!(
                "o{i} = {} < {}",
                op.dim(d).name,
                op.size(d).display(&op.vars)
            )
        })
        .chain(op.reductions().iter().enumerate().map(|(i, &d)| {
            format!(
                "r{i} = Σ {} < {}",
                op.dim(d).name,
                op.size(d).display(&op.vars)
            )
        }))
        .collect();
    writeln!(s, "iterators {}", legend.join(", "))?;
    for g in &acc.guards {
        writeln!(
            s,
            "zero unless 0 <= {} < {}",
            g.expr.display(&op.vars),
            g.bound.display(&op.vars)
        )?;
    }
    if op.bindings.is_empty() {
        writeln!(s, "\n(no bindings: add some to see FLOPs and parameters)")?;
        return Ok(s);
    }
    let plan = Plan::of(op)?;
    writeln!(
        s,
        "\nplan ({} stages, cheapest over all bindings)",
        plan.stages.len()
    )?;
    for (i, st) in plan.stages.iter().enumerate() {
        let ops: Vec<String> = st
            .operands
            .iter()
            .map(|o| match o {
                Operand::Tensor(t) => tensor_name(*t),
                Operand::Stage(k) => format!("stage{}", k + 1),
            })
            .collect();
        let dims = |ds: &[kas_primitives::DimId]| -> String {
            ds.iter()
                .map(|&d| op.dim(d).name.clone())
                .collect::<Vec<_>>()
                .join(", ")
        };
        writeln!(
            s,
            "  stage{}: {} -> [{}], summing [{}]",
            i + 1,
            ops.join(" × "),
            dims(&st.result_dims),
            dims(&st.summed)
        )?;
    }
    let sum = summary(op)?;
    let mut rows = Vec::new();
    for (r, b) in sum.rows.iter().zip(&op.bindings) {
        let vals: Vec<String> = b
            .pairs(&op.vars)
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect();
        rows.push(vec![
            r.binding.clone(),
            vals.join(" "),
            sci(r.flops),
            sci(r.naive_flops),
            sci(r.params as u128),
        ]);
    }
    rows.push(vec![
        "total".into(),
        String::new(),
        sci(sum.total_flops),
        sci(plan.total_naive_flops()),
        sci(sum.total_params as u128),
    ]);
    writeln!(s)?;
    s.push_str(&table(
        &["binding", "values", "FLOPs", "naive FLOPs", "params"],
        rows,
    ));
    s.push('\n');
    Ok(s)
}

/// The JSON form of [`operator_text`].
pub fn operator_json(name: &str, summary_line: &str, op: &Operator) -> anyhow::Result<Value> {
    let acc = Accesses::of(op);
    let tensors: Vec<Value> = (0..op.tensor_count())
        .map(|t| {
            json!({
                "name": tensor_name(t),
                "shape": op.tensor_shape(t).iter().map(|s| s.display(&op.vars)).collect::<Vec<_>>(),
                "index": acc.tensors[t].iter().map(|e| e.display(&op.vars)).collect::<Vec<_>>(),
            })
        })
        .collect();
    let mut v = json!({
        "name": name,
        "summary": summary_line,
        "structural_hash": op.structural_hash().to_string(),
        "tensors": tensors,
        "output": op.output_shape().iter().map(|s| s.display(&op.vars)).collect::<Vec<_>>(),
        "reductions": op.reductions().iter().map(|&d| op.size(d).display(&op.vars)).collect::<Vec<_>>(),
        "guards": acc.guards.iter().map(|g| json!({"expr": g.expr.display(&op.vars), "bound": g.bound.display(&op.vars)})).collect::<Vec<_>>(),
    });
    if !op.bindings.is_empty() {
        let sum = summary(op)?;
        v["bindings"] = sum
            .rows
            .iter()
            .zip(&op.bindings)
            .map(|(r, b)| {
                json!({
                    "name": r.binding,
                    "values": values(b.pairs(&op.vars)),
                    "flops": r.flops as f64,
                    "naive_flops": r.naive_flops as f64,
                    "params": r.params,
                })
            })
            .collect();
        v["total_flops"] = json!(sum.total_flops as f64);
        v["total_params"] = json!(sum.total_params);
        v["plan_stages"] = json!(sum.stages);
    }
    Ok(v)
}

/// A description of a slot spec.
pub fn spec_text(spec: &Spec) -> String {
    let mut s = String::new();
    let _ = writeln!(s, "spec {} (binding set {})", spec.name, spec.binding_set);
    let _ = writeln!(s, "input  {}", display_shape(&spec.input, &spec.vars));
    let _ = writeln!(s, "output {}", display_shape(&spec.output, &spec.vars));
    let vars: Vec<String> = spec
        .vars
        .primary
        .iter()
        .chain(&spec.vars.coefficient)
        .map(|v| v.compact())
        .collect();
    let _ = writeln!(s, "variables {}", vars.join(", "));
    let _ = writeln!(s, "fixed pairs {:?}", spec.fixed);
    let names: Vec<&str> = spec.vars.primary.iter().map(|v| v.name.as_str()).collect();
    let mut header = vec!["binding"];
    header.extend(names.iter().copied());
    let rows = spec
        .bindings
        .iter()
        .map(|b| {
            let mut r = vec![b.name.clone()];
            r.extend((0..names.len()).map(|i| b.primary[i].to_string()));
            r
        })
        .collect();
    s.push_str(&table(&header, rows));
    let b = &spec.budgets;
    let _ = writeln!(
        s,
        "\nbudgets: depth {}, chain {}, tensors {}, reductions {}, merges {}, splits {}, shifts {}, strides {}, unfolds {}, FLOPs window [{:.3e}, {:.3e}]",
        b.depth,
        b.max_chain_length,
        b.max_tensors,
        b.max_reductions,
        b.max_merges,
        b.max_splits,
        b.max_shifts,
        b.max_strides,
        b.max_unfolds,
        b.flops.0,
        b.flops.1
    );
    s
}

/// The JSON form of [`spec_text`].
pub fn spec_json(spec: &Spec) -> Value {
    json!({
        "name": spec.name,
        "binding_set": spec.binding_set,
        "input": display_shape(&spec.input, &spec.vars),
        "output": display_shape(&spec.output, &spec.vars),
        "fixed": spec.fixed,
        "bindings": spec.bindings.iter().map(|b| json!({
            "name": b.name,
            "values": values(b.pairs(&spec.vars)),
        })).collect::<Vec<_>>(),
        "budgets": serde_json::to_value(&spec.budgets).unwrap_or(Value::Null),
    })
}

fn values(pairs: Vec<(String, u64)>) -> Value {
    Value::Object(pairs.into_iter().map(|(k, v)| (k, json!(v))).collect())
}
