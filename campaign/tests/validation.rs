//! Every field of a campaign file is checked when it is read, with a one-line error naming the
//! field; a file of another kind or version is named as such before its fields are read.

use kas_campaign::CampaignFile;

const GOOD: &str = r#"(
    kind: "kas-campaign",
    version: 1,
    name: "t",
    model: (name: "cnn", width: Some(8), image: Some(28)),
    data: "fashion-mnist",
    train_subset: Some(100),
    test_subset: Some(50),
    budget: (max_evals: 10, minutes: Some(1.5)),
    fidelities: [
        (name: "screen", train_steps: Some(50), timing_repeats: Some(5)),
        (name: "full", epochs: Some(1.0)),
    ],
    seed: 4,
    devices: ["cpu"],
    evaluator: StandIn((sleep_ms: 5)),
)"#;

/// The error of `GOOD` with `from` replaced by `to` (which must occur).
fn error(from: &str, to: &str) -> String {
    assert!(GOOD.contains(from), "{from}");
    let e = CampaignFile::parse(&GOOD.replace(from, to), "c.ron")
        .expect_err(to)
        .to_string();
    assert_eq!(e.lines().count(), 1, "{e}");
    e
}

#[test]
fn the_good_file_reads() {
    CampaignFile::parse(GOOD, "c.ron").unwrap();
}

#[test]
fn fidelities_need_one_training_budget_within_bounds() {
    let steps = "train_steps: Some(50)";
    assert_eq!(
        error(steps, "train_steps: Some(0)"),
        "c.ron: fidelities[0] (`screen`).train_steps must be at least 1"
    );
    assert!(error(steps, "train_steps: Some(4294967296)").contains("at most 2147483648"));
    assert_eq!(
        error(steps, "train_steps: None"),
        "c.ron: fidelities[0] (`screen`): give train_steps or epochs"
    );
    assert!(
        error(steps, "train_steps: Some(5), epochs: Some(1.0)").contains("not both"),
        "both budgets"
    );
    let epochs = "epochs: Some(1.0)";
    for bad in ["0.0", "-1.0", "1e9", "inf", "NaN"] {
        let e = error(epochs, &format!("epochs: Some({bad})"));
        assert!(e.contains("fidelities[1] (`full`).epochs"), "{bad}: {e}");
    }
    assert!(
        error(
            "timing_repeats: Some(5)",
            "timing_repeats: Some(4000000000)"
        )
        .contains("fidelities[0] (`screen`).timing_repeats must be at most 10000")
    );
    assert!(error("name: \"full\"", "name: \"screen\"").contains("`screen` names two fidelities"));
    assert!(
        error("name: \"full\"", "name: \" \"").contains("fidelities[1].name must not be empty")
    );
}

#[test]
fn subsets_and_sizes_are_bounded() {
    assert_eq!(
        error(
            "train_subset: Some(100)",
            "train_subset: Some(1099511627776)"
        ),
        "c.ron: train_subset must be at most 2147483648, got 1099511627776"
    );
    assert!(error("test_subset: Some(50)", "test_subset: Some(0)").contains("test_subset"));
    assert!(error("width: Some(8)", "width: Some(100000)").contains("model.width must be at most"));
    assert!(error("image: Some(28)", "image: Some(4096)").contains("model.image must be at most"));
    assert!(error("max_evals: 10", "max_evals: 1099511627776").contains("budget.max_evals"));
}

#[test]
fn names_are_not_empty() {
    assert!(error("(name: \"cnn\"", "(name: \"\"").contains("model.name"));
    assert!(error("data: \"fashion-mnist\"", "data: \"\"").contains("data must name"));
    assert!(error("name: \"t\"", "name: \"\"").contains("name must not be empty"));
    assert!(error("width: Some(8)", "spec: File(\"\"), width: Some(8)").contains("model.spec"));
    assert!(error("sleep_ms: 5", "sleep_ms: 99999999999").contains("sleep_ms"));
}

#[test]
fn kind_and_version_come_first() {
    // Not "missing field": the kind, then the version, before anything else.
    let spec = error("kind: \"kas-campaign\"", "kind: \"kas-spec\"");
    assert_eq!(
        spec,
        "c.ron: this is a slot spec (kind `kas-spec`), not a campaign file (kind `kas-campaign`)"
    );
    let version = error("version: 1,\n    name: \"t\",", "version: 99,");
    assert!(version.contains("version 99 is not supported"), "{version}");
    let none = error("kind: \"kas-campaign\",", "");
    assert!(none.contains("no `kind` field"), "{none}");
    let operator = include_str!("../../docs/examples/conv3x3.ron");
    let e = CampaignFile::parse(operator, "conv3x3.ron")
        .unwrap_err()
        .to_string();
    assert!(e.contains("this is an operator file"), "{e}");
}

#[test]
fn the_training_floor_is_optional_finite_and_not_negative() {
    let c = CampaignFile::parse(GOOD, "c.ron").unwrap();
    assert_eq!(c.train_min_speedup, None);
    let with = GOOD.replace("seed: 4,", "seed: 4, train_min_speedup: Some(1.0),");
    let c = CampaignFile::parse(&with, "c.ron").unwrap();
    assert_eq!(c.train_min_speedup, Some(1.0));
    for bad in ["-0.5", "inf", "NaN"] {
        let e = error(
            "seed: 4,",
            &format!("seed: 4, train_min_speedup: Some({bad}),"),
        );
        assert!(
            e.starts_with("c.ron: train_min_speedup must be finite and at least 0"),
            "{bad}: {e}"
        );
    }
}
