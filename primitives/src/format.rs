//! The operator file (`docs/FORMAT.md`, kind `kas-operator`, version 1).
//!
//! The file is the primitive DAG written as a program of steps in data-flow order, each step
//! naming the dims it reads and the dims it creates; index expressions are derived, never
//! stored. Reading goes through the [`Builder`], so a file is checked exactly like an operator
//! written by hand.

use crate::builder::{Axis, Builder};
use crate::error::{Error, Result};
use crate::graph::{DimId, Op, Source};
use crate::operator::Operator;
use crate::size::{NamedBinding, VarTable};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashMap};

/// Type tag of operator files.
pub const OPERATOR_KIND: &str = "kas-operator";
/// Current version of the operator file format.
pub const OPERATOR_VERSION: u32 = 1;

/// An operator file as read from / written to RON.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OperatorFile {
    /// Type tag: `"kas-operator"`.
    pub kind: String,
    /// Format version: 1.
    pub version: u32,
    /// Name of the operator.
    pub name: String,
    /// Free-form description.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub description: String,
    /// Variables the sizes refer to.
    pub variables: VarTable,
    /// Named bindings under which the operator is checked (may be empty).
    #[serde(default)]
    pub bindings: Vec<NamedBinding>,
    /// Input tensor axes, in order.
    pub input: Vec<DimDecl>,
    /// Steps, in data-flow order.
    pub steps: Vec<StepDecl>,
    /// Output axes, in order (dim names).
    pub output: Vec<String>,
    /// Names of channel-like input and output axes.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub unordered: Vec<String>,
}

/// An input axis: a name and a size.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DimDecl {
    /// Name of the dim.
    pub name: String,
    /// Its size, e.g. `"C_in"`.
    pub size: String,
}

/// One step of the program.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum StepDecl {
    /// `input` (size G·B) → `outer` (G), `inner` (B = `block`).
    Split {
        /// Dim split.
        input: String,
        /// Size of the inner (fast) part.
        block: String,
        /// Name of the outer part.
        outer: String,
        /// Name of the inner part.
        inner: String,
    },
    /// `outer`, `inner` → `out`.
    Merge {
        /// Slow part.
        outer: String,
        /// Fast part.
        inner: String,
        /// Name of the merged dim.
        out: String,
    },
    /// Cyclic shift by `offset`.
    Shift {
        /// Dim shifted.
        input: String,
        /// Offset (any sign).
        offset: i64,
        /// Name of the result.
        out: String,
    },
    /// Keep every `stride`-th coordinate.
    Stride {
        /// Dim strided.
        input: String,
        /// Stride size.
        stride: String,
        /// Name of the result.
        out: String,
    },
    /// Sliding window of size `window` (odd), zero-padded.
    Unfold {
        /// Dim windowed.
        input: String,
        /// Window size.
        window: String,
        /// Name of the main coordinate.
        main: String,
        /// Name of the window coordinate.
        win: String,
    },
    /// A broadcast dim.
    Expand {
        /// Its size.
        size: String,
        /// Its name.
        out: String,
    },
    /// Attaches one weight; its axes are the entries, in order.
    Contract(Vec<WeightAxis>),
    /// Sum over a dim.
    Reduce(String),
}

/// One axis of a weight attached by a [`StepDecl::Contract`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum WeightAxis {
    /// Shares the data dim `data`; the shared dim is named `out`.
    Share {
        /// Data dim.
        data: String,
        /// Name of the shared dim.
        out: String,
        /// Name of the weight axis itself (default `w<weight>_<axis>`).
        #[serde(default, skip_serializing_if = "String::is_empty")]
        axis: String,
    },
    /// Created by the weight (data side Expanded to `size`); the shared dim is named `out`.
    Create {
        /// Size of the axis.
        size: String,
        /// Name of the shared dim.
        out: String,
        /// Name of the weight axis itself (default `w<weight>_<axis>`).
        #[serde(default, skip_serializing_if = "String::is_empty")]
        axis: String,
        /// Name of the Expanded data-side dim (default `<out>.x`).
        #[serde(default, skip_serializing_if = "String::is_empty")]
        expand: String,
    },
}

/// Reads a RON string (named `path` in errors) into a RON value of type `T`, with line and
/// column in errors.
pub fn parse_ron<T: serde::de::DeserializeOwned>(text: &str, path: &str) -> Result<T> {
    ron::from_str(text).map_err(|e| Error::Parse {
        path: path.to_string(),
        line: e.span.start.line,
        column: e.span.start.col,
        message: e.code.to_string(),
    })
}

/// Most bytes kas reads from one operator, spec or campaign file: 64 MiB, far above any real
/// one, so that a wrong path (`/dev/zero`, a dataset) is refused instead of filling memory.
pub const MAX_FILE_BYTES: u64 = 64 << 20;

/// Reads a text file of at most [`MAX_FILE_BYTES`]: the one reader of every command that
/// reads an operator, spec or campaign file.
pub fn read_text(path: &std::path::Path) -> Result<String> {
    use std::io::Read;
    let shown = path.display().to_string();
    let read_error = |e: std::io::Error| Error::Read {
        path: shown.clone(),
        reason: e.to_string(),
    };
    let file = std::fs::File::open(path).map_err(read_error)?;
    let mut text = String::new();
    file.take(MAX_FILE_BYTES + 1)
        .read_to_string(&mut text)
        .map_err(read_error)?;
    if text.len() as u64 > MAX_FILE_BYTES {
        return Err(Error::FileTooLarge {
            path: shown,
            max: MAX_FILE_BYTES,
        });
    }
    Ok(text)
}

/// What a file of each kas `kind` is, in words.
fn kind_in_words(kind: &str) -> Option<&'static str> {
    match kind {
        OPERATOR_KIND => Some("an operator file"),
        crate::spec::SPEC_KIND => Some("a slot spec"),
        "kas-campaign" => Some("a campaign file"),
        _ => None,
    }
}

/// The `kind` and `version` fields alone (the others are ignored); `None` when absent.
#[derive(Deserialize)]
struct Header {
    #[serde(default, deserialize_with = "present")]
    kind: Option<String>,
    #[serde(default, deserialize_with = "present")]
    version: Option<u32>,
}

/// A field that is present (written without RON's `Some(…)`).
fn present<'de, D: serde::Deserializer<'de>, T: Deserialize<'de>>(
    d: D,
) -> std::result::Result<Option<T>, D::Error> {
    T::deserialize(d).map(Some)
}

/// Checks a RON file's `kind` and `version` before the rest is parsed, so that a file of
/// another kind or version is named as such (not reported by the first field it lacks).
/// `max_version` is the newest version this build reads.
pub fn check_kind(text: &str, path: &str, want: &str, max_version: u32) -> Result<()> {
    let header: Header = parse_ron(text, path)?;
    let wanted = match kind_in_words(want) {
        Some(w) => format!("{w} (kind `{want}`)"),
        None => format!("a `{want}` file"),
    };
    let format_error = |message: String| Error::Format {
        path: path.to_string(),
        message,
    };
    let Some(kind) = header.kind else {
        return Err(format_error(format!("no `kind` field: expected {wanted}")));
    };
    if kind != want {
        return Err(format_error(match kind_in_words(&kind) {
            Some(w) => format!("this is {w} (kind `{kind}`), not {wanted}"),
            None => format!("unknown kind `{kind}`: expected {wanted}"),
        }));
    }
    let Some(version) = header.version else {
        return Err(format_error(format!(
            "no `version` field (this kas reads `{want}` versions 1 to {max_version})"
        )));
    };
    check_header(&kind, version, want, max_version, path)
}

/// Writes a value as readable RON.
pub fn to_ron<T: Serialize>(value: &T) -> String {
    let cfg = ron::ser::PrettyConfig::new()
        .depth_limit(2)
        .struct_names(false)
        .indentor("    ");
    ron::ser::to_string_pretty(value, cfg).expect("kas formats always serialize")
}

/// Checks a file's `kind` and `version`.
fn check_header(kind: &str, version: u32, want: &str, max: u32, path: &str) -> Result<()> {
    if kind != want {
        return Err(Error::Format {
            path: path.to_string(),
            message: format!("expected a `{want}` file, found kind `{kind}`"),
        });
    }
    if version == 0 || version > max {
        return Err(Error::Format {
            path: path.to_string(),
            message: format!(
                "`{want}` format version {version} is not supported (this kas reads 1 to {max})"
            ),
        });
    }
    Ok(())
}

/// Parses an operator file and builds the operator (with the file's name).
pub fn read_operator(text: &str, path: &str) -> Result<(String, Operator)> {
    let (file, op) = read_operator_file(text, path)?;
    Ok((file.name, op))
}

/// Parses an operator file, checks its header and builds the operator; returns both.
pub fn read_operator_file(text: &str, path: &str) -> Result<(OperatorFile, Operator)> {
    check_kind(text, path, OPERATOR_KIND, OPERATOR_VERSION)?;
    let file: OperatorFile = parse_ron(text, path)?;
    let op = file.to_operator().map_err(|e| Error::Format {
        path: path.to_string(),
        message: e.to_string(),
    })?;
    Ok((file, op))
}

/// Writes an operator as the text of an operator file.
pub fn write_operator(name: &str, description: &str, op: &Operator) -> Result<String> {
    Ok(to_ron(&OperatorFile::from_operator(name, description, op)?))
}

impl OperatorFile {
    /// Builds and validates the operator the file describes.
    pub fn to_operator(&self) -> Result<Operator> {
        let vars = self.variables.clone();
        let bindings = self
            .bindings
            .iter()
            .map(|b| b.resolve(&vars))
            .collect::<Result<Vec<_>>>()?;
        let mut b = Builder::new(vars, bindings)?;
        let mut names: HashMap<String, DimId> = HashMap::new();
        let get = |names: &HashMap<String, DimId>, n: &str| -> Result<DimId> {
            names
                .get(n)
                .copied()
                .ok_or_else(|| Error::UnknownDim(n.to_string()))
        };
        fn name(
            b: &mut Builder,
            names: &mut HashMap<String, DimId>,
            d: DimId,
            n: &str,
        ) -> Result<()> {
            if names.contains_key(n) {
                return Err(Error::DuplicateDimName(n.to_string()));
            }
            // A dim the file has not named yet may hold `n` as the builder's own name (the
            // file names weight axes in its own order): it gets a fresh one first.
            let holder = (b.partial().dims.iter())
                .position(|x| x.name == n)
                .filter(|&i| i != d.index());
            if let Some(i) = holder {
                let taken = |c: &str| b.partial().dims.iter().any(|x| x.name == c);
                let fresh = (0..)
                    .map(|k| format!("{n}~{k}"))
                    .find(|c| !taken(c))
                    .expect("an unused name");
                b.rename(DimId(i as u32), &fresh)?;
            }
            b.rename(d, n)?;
            names.insert(n.to_string(), d);
            Ok(())
        }
        let ids = b.input(self.input.iter().map(|d| d.size.as_str()))?;
        for (d, decl) in ids.iter().zip(&self.input) {
            name(&mut b, &mut names, *d, &decl.name)?;
        }
        for step in &self.steps {
            match step {
                StepDecl::Split {
                    input,
                    block,
                    outer,
                    inner,
                } => {
                    let (o, i) = b.split(get(&names, input)?, block.as_str())?;
                    name(&mut b, &mut names, o, outer)?;
                    name(&mut b, &mut names, i, inner)?;
                }
                StepDecl::Merge { outer, inner, out } => {
                    let m = b.merge(get(&names, outer)?, get(&names, inner)?)?;
                    name(&mut b, &mut names, m, out)?;
                }
                StepDecl::Shift { input, offset, out } => {
                    let s = b.shift(get(&names, input)?, *offset)?;
                    name(&mut b, &mut names, s, out)?;
                }
                StepDecl::Stride { input, stride, out } => {
                    let s = b.stride(get(&names, input)?, stride.as_str())?;
                    name(&mut b, &mut names, s, out)?;
                }
                StepDecl::Unfold {
                    input,
                    window,
                    main,
                    win,
                } => {
                    let (m, w) = b.unfold(get(&names, input)?, window.as_str())?;
                    name(&mut b, &mut names, m, main)?;
                    name(&mut b, &mut names, w, win)?;
                }
                StepDecl::Expand { size, out } => {
                    let e = b.expand(size.as_str())?;
                    name(&mut b, &mut names, e, out)?;
                }
                StepDecl::Contract(axes) => {
                    let spec = axes
                        .iter()
                        .map(|a| match a {
                            WeightAxis::Share { data, .. } => Ok(Axis::Share(get(&names, data)?)),
                            WeightAxis::Create { size, .. } => Ok(Axis::Create(size.clone())),
                        })
                        .collect::<Result<Vec<_>>>()?;
                    let shared = b.contract(&spec)?;
                    let w = b.partial().weights.len() - 1;
                    let waxes = b.partial().weights[w].clone();
                    for (k, a) in axes.iter().enumerate() {
                        let (out, axis) = match a {
                            WeightAxis::Share { out, axis, .. } => (out, axis),
                            WeightAxis::Create { out, axis, .. } => (out, axis),
                        };
                        name(&mut b, &mut names, shared[k], out)?;
                        let an = if axis.is_empty() {
                            default_axis_name(w, k)
                        } else {
                            axis.clone()
                        };
                        name(&mut b, &mut names, waxes[k], &an)?;
                        if let WeightAxis::Create { expand, .. } = a {
                            let e = if expand.is_empty() {
                                default_expand_name(out)
                            } else {
                                expand.clone()
                            };
                            let data = share_data(b.partial(), shared[k]);
                            name(&mut b, &mut names, data, &e)?;
                        }
                    }
                }
                StepDecl::Reduce(d) => b.reduce(get(&names, d)?)?,
            }
        }
        for n in &self.unordered {
            b.set_unordered(get(&names, n)?)?;
        }
        let outs = self
            .output
            .iter()
            .map(|n| get(&names, n))
            .collect::<Result<Vec<_>>>()?;
        b.finish(&outs)
    }

    /// The file form of an operator.
    pub fn from_operator(name: &str, description: &str, op: &Operator) -> Result<OperatorFile> {
        let dn = |d: DimId| op.dim(d).name.clone();
        let input = op
            .input
            .iter()
            .map(|&d| DimDecl {
                name: dn(d),
                size: op.size(d).display(&op.vars),
            })
            .collect();
        let absorbed = absorbed_expands(op);
        let mut steps = Vec::new();
        for unit in contraction_units(op)? {
            match unit {
                Unit::Step(k) => {
                    if absorbed[k] {
                        continue;
                    }
                    let s = |x: crate::size::Size| x.display(&op.vars);
                    steps.push(match op.ops[k] {
                        Op::Split {
                            input,
                            outer,
                            inner,
                        } => StepDecl::Split {
                            input: dn(input),
                            block: s(op.size(inner)),
                            outer: dn(outer),
                            inner: dn(inner),
                        },
                        Op::Merge {
                            outer,
                            inner,
                            output,
                        } => StepDecl::Merge {
                            outer: dn(outer),
                            inner: dn(inner),
                            out: dn(output),
                        },
                        Op::Shift {
                            input,
                            output,
                            offset,
                        } => StepDecl::Shift {
                            input: dn(input),
                            offset,
                            out: dn(output),
                        },
                        Op::Stride {
                            input,
                            output,
                            stride,
                        } => StepDecl::Stride {
                            input: dn(input),
                            stride: s(stride),
                            out: dn(output),
                        },
                        Op::Unfold {
                            input,
                            main,
                            window,
                        } => StepDecl::Unfold {
                            input: dn(input),
                            window: s(op.size(window)),
                            main: dn(main),
                            win: dn(window),
                        },
                        Op::Expand { output } => StepDecl::Expand {
                            size: s(op.size(output)),
                            out: dn(output),
                        },
                        Op::Reduce { input } => StepDecl::Reduce(dn(input)),
                        Op::Share { .. } => unreachable!("shares are grouped into contractions"),
                    });
                }
                Unit::Weight(w) => {
                    let mut axes = Vec::new();
                    for (k, &wa) in op.weights[w].iter().enumerate() {
                        let Some(&Op::Share { data, output, .. }) = share_of(op, wa) else {
                            return Err(Error::InvalidOperator(format!(
                                "weight axis `{}` is not shared",
                                dn(wa)
                            )));
                        };
                        let created = matches!(op.dim(data).source, Source::Op(j) if absorbed[j]);
                        let out = dn(output);
                        let axis = Some(dn(wa))
                            .filter(|a| *a != default_axis_name(w, k))
                            .unwrap_or_default();
                        axes.push(if created {
                            WeightAxis::Create {
                                size: op.size(data).display(&op.vars),
                                expand: Some(dn(data))
                                    .filter(|e| *e != default_expand_name(&out))
                                    .unwrap_or_default(),
                                out,
                                axis,
                            }
                        } else {
                            WeightAxis::Share {
                                data: dn(data),
                                out,
                                axis,
                            }
                        });
                    }
                    steps.push(StepDecl::Contract(axes));
                }
            }
        }
        let mut unordered: Vec<String> = op
            .input
            .iter()
            .chain(&op.outputs)
            .filter(|&&d| op.dim(d).unordered)
            .map(|&d| dn(d))
            .collect();
        unordered.dedup();
        Ok(OperatorFile {
            kind: OPERATOR_KIND.to_string(),
            version: OPERATOR_VERSION,
            name: name.to_string(),
            description: description.to_string(),
            variables: op.vars.clone(),
            bindings: op
                .bindings
                .iter()
                .map(|b| NamedBinding::from_binding(b, &op.vars))
                .collect(),
            input,
            steps,
            output: op.outputs.iter().map(|&d| dn(d)).collect(),
            unordered,
        })
    }
}

/// The Expands written as `Create` axes: those [`Builder::contract`] itself would make when
/// reading the file back, so that the round trip gives the same steps in the same order.
///
/// `contract` pushes one Expand per Created axis, in axis order, right before the weight's
/// Shares. So for each weight, the absorbed Expands are the longest run of Expands right
/// before its first Share that feed its Shares at strictly increasing axes. Any other Expand
/// feeding a Share (one written as a standalone step earlier, or out of axis order) stays a
/// step of its own, shared with `Share`.
fn absorbed_expands(op: &Operator) -> Vec<bool> {
    let mut absorbed = vec![false; op.ops.len()];
    // The weight and axis of the Share that consumes the output of op `k`, if any.
    let feeds = |k: usize| -> Option<(usize, usize)> {
        let Op::Expand { output } = op.ops[k] else {
            return None;
        };
        let crate::graph::Sink::Op(j) = op.dim(output).sink? else {
            return None;
        };
        let Op::Share { weight, .. } = op.ops[j] else {
            return None;
        };
        match op.dim(weight).source {
            Source::Weight { weight, axis } => Some((weight, axis)),
            _ => None,
        }
    };
    for w in 0..op.weights.len() {
        let first_share = op.ops.iter().position(|o| {
            matches!(*o, Op::Share { weight, .. }
                if matches!(op.dim(weight).source, Source::Weight { weight: v, .. } if v == w))
        });
        let Some(s0) = first_share else { continue };
        let mut next_axis = usize::MAX;
        for k in (0..s0).rev() {
            match feeds(k) {
                Some((v, axis)) if v == w && axis < next_axis => {
                    absorbed[k] = true;
                    next_axis = axis;
                }
                _ => break,
            }
        }
    }
    absorbed
}

/// Name given to axis `k` of weight `w` (0-based) when the file does not name it.
fn default_axis_name(w: usize, k: usize) -> String {
    format!("w{}_{k}", w + 1)
}

/// Name given to the Expanded data side of a Created axis when the file does not name it.
fn default_expand_name(out: &str) -> String {
    format!("{out}.x")
}

/// The Share step whose weight side is `weight_axis`.
fn share_of(op: &Operator, weight_axis: DimId) -> Option<&Op> {
    op.ops
        .iter()
        .find(|o| matches!(o, Op::Share { weight, .. } if *weight == weight_axis))
}

/// The data side of the Share producing `shared`.
fn share_data(op: &Operator, shared: DimId) -> DimId {
    match op.dim(shared).source {
        Source::Op(k) => match op.ops[k] {
            Op::Share { data, .. } => data,
            _ => unreachable!("contract returns Share outputs"),
        },
        _ => unreachable!("contract returns Share outputs"),
    }
}

/// A step of the file: one primitive, or a whole contraction.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Unit {
    Step(usize),
    Weight(usize),
}

/// Orders the steps so that each weight's Shares form one unit, keeping the original order as
/// far as the dependencies allow.
fn contraction_units(op: &Operator) -> Result<Vec<Unit>> {
    let unit_of = |k: usize| match op.ops[k] {
        Op::Share { weight, .. } => match op.dim(weight).source {
            Source::Weight { weight: w, .. } => Unit::Weight(w),
            _ => Unit::Step(k),
        },
        _ => Unit::Step(k),
    };
    // Units in order of first appearance; dependencies = units producing their inputs.
    let mut order: Vec<Unit> = Vec::new();
    let mut deps: BTreeMap<usize, Vec<usize>> = BTreeMap::new();
    let mut index: HashMap<Unit, usize> = HashMap::new();
    for k in 0..op.ops.len() {
        let u = unit_of(k);
        let ui = *index.entry(u).or_insert_with(|| {
            order.push(u);
            order.len() - 1
        });
        for d in op.ops[k].inputs() {
            if let Source::Op(j) = op.dim(d).source {
                let uj = index[&unit_of(j)];
                if uj != ui {
                    deps.entry(ui).or_default().push(uj);
                } else if matches!(u, Unit::Weight(_)) {
                    return Err(Error::InvalidOperator(
                        "a weight's Shares depend on each other; a contraction must share all its axes at once".into(),
                    ));
                }
            }
        }
    }
    // Kahn's algorithm, always taking the earliest ready unit.
    let n = order.len();
    let mut done = vec![false; n];
    let mut out = Vec::with_capacity(n);
    while out.len() < n {
        let next =
            (0..n).find(|&i| !done[i] && deps.get(&i).is_none_or(|ds| ds.iter().all(|&j| done[j])));
        let Some(i) = next else {
            return Err(Error::InvalidOperator(
                "contractions and steps form a cycle".into(),
            ));
        };
        done[i] = true;
        out.push(order[i]);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::size::VarTable;

    /// Regression: an Expand written as a step of its own and Shared by a later contraction
    /// used to be written as a `Create` axis, so reading the file back moved the Expand into
    /// the contraction and gave a different operator.
    #[test]
    fn standalone_expand_shared_later_round_trips() {
        let vars = VarTable::from_specs(&["N"], &["k=3"]).unwrap();
        let bs = vec![vars.bind("a", [("N", 5)]).unwrap()];
        let mut b = Builder::new(vars, bs).unwrap();
        let x = b.input(["N"]).unwrap();
        let e = b.expand("k").unwrap();
        let y = b.shift(x[0], -1).unwrap();
        // Created axis first, then the standalone Expand: out of axis order as well.
        let s = b
            .contract(&[Axis::Create("k".into()), Axis::Share(e), Axis::Share(y)])
            .unwrap();
        b.reduce(s[1]).unwrap();
        let op = b.finish(&[s[2], s[0]]).unwrap();
        let text = write_operator("t", "", &op).unwrap();
        assert!(text.contains("Expand("), "{text}");
        let (_, back) = read_operator(&text, "<t>").unwrap();
        assert_eq!(back, op, "{text}");
        assert_eq!(write_operator("t", "", &back).unwrap(), text);
    }
}
