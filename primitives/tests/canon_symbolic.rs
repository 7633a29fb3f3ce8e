//! The canonical hash names the operator, not the file: it is symbolic in the variables (the
//! bindings a file lists and the declared values of its coefficients play no part), and the
//! bracketing of a three-way Merge or Split does not change it (`primitives/src/canon/RULES.md`).

use kas_primitives::canon::{self, Canonical, check::same_function};
use kas_primitives::format::read_operator_file;
use kas_primitives::{Builder, Operator, Result, VarTable};
use std::path::PathBuf;

const CONV3X3: &str = include_str!("../../docs/examples/conv3x3.ron");
const ODD: &str =
    r#"        (name: "odd", values: {"N": 2, "C_in": 3, "C_out": 5, "H": 7, "W": 9}),"#;
const SMALL: &str =
    r#"        (name: "small", values: {"N": 1, "C_in": 4, "C_out": 2, "H": 5, "W": 6}),"#;

/// Writes `text` to a file of its own under the system's temporary directory, reads it back as
/// an operator file and removes it.
fn read_variant(name: &str, text: &str) -> Operator {
    let dir = std::env::temp_dir().join(format!("kas-canon-symbolic-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path: PathBuf = dir.join(format!("{name}.ron"));
    std::fs::write(&path, text).unwrap();
    let back = std::fs::read_to_string(&path).unwrap();
    let (_, op) = read_operator_file(&back, &path.display().to_string()).unwrap();
    std::fs::remove_file(&path).unwrap();
    let _ = std::fs::remove_dir(&dir);
    op
}

/// `text` with `line` replaced (the line must be there).
fn edit(text: &str, line: &str, by: &str) -> String {
    assert!(text.contains(line), "no line {line}");
    text.replace(line, by)
}

fn canonical(op: &Operator) -> Canonical {
    canon::canonicalize(op).unwrap()
}

#[test]
fn conv3x3_hashes_alike_with_one_binding_or_both() {
    let both = read_variant("both", CONV3X3);
    let odd_only = read_variant("odd-only", &edit(CONV3X3, SMALL, ""));
    let small_only = read_variant("small-only", &edit(CONV3X3, ODD, ""));
    assert_eq!(both.bindings.len(), 2);
    assert_eq!(odd_only.bindings.len(), 1);
    let (cb, co, cs) = (
        canonical(&both),
        canonical(&odd_only),
        canonical(&small_only),
    );
    assert_eq!(
        cb.hash,
        co.hash,
        "\n{}\nvs\n{}",
        cb.form.display(),
        co.form.display()
    );
    assert_eq!(cb.hash, cs.hash);
    // No size is folded into a number: the guard reads `< H`, never `< 7`.
    let text = co.form.display();
    assert!(text.contains("< H") && text.contains("< W"), "{text}");
    assert!(!text.contains("< 7") && !text.contains("< 5"), "{text}");
    // The forms compute the same function under every binding of either file.
    assert!(same_function(&both, &cb, &odd_only, &co, 1));
    assert!(same_function(&small_only, &cs, &both, &cb, 2));
}

#[test]
fn a_coefficient_default_that_every_binding_overrides_does_not_enter_the_hash() {
    let with_k = |b: &str| {
        b.replace(r#""W": 9}"#, r#""W": 9, "k": 5}"#)
            .replace(r#""W": 6}"#, r#""W": 6, "k": 5}"#)
    };
    let overridden = edit(&edit(CONV3X3, ODD, &with_k(ODD)), SMALL, &with_k(SMALL));
    let default3 = read_variant("default3", &overridden);
    let default5 = read_variant("default5", &edit(&overridden, r#"["k=3"]"#, r#"["k=5"]"#));
    let plain = read_variant("plain", CONV3X3);
    let (c3, c5, cp) = (
        canonical(&default3),
        canonical(&default5),
        canonical(&plain),
    );
    assert_eq!(c3.hash, c5.hash);
    // The window is `k` whatever its value: the same operator (family) as with k = 3.
    assert_eq!(c3.hash, cp.hash);
    assert!(same_function(&default3, &c3, &default5, &c5, 3));
    // A different operator still hashes differently: a 3×3 window on H and a 1-wide one on W.
    let other = edit(
        CONV3X3,
        r#"window: "k", main: "w""#,
        r#"window: "1", main: "w""#,
    );
    assert_ne!(canonical(&read_variant("other", &other)).hash, cp.hash);
}

/// Syno's tied GPT-2 QKV projection (the library's `gpt2-qkv-tied`), its output feature the
/// three-way Merge of (α, β, γ) in either bracketing.
fn gpt2_qkv(left: bool) -> Result<Operator> {
    let vars = VarTable::from_specs(&["N", "seq_len", "H_in"], &["k=2", "t=3"])?;
    let bindings = vec![
        vars.bind("k2-t3-h96", [("N", 1), ("seq_len", 3), ("H_in", 96)])?,
        vars.bind(
            "k3-t1-h162",
            [("N", 1), ("seq_len", 2), ("H_in", 162), ("k", 3), ("t", 1)],
        )?,
    ];
    let mut b = Builder::new(vars, bindings)?;
    let [n, l, x] = b.input(["N", "seq_len", "H_in"])?[..] else {
        unreachable!()
    };
    b.set_unordered(x)?;
    let (beta, j) = b.split(x, "H_in/k")?;
    let s = b.contract(&[
        kas_primitives::Axis::Create("k^3*t^2".into()),
        kas_primitives::Axis::Share(j),
        kas_primitives::Axis::Create("H_in/(k^4*t)".into()),
    ])?;
    b.reduce(s[1])?;
    let o = if left {
        let ab = b.merge(s[0], beta)?;
        b.merge(ab, s[2])?
    } else {
        let bg = b.merge(beta, s[2])?;
        b.merge(s[0], bg)?
    };
    b.finish(&[n, l, o])
}

#[test]
fn both_bracketings_of_a_three_way_merge_get_one_hash() {
    let (a, b) = (gpt2_qkv(true).unwrap(), gpt2_qkv(false).unwrap());
    assert_ne!(a.structural_hash(), b.structural_hash());
    let (ca, cb) = (canonical(&a), canonical(&b));
    assert_eq!(
        ca.hash,
        cb.hash,
        "\n{}\nvs\n{}",
        ca.form.display(),
        cb.form.display()
    );
    assert!(same_function(&a, &ca, &b, &cb, 4));
    // The library's writing is the left bracketing.
    let lib = (kas_primitives::library::get("gpt2-qkv-tied").unwrap().build)().unwrap();
    assert_eq!(canonical(&lib).hash, ca.hash);
}

/// `out[n, a, b, c] = in[n, x]` with `x` split three ways into `(a, b, c)` of sizes
/// `(g, C/(g·s), s)`, in either bracketing; `swap` outputs `b` before `a` (another operator).
fn three_way_split(left: bool, swap: bool) -> Result<Operator> {
    let vars = VarTable::from_specs(&["N", "C"], &["g=2", "s=3"])?;
    let bindings = vec![
        vars.bind("c24", [("N", 2), ("C", 24)])?,
        vars.bind("c16", [("N", 1), ("C", 16), ("g", 4), ("s", 2)])?,
    ];
    let mut bld = Builder::new(vars, bindings)?;
    let [n, x] = bld.input(["N", "C"])?[..] else {
        unreachable!()
    };
    let (a, b, c) = if left {
        // x → (m, c), m → (a, b).
        let (m, c) = bld.split(x, "s")?;
        let (a, b) = bld.split(m, "C/(g*s)")?;
        (a, b, c)
    } else {
        // x → (a, m), m → (b, c).
        let (a, m) = bld.split(x, "C/g")?;
        let (b, c) = bld.split(m, "s")?;
        (a, b, c)
    };
    let w = bld.contract(&[kas_primitives::Axis::Share(c)])?;
    let outs = if swap {
        [n, b, a, w[0]]
    } else {
        [n, a, b, w[0]]
    };
    bld.finish(&outs)
}

#[test]
fn both_bracketings_of_a_three_way_split_get_one_hash() {
    let (a, b) = (
        three_way_split(true, false).unwrap(),
        three_way_split(false, false).unwrap(),
    );
    assert_ne!(a.structural_hash(), b.structural_hash());
    let (ca, cb) = (canonical(&a), canonical(&b));
    assert_eq!(
        ca.hash,
        cb.hash,
        "\n{}\nvs\n{}",
        ca.form.display(),
        cb.form.display()
    );
    assert!(same_function(&a, &ca, &b, &cb, 5));
    // Outputs in another order: another operator, another hash.
    let swapped = canonical(&three_way_split(true, true).unwrap());
    assert_ne!(swapped.hash, ca.hash);
}

#[test]
fn the_soundness_trials_include_bracketing_pairs_and_merge_them() {
    let s = canon::check::run(80, 3, |_| {});
    assert!(s.ok(), "{}", s.line());
    assert!(
        s.assoc_pairs > 0,
        "no associativity pair among {} trials",
        s.trials
    );
    assert_eq!(s.assoc_merged, s.assoc_pairs, "{}", s.line());
}
