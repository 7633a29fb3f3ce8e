//! Replays a finished partial operator through [`kas_primitives::Builder`] in data-flow order,
//! so every synthesized operator passes the same checks as a hand-written one.

use crate::config::Config;
use crate::dim::{AppliedStep, DimNode, Origin, StepKind};
use crate::error::Result;
use crate::state::State;
use kas_primitives::{Axis, Builder, DimId, Operator};
use std::collections::HashMap;
use std::sync::Arc;

/// Builds the operator of `st` with frontier dim `assignment[k]` as the `k`-th searched input
/// axis (fixed pairs are passed straight through).
pub(crate) fn replay(cfg: &Config, st: &State, assignment: &[usize]) -> Result<Operator> {
    let spec = &cfg.spec;
    // Collect steps (deterministic order of first discovery) and their above dims.
    let mut steps: Vec<Arc<AppliedStep>> = Vec::new();
    let mut index: HashMap<*const AppliedStep, usize> = HashMap::new();
    let mut above: Vec<Vec<Option<Arc<DimNode>>>> = Vec::new();
    let mut reduces: Vec<Arc<DimNode>> = Vec::new();
    let mut outputs: Vec<Arc<DimNode>> = Vec::new();
    let mut seen: HashMap<*const DimNode, ()> = HashMap::new();
    let mut stack: Vec<Arc<DimNode>> = st.dims.iter().rev().cloned().collect();
    for c in st.contractions.iter().rev() {
        register(c, &mut steps, &mut index, &mut above);
        stack.extend(c.below.iter().rev().cloned());
    }
    while let Some(d) = stack.pop() {
        if seen.insert(Arc::as_ptr(&d), ()).is_some() {
            continue;
        }
        match &d.origin {
            Origin::Output(_) => outputs.push(d.clone()),
            Origin::Reduce(_) => reduces.push(d.clone()),
            Origin::Step(s, port) => {
                let k = register(s, &mut steps, &mut index, &mut above);
                above[k][*port as usize] = Some(d.clone());
                stack.extend(s.below.iter().rev().cloned());
            }
        }
    }

    let mut b = Builder::new(spec.vars.clone(), spec.bindings.clone())?;
    let sizes: Vec<_> = spec.input.iter().map(|d| d.size).collect();
    let inputs = b.input(sizes)?;
    for (i, d) in spec.input.iter().enumerate() {
        if d.unordered {
            b.set_unordered(inputs[i])?;
        }
    }
    let mut ids: HashMap<*const DimNode, DimId> = HashMap::new();
    for (k, &f) in assignment.iter().enumerate() {
        ids.insert(
            Arc::as_ptr(&st.dims[f]),
            inputs[cfg.inputs[k].index as usize],
        );
    }
    let id =
        |ids: &HashMap<*const DimNode, DimId>, d: &Arc<DimNode>| ids.get(&Arc::as_ptr(d)).copied();
    let mut done = vec![false; steps.len()];
    loop {
        let mut progressed = false;
        for k in 0..steps.len() {
            if done[k] {
                continue;
            }
            let s = &steps[k];
            let ready = above[k].iter().flatten().all(|d| id(&ids, d).is_some());
            if !ready {
                continue;
            }
            let up = |p: usize| id(&ids, above[k][p].as_ref().expect("port has a dim")).unwrap();
            let produced: Vec<DimId> = match &s.kind {
                StepKind::Split => {
                    let (o, i) = b.split(up(0), s.below[1].size)?;
                    vec![o, i]
                }
                StepKind::Merge => vec![b.merge(up(0), up(1))?],
                StepKind::Shift => vec![b.shift(up(0), 1)?],
                StepKind::Unfold => {
                    let (m, w) = b.unfold(up(0), s.below[1].size)?;
                    vec![m, w]
                }
                StepKind::Contract { created, .. } => {
                    let axes: Vec<Axis> = created
                        .iter()
                        .enumerate()
                        .map(|(i, &c)| {
                            if c {
                                Axis::CreateSize(s.below[i].size)
                            } else {
                                Axis::Share(up(i))
                            }
                        })
                        .collect();
                    b.contract(&axes)?
                }
            };
            for (d, id) in s.below.iter().zip(produced) {
                ids.insert(Arc::as_ptr(d), id);
            }
            done[k] = true;
            progressed = true;
        }
        if !progressed {
            break;
        }
    }
    for r in &reduces {
        let Some(d) = id(&ids, r) else {
            return Err(kas_primitives::Error::InvalidOperator(
                "a reduction was never built".into(),
            )
            .into());
        };
        b.reduce(d)?;
    }
    let mut out_ids = Vec::with_capacity(spec.output.len());
    for (j, d) in spec.output.iter().enumerate() {
        let dim = if let Some(&(i, _)) = spec.fixed.iter().find(|p| p.1 == j) {
            inputs[i]
        } else {
            let node = outputs
                .iter()
                .find(|o| matches!(o.origin, Origin::Output(x) if x as usize == j))
                .ok_or_else(|| {
                    kas_primitives::Error::InvalidOperator(format!("output axis {j} is missing"))
                })?;
            id(&ids, node).ok_or_else(|| {
                kas_primitives::Error::InvalidOperator(format!("output axis {j} was never built"))
            })?
        };
        if d.unordered {
            b.set_unordered(dim)?;
        }
        out_ids.push(dim);
    }
    Ok(b.finish(&out_ids)?)
}

fn register(
    s: &Arc<AppliedStep>,
    steps: &mut Vec<Arc<AppliedStep>>,
    index: &mut HashMap<*const AppliedStep, usize>,
    above: &mut Vec<Vec<Option<Arc<DimNode>>>>,
) -> usize {
    *index.entry(Arc::as_ptr(s)).or_insert_with(|| {
        let ports = match &s.kind {
            StepKind::Split | StepKind::Shift | StepKind::Unfold => 1,
            StepKind::Merge => 2,
            StepKind::Contract { created, .. } => created.len(),
        };
        steps.push(s.clone());
        above.push(vec![None; ports]);
        steps.len() - 1
    })
}
