//! The journal reader (`journal::parse`, then `History::check`, as resume and report read a
//! journal) on arbitrary and mutated input: an error or a checked value, never a panic. A
//! bounded number of cases, so it runs in CI in about a second.

use kas_campaign::{CampaignFile, StandInConfig};
use kas_search::history::{Expected, History, campaign_digest};
use kas_search::journal::{self, JOURNAL_FILE, Record};
use kas_search::runner::CAMPAIGN_FILE;
use kas_search::{Campaign, SessionOptions, StandIn};
use proptest::prelude::*;
use std::path::Path;
use std::sync::{Arc, OnceLock};

/// The journal of a small finished stand-in campaign, with its campaign digest and seed.
fn real() -> &'static (Vec<String>, String, u64) {
    static R: OnceLock<(Vec<String>, String, u64)> = OnceLock::new();
    R.get_or_init(|| {
        let spec = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../experiments/specs/cnn-small.ron"
        );
        let text = format!(
            r#"(kind: "kas-campaign", version: 1, name: "fuzz",
            model: (name: "cnn", spec: File("{spec}")), data: "fashion-mnist", search: Mcts(()),
            budget: (max_evals: 8),
            fidelities: [(name: "screen", train_steps: Some(10)), (name: "full", epochs: Some(1.0))],
            promote_eta: 2, seed: 4, devices: ["cpu"], evaluator: StandIn((fail_fraction: 0.3)))"#
        );
        let file = CampaignFile::parse(&text, "fuzz.ron").unwrap();
        let tmp = tempfile::tempdir().unwrap();
        let c = Campaign::create(tmp.path(), &file, Path::new("/")).unwrap();
        let cfg = StandInConfig {
            fail_fraction: 0.3,
            ..StandInConfig::default()
        };
        let ev = Arc::new(StandIn::new(cfg, 4, c.flops_window()));
        c.run(&[ev], SessionOptions::default(), &|_| {}).unwrap();
        let journal = std::fs::read_to_string(tmp.path().join(JOURNAL_FILE)).unwrap();
        let stored = std::fs::read_to_string(tmp.path().join(CAMPAIGN_FILE)).unwrap();
        let lines = journal.lines().map(str::to_string).collect();
        (lines, campaign_digest(&stored), 4)
    })
}

/// Parses and checks `bytes` as resume and report do; on success, checks what the value
/// promises.
fn read(bytes: &[u8]) {
    let (_, digest, seed) = real();
    let Ok(contents) = journal::parse(bytes, "j.jsonl") else {
        return;
    };
    assert!(contents.valid_len as usize <= bytes.len());
    let expected = Expected {
        digest,
        seed: *seed,
        fidelities: 2,
    };
    if let Ok(h) = History::check(contents, Path::new("d"), &expected, "report on") {
        assert!(matches!(h.records.first(), Some(Record::Header { .. })));
        let jobs = (h.records.iter())
            .filter(|r| matches!(r, Record::Job { .. }))
            .count();
        let outcomes = (h.records.iter())
            .filter(|r| matches!(r, Record::Outcome { .. }))
            .count();
        assert_eq!(jobs, outcomes + h.unfinished.len() + h.abandoned.len());
        for u in &h.unfinished {
            assert!(u.fidelity < 2 && u.canonical.len() == 32);
        }
    }
}

fn join(lines: &[String]) -> Vec<u8> {
    (lines.join("\n") + "\n").into_bytes()
}

/// A JSON value of the kinds a field may be replaced with.
fn value() -> impl Strategy<Value = serde_json::Value> {
    prop_oneof![
        Just(serde_json::Value::Null),
        any::<i64>().prop_map(serde_json::Value::from),
        any::<u64>().prop_map(serde_json::Value::from),
        (-1e30f64..1e30).prop_map(serde_json::Value::from),
        "[a-z0-9:. -]{0,40}".prop_map(serde_json::Value::from),
        Just(serde_json::json!([1, "x", null])),
        Just(serde_json::json!({"ok": {"accuracy": 2.5}})),
        Just(serde_json::json!({"failed": {"kind": "nope", "message": ""}})),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    #[test]
    fn arbitrary_bytes_are_an_error_or_a_value(bytes in proptest::collection::vec(any::<u8>(), 0..600)) {
        read(&bytes);
    }

    #[test]
    fn a_field_replaced_is_an_error_or_a_value(line in any::<prop::sample::Index>(), field in any::<prop::sample::Index>(), v in value()) {
        let mut lines = real().0.clone();
        let i = line.index(lines.len());
        let mut record: serde_json::Value = serde_json::from_str(&lines[i]).unwrap();
        let keys: Vec<String> = record.as_object().unwrap().keys().cloned().collect();
        let key = &keys[field.index(keys.len())];
        record[key] = v;
        lines[i] = serde_json::to_string(&record).unwrap();
        read(&join(&lines));
    }

    #[test]
    fn lines_dropped_repeated_or_moved_are_an_error_or_a_value(a in any::<prop::sample::Index>(), b in any::<prop::sample::Index>(), how in 0..3u8) {
        let mut lines = real().0.clone();
        let (i, j) = (a.index(lines.len()), b.index(lines.len()));
        match how {
            0 => { lines.remove(i); }
            1 => { let l = lines[i].clone(); lines.insert(j, l); }
            _ => lines.swap(i, j),
        }
        read(&join(&lines));
    }

    #[test]
    fn bytes_flipped_or_cut_are_an_error_or_a_value(at in any::<prop::sample::Index>(), byte in any::<u8>(), cut in any::<bool>()) {
        let mut bytes = join(&real().0);
        let i = at.index(bytes.len());
        if cut {
            bytes.truncate(i);
        } else {
            bytes[i] = byte;
        }
        read(&bytes);
    }
}
