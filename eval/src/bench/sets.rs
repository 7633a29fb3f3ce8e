//! Named binding sets (`docs/ARCHITECTURE.md`, "Binding sets") as slot shapes with variable
//! values, and their mapping onto an operator's own variables.
//!
//! A set binding gives values by variable name (`N`, `C_in`, `C_out`, `H`, `W`) and the slot's
//! concrete input and output shapes. Mapping it onto an operator keeps the values of the
//! variables the operator declares (Syno's Operators 1 and 2 have one spatial variable `H`,
//! so `W` is dropped), lets the others take their declared values (coefficients such as
//! `k`, `g`, `s`), fills a primary variable the set does not name from the slot's shape where
//! an axis is exactly that variable (a spec with `[N, C, H, H]` slots binds a conv's `W`), and
//! then checks that every size of the operator is legal and that its input
//! and output shapes are exactly the slot's.

use crate::error::{BenchError, Result};
use kas_primitives::{Binding, DimId, NamedBinding, Operator, Size, Spec, VarKind};
use std::collections::BTreeMap;

/// The names of the built-in sets.
pub const SET_NAMES: &[&str] = &["resnet34-layers"];

/// `(C_in, C_out, H)` of ResNet-34's seven spatial 3×3 convolution shapes (W = H; the strided
/// ones as stride-1 slots).
pub const RESNET34_LAYERS: [(u64, u64, u64); 7] = [
    (64, 64, 56),
    (64, 128, 28),
    (128, 128, 28),
    (128, 256, 14),
    (256, 256, 14),
    (256, 512, 7),
    (512, 512, 7),
];

/// One binding of a set: variable values and the slot's shapes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SlotBinding {
    /// Name (e.g. `64-64-56`).
    pub name: String,
    /// Values by variable name.
    pub values: BTreeMap<String, u64>,
    /// The slot's input shape.
    pub input: Vec<usize>,
    /// The slot's output shape.
    pub output: Vec<usize>,
}

/// `resnet34-layers` at batch `batch`: `N, C_in, C_out, H, W`, input `[N, C_in, H, H]`,
/// output `[N, C_out, H, H]`, named `C_in-C_out-H`.
pub fn resnet34_layers(batch: u64) -> Vec<SlotBinding> {
    RESNET34_LAYERS
        .iter()
        .map(|&(ci, co, h)| SlotBinding {
            name: format!("{ci}-{co}-{h}"),
            values: [
                ("N", batch),
                ("C_in", ci),
                ("C_out", co),
                ("H", h),
                ("W", h),
            ]
            .into_iter()
            .map(|(k, v)| (k.to_string(), v))
            .collect(),
            input: [batch, ci, h, h].map(|x| x as usize).to_vec(),
            output: [batch, co, h, h].map(|x| x as usize).to_vec(),
        })
        .collect()
}

/// A built-in set by name, at batch `batch`.
pub fn named(name: &str, batch: u64) -> Result<Vec<SlotBinding>> {
    if batch == 0 {
        return Err(BenchError::Batch.into());
    }
    match name {
        "resnet34-layers" => Ok(resnet34_layers(batch)),
        _ => Err(BenchError::UnknownSet {
            name: name.into(),
            known: SET_NAMES,
        }
        .into()),
    }
}

/// The bindings of a slot spec, with `N` replaced by `batch` when given.
pub fn from_spec(spec: &Spec, batch: Option<u64>) -> Result<Vec<SlotBinding>> {
    let mut out = Vec::new();
    for b in &spec.bindings {
        let mut b = b.clone();
        if let Some(n) = batch {
            match spec.vars.lookup("N") {
                Some((VarKind::Primary, i)) if n >= 1 => b.primary[i] = n,
                Some(_) => return Err(BenchError::Batch.into()),
                None => {
                    return Err(BenchError::NoBatchVariable {
                        spec: spec.name.clone(),
                    }
                    .into());
                }
            }
        }
        let eval = |dims: &[kas_primitives::spec::ShapeDim]| -> Result<Vec<usize>> {
            dims.iter()
                .map(|d| {
                    d.size.eval(&b).map(|v| v as usize).ok_or_else(|| {
                        BenchError::SlotSize {
                            spec: spec.name.clone(),
                            binding: b.name.clone(),
                        }
                        .into()
                    })
                })
                .collect()
        };
        out.push(SlotBinding {
            name: b.name.clone(),
            values: b.pairs(&spec.vars).into_iter().collect(),
            input: eval(&spec.input)?,
            output: eval(&spec.output)?,
        });
    }
    Ok(out)
}

/// Maps set bindings onto `op`'s variables (see the module docs); an error names the first
/// binding that does not fit.
pub fn map_onto(op: &Operator, set: &[SlotBinding]) -> Result<Vec<Binding>> {
    let all: Vec<DimId> = (0..op.dims.len() as u32).map(DimId).collect();
    set.iter()
        .map(|s| {
            let mut known: BTreeMap<&str, u64> = s
                .values
                .iter()
                .filter(|(k, _)| op.vars.lookup(k).is_some())
                .map(|(k, v)| (k.as_str(), *v))
                .collect();
            // A primary variable the set does not name, with no declared value, takes the
            // slot's extent on an axis whose size is exactly that variable.
            for (i, var) in op.vars.primary.iter().enumerate() {
                if known.contains_key(var.name.as_str()) || var.value.is_some() {
                    continue;
                }
                let alone = Size::var(VarKind::Primary, i);
                let sides = [(&op.input, &s.input), (&op.outputs, &s.output)];
                let found = sides.iter().find_map(|(dims, shape)| {
                    dims.iter()
                        .zip(shape.iter())
                        .find(|(d, _)| op.size(**d) == alone)
                        .map(|(_, &v)| v as u64)
                });
                if let Some(v) = found {
                    known.insert(var.name.as_str(), v);
                }
            }
            let b = op.vars.bind(&s.name, known)?;
            op.concrete(&all, &b)?;
            let input = op.concrete(&op.input, &b)?;
            let output = op.concrete(&op.outputs, &b)?;
            if input != s.input || output != s.output {
                return Err(BenchError::Mismatch {
                    binding: s.name.clone(),
                    input: input.into(),
                    output: output.into(),
                    slot_input: s.input.as_slice().into(),
                    slot_output: s.output.as_slice().into(),
                }
                .into());
            }
            Ok(b)
        })
        .collect()
}

/// The file form of mapped bindings.
pub fn named_bindings(op: &Operator, bs: &[Binding]) -> Vec<NamedBinding> {
    bs.iter()
        .map(|b| NamedBinding::from_binding(b, &op.vars))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use kas_primitives::library;

    fn op(name: &str) -> Operator {
        (library::get(name).unwrap().build)().unwrap()
    }

    #[test]
    fn resnet34_layers_map_onto_conv_and_syno_operators() {
        for batch in [1, 128] {
            let set = named("resnet34-layers", batch).unwrap();
            assert_eq!(set.len(), 7);
            assert_eq!(set[0].name, "64-64-56");
            assert_eq!(set[6].input, vec![batch as usize, 512, 7, 7]);
            for name in ["conv2d", "syno-op1", "syno-op2"] {
                let o = op(name);
                let bs = map_onto(&o, &set).unwrap_or_else(|e| panic!("{name}: {e}"));
                assert_eq!(bs.len(), 7);
                for (b, s) in bs.iter().zip(&set) {
                    let (k, i) = o.vars.lookup("C_out").unwrap();
                    assert_eq!(b.value(k, i), s.values["C_out"]);
                    let (k, i) = o.vars.lookup("N").unwrap();
                    assert_eq!(b.value(k, i), batch);
                }
                // Coefficients keep their declared values (k = 3; g = 32, s = 2 for Syno's).
                let (k, i) = o.vars.lookup("k").unwrap();
                assert_eq!(bs[0].value(k, i), 3);
                let named = named_bindings(&o, &bs);
                assert_eq!(named[3].name, "128-256-14");
                assert_eq!(named[3].resolve(&o.vars).unwrap(), bs[3]);
            }
        }
    }

    #[test]
    fn unknown_sets_bad_batches_and_misfits_are_errors() {
        assert!(
            named("resnet50", 1)
                .unwrap_err()
                .to_string()
                .contains("unknown binding set")
        );
        assert!(named("resnet34-layers", 0).is_err());
        // A linear layer does not fit a conv slot.
        let err = map_onto(&op("linear"), &resnet34_layers(1)).unwrap_err();
        assert!(!err.to_string().is_empty());
        // A slot whose sizes the operator cannot take: Syno's Operator 1 needs C_out
        // divisible by g·s = 64.
        let mut s = resnet34_layers(1);
        s[0].values.insert("C_out".into(), 48);
        s[0].output[1] = 48;
        assert!(map_onto(&op("syno-op1"), &s[..1]).is_err());
        // W ≠ H cannot map onto an operator with one spatial variable.
        let mut s = resnet34_layers(1);
        s[1].input[3] = 14;
        s[1].output[3] = 14;
        assert!(map_onto(&op("syno-op2"), &s[1..2]).is_err());
    }

    #[test]
    fn spec_bindings_with_a_batch() {
        let text = std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../experiments/specs/cnn-small.ron"
        ))
        .unwrap();
        let spec = Spec::read(&text, "cnn-small.ron").unwrap();
        let set = from_spec(&spec, Some(3)).unwrap();
        assert_eq!(set.len(), 2);
        assert_eq!(set[0].input, vec![3, 4, 7, 7]);
        assert_eq!(set[0].output, vec![3, 6, 7, 7]);
        let bs = map_onto(&op("conv2d"), &set).unwrap();
        assert_eq!(bs.len(), 2);
        let plain = from_spec(&spec, None).unwrap();
        assert_eq!(plain[1].input[0], 2);
    }
}
