//! Mutations of kas RON files for the readers' property tests (`primitives/tests/ron_fuzz.rs`
//! and `campaign/tests/ron_fuzz.rs`): bytes deleted or repeated, tokens inserted, numbers and
//! string literals replaced by extreme ones.

// Each test uses part of it.
#![allow(dead_code)]

use proptest::prelude::*;
use proptest::sample::Index;

/// The proptest settings of the readers' property tests: 128 cases per property;
/// `PROPTEST_CASES` asks for more.
pub fn config() -> ProptestConfig {
    ProptestConfig {
        cases: std::env::var("PROPTEST_CASES")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(128),
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

/// Numbers a mutation writes in place of another.
const NUMBERS: [&str; 16] = [
    "0",
    "1",
    "2",
    "7",
    "-1",
    "65535",
    "2147483648",
    "4294967297",
    "1099511627777",
    "9007199254740993",
    "9223372036854775807",
    "-9223372036854775808",
    "18446744073709551615",
    "1e308",
    "NaN",
    "0.5",
];

/// Strings a mutation writes in place of another (sizes, names, variable specs).
const STRINGS: [&str; 14] = [
    "",
    "k",
    "N",
    "x",
    "C_in*C_in*C_in*C_in*C_in*C_in*C_in*C_in*C_in",
    "C_in^64",
    "k=1099511627777",
    "k=0",
    "N/N/N",
    "1/0",
    "((((",
    "kas-campaign",
    "kas-operator",
    "kas-spec",
];

/// Tokens a mutation inserts.
const TOKENS: [&str; 16] = [
    "(",
    ")",
    "[",
    "]",
    "{",
    "}",
    ",",
    ":",
    "\"",
    "Some(",
    "None",
    "version: 2,",
    "kind: \"x\",",
    "/*",
    "//",
    "\u{0}",
];

/// One edit of a file's text.
#[derive(Debug, Clone)]
pub enum Edit {
    /// Delete up to `len` bytes at `at`.
    Delete(Index, usize),
    /// Insert a token at `at`.
    Insert(Index, &'static str),
    /// Replace the `n`-th number by another.
    Number(Index, &'static str),
    /// Replace the contents of the `n`-th string literal.
    Text(Index, &'static str),
    /// Repeat up to `len` bytes at `at`.
    Repeat(Index, usize),
}

/// A random [`Edit`].
pub fn edit() -> impl Strategy<Value = Edit> {
    prop_oneof![
        (any::<Index>(), 1..40usize).prop_map(|(i, n)| Edit::Delete(i, n)),
        (any::<Index>(), prop::sample::select(&TOKENS[..])).prop_map(|(i, t)| Edit::Insert(i, t)),
        (any::<Index>(), prop::sample::select(&NUMBERS[..])).prop_map(|(i, t)| Edit::Number(i, t)),
        (any::<Index>(), prop::sample::select(&STRINGS[..])).prop_map(|(i, t)| Edit::Text(i, t)),
        (any::<Index>(), 1..200usize).prop_map(|(i, n)| Edit::Repeat(i, n)),
    ]
}

/// The byte ranges of maximal runs of `is` in `text`.
pub fn runs(text: &[u8], is: impl Fn(u8) -> bool) -> Vec<(usize, usize)> {
    let mut out = Vec::new();
    let mut start = None;
    for (i, &b) in text.iter().enumerate().chain([(text.len(), &b' ')]) {
        match (start, i < text.len() && is(b)) {
            (None, true) => start = Some(i),
            (Some(s), false) => {
                out.push((s, i));
                start = None;
            }
            _ => {}
        }
    }
    out
}

/// The byte ranges of the contents of string literals (between two quotes).
pub fn strings(text: &[u8]) -> Vec<(usize, usize)> {
    let quotes: Vec<usize> = (0..text.len()).filter(|&i| text[i] == b'"').collect();
    quotes
        .chunks(2)
        .filter(|c| c.len() == 2)
        .map(|c| (c[0] + 1, c[1]))
        .collect()
}

/// `text` with `edits` applied in order (invalid UTF-8 replaced).
pub fn apply(text: &str, edits: &[Edit]) -> String {
    let mut b = text.as_bytes().to_vec();
    for e in edits {
        let replace = |b: &mut Vec<u8>, ranges: Vec<(usize, usize)>, n: &Index, with: &str| {
            if !ranges.is_empty() {
                let (s, t) = ranges[n.index(ranges.len())];
                b.splice(s..t, with.bytes());
            }
        };
        match e {
            Edit::Delete(at, len) => {
                let s = at.index(b.len() + 1);
                let t = (s + len).min(b.len());
                b.drain(s..t);
            }
            Edit::Insert(at, tok) => {
                let s = at.index(b.len() + 1);
                b.splice(s..s, tok.bytes());
            }
            Edit::Number(n, with) => {
                let ranges = runs(&b, |c| c.is_ascii_digit());
                replace(&mut b, ranges, n, with);
            }
            Edit::Text(n, with) => {
                let ranges = strings(&b);
                replace(&mut b, ranges, n, with);
            }
            Edit::Repeat(at, len) => {
                let s = at.index(b.len() + 1);
                let t = (s + len).min(b.len());
                let copy = b[s..t].to_vec();
                b.splice(t..t, copy);
            }
        }
    }
    String::from_utf8_lossy(&b).into_owned()
}
