//! Unique, valid C identifiers for the printed loop nest.

use std::collections::HashSet;

/// C99 keywords, and names a harness including `<stdio.h>`/`<stdlib.h>` may see as macros.
const RESERVED: &[&str] = &[
    "auto",
    "break",
    "case",
    "char",
    "const",
    "continue",
    "default",
    "do",
    "double",
    "else",
    "enum",
    "extern",
    "float",
    "for",
    "goto",
    "if",
    "inline",
    "int",
    "long",
    "register",
    "restrict",
    "return",
    "short",
    "signed",
    "sizeof",
    "static",
    "struct",
    "switch",
    "typedef",
    "union",
    "unsigned",
    "void",
    "volatile",
    "while",
    "_Bool",
    "_Complex",
    "_Imaginary",
    "KAS_DIV",
    "KAS_MOD",
    "NULL",
    "EOF",
    "BUFSIZ",
    "FILENAME_MAX",
    "stdin",
    "stdout",
    "stderr",
    "errno",
    "assert",
    "offsetof",
    "bool",
    "true",
    "false",
    "main",
];

/// Whether `s` is an identifier C99 accepts and does not reserve (ASCII only; no leading `__`
/// or `_` + capital).
pub(crate) fn is_c_identifier(s: &str) -> bool {
    let mut chars = s.chars();
    let Some(first) = chars.next() else {
        return false;
    };
    if !(first.is_ascii_alphabetic() || first == '_') {
        return false;
    }
    if !s.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
        return false;
    }
    let reserved_prefix = s.starts_with("__")
        || (first == '_' && s[1..].starts_with(|c: char| c.is_ascii_uppercase()));
    !reserved_prefix && !RESERVED.contains(&s)
}

/// Hands out identifiers, each at most once.
#[derive(Debug, Default)]
pub(crate) struct Names {
    taken: HashSet<String>,
}

impl Names {
    /// `preferred` if it is a usable C identifier not yet taken, else `fallback` (itself
    /// suffixed with `_` until it is free).
    pub(crate) fn claim(&mut self, preferred: &str, fallback: &str) -> String {
        let mut name = if is_c_identifier(preferred) && !self.taken.contains(preferred) {
            preferred.to_string()
        } else {
            fallback.to_string()
        };
        while !is_c_identifier(&name) || self.taken.contains(&name) {
            name.push('_');
        }
        self.taken.insert(name.clone());
        name
    }
}

/// A usable C function name from any text: invalid characters become `_`, and a name that is
/// still unusable gets the prefix `kas_`.
pub(crate) fn c_function_name(name: &str) -> String {
    let s: String = name
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
        .collect();
    if is_c_identifier(&s) {
        s
    } else {
        format!("kas_{s}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identifiers() {
        assert!(is_c_identifier("C_in"));
        assert!(is_c_identifier("_x"));
        for bad in ["", "2k", "int", "__x", "_X", "é", "a-b", "KAS_DIV"] {
            assert!(!is_c_identifier(bad), "{bad}");
        }
        let mut n = Names::default();
        assert_eq!(n.claim("h", "o0"), "h");
        assert_eq!(n.claim("h", "o1"), "o1");
        assert_eq!(n.claim("for", "o1"), "o1_");
        assert_eq!(c_function_name("conv-3x3"), "conv_3x3");
        assert_eq!(c_function_name("3x3"), "kas_3x3");
        assert_eq!(c_function_name("int"), "kas_int");
    }
}
