//! `kas export --pytorch` and `kas export DIR --best` end to end: the files of the PyTorch
//! extension, shapes from `--shape` or from the operator's bindings, a campaign's best operator
//! with its saved weights, and one-line errors with exit 2.

use std::path::Path;
use std::process::Output;

mod common;
use common::{kas, one_line_error, standin_campaign, stdout};

fn ok(o: &Output) -> String {
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    stdout(o)
}

fn read(p: &Path) -> String {
    std::fs::read_to_string(p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

#[test]
fn exports_syno_op2_for_pytorch_with_given_shapes() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("b");
    let text = ok(&kas(&[
        "export",
        "syno-op2",
        "--pytorch",
        "--shape",
        "small:C_in=6,C_out=12,H=5,g=3",
        "--shape",
        "wide:C_in=9,C_out=9,H=4,g=3,s=1",
        "--batch-buckets",
        "8,2",
        "--out",
        out.to_str().unwrap(),
    ]));
    assert!(text.contains("PyTorch extension: 2 shape(s)"), "{text}");
    for f in [
        "syno_op2.cu",
        "syno_op2_s0.cu",
        "syno_op2_s1.cu",
        "syno_op2_batched.cu",
        "syno_op2_batched.h",
        "syno_op2_torch.cpp",
        "syno_op2.py",
        "syno_op2_formula.py",
        "PYTORCH.md",
    ] {
        assert!(out.join(f).exists(), "{f} missing: {text}");
    }
    let module = read(&out.join("syno_op2.py"));
    assert!(module.contains("BUCKETS = [8, 2, 1]"), "{module}");
    let formula = read(&out.join("syno_op2_formula.py"));
    assert!(formula.contains("\"small\": {"), "{formula}");
    assert!(formula.contains("\"input\": [1, 6, 5, 5]"), "{formula}");
    assert!(formula.contains("\"input\": [1, 9, 4, 4]"), "{formula}");
    assert!(read(&out.join("README.md")).contains("PYTORCH.md"));
    let guide = read(&out.join("PYTORCH.md"));
    for needle in [
        "Weight initialisation",
        "getCurrentCUDAStream",
        "| `small` |",
    ] {
        assert!(guide.contains(needle), "{needle}: {guide}");
    }
    // Without --shape: one shape per distinct binding of the operator.
    let out2 = tmp.path().join("c");
    let text = ok(&kas(&[
        "export",
        "syno-op2",
        "--pytorch",
        "--out",
        out2.to_str().unwrap(),
    ]));
    assert!(text.contains("PyTorch extension: 2 shape(s)"), "{text}");
}

#[test]
fn bad_shapes_and_arguments_are_one_line_errors() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("b");
    let out = out.to_str().unwrap();
    let with_shape = |shape: &str| {
        kas(&[
            "export",
            "syno-op2",
            "--pytorch",
            "--shape",
            shape,
            "--out",
            out,
        ])
    };
    one_line_error(&with_shape("C_in=6"), "expected NAME:VAR=V");
    one_line_error(&with_shape("s:C_in=6,Q=2"), "unknown variable `Q`");
    one_line_error(
        &with_shape("s:C_in=7,C_out=12,H=5,g=3"),
        "not a legal shape",
    );
    let o = kas(&["export", "syno-op2", "--shape", "s:C_in=6", "--out", out]);
    assert_eq!(o.status.code(), Some(2));
    let o = kas(&[
        "export",
        tmp.path().to_str().unwrap(),
        "--best",
        "--out",
        out,
    ]);
    one_line_error(&o, "is not a campaign directory");
    assert!(!Path::new(out).exists(), "a failed export wrote {out}");
}

#[test]
fn exports_the_best_operator_of_a_campaign_with_its_saved_weights() {
    let tmp = tempfile::tempdir().unwrap();
    let config = standin_campaign(
        tmp.path(),
        "c.ron",
        r#"name: "export-best", budget: (max_evals: 6), fidelities: [(name: "full", train_steps: Some(10))], seed: 5,"#,
    );
    let dir = tmp.path().join("camp");
    let dir_s = dir.to_str().unwrap();
    ok(&kas(&["search", "--config", &config, "--out", dir_s]));
    // The stand-in trains nothing, so no weights: the export says so. Its best operator lacks
    // a gradient operator for some tensor: exported anyway, the gradient from the formula
    // (said on a line; the formula module lists it). Then a weights file for every operator,
    // as a Tch campaign writes them, travels into the bundle: the exported operator's.
    let export_best = |to: &Path| {
        ok(&kas(&[
            "export",
            dir_s,
            "--best",
            "--pytorch",
            "--batch-buckets",
            "2",
            "--out",
            to.to_str().unwrap(),
        ]))
    };
    let b1 = tmp.path().join("b1");
    let text = export_best(&b1);
    assert!(text.contains("saved no trained weights"), "{text}");
    assert!(text.contains(": no kernels ("), "{text}");
    let formula = std::fs::read_dir(&b1)
        .unwrap()
        .map(|f| f.unwrap().path())
        .find(|p| p.to_string_lossy().ends_with("_formula.py"))
        .unwrap();
    let formula = read(&formula);
    assert!(formula.contains("KERNEL_GRADIENTS = [") && formula.contains("False"));
    assert!(!b1.join("weights.safetensors").exists());
    assert!(b1.join("PYTORCH.md").exists());
    let weights = dir.join("weights");
    std::fs::create_dir_all(&weights).unwrap();
    for f in std::fs::read_dir(dir.join("operators")).unwrap() {
        let f = f.unwrap().path();
        let stem = f.file_stem().unwrap().to_str().unwrap().to_string();
        std::fs::write(weights.join(format!("{stem}.safetensors")), stem.as_bytes()).unwrap();
    }
    let b2 = tmp.path().join("b2");
    let text = export_best(&b2);
    let copied = std::fs::read(b2.join("weights.safetensors")).unwrap();
    let name = String::from_utf8(copied).unwrap();
    assert!(
        text.contains(&format!("exported op-{name} ")),
        "the weights of another operator: {name}\n{text}"
    );
}
