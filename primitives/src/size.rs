//! Symbolic sizes: monomials over primary and coefficient variables.
//!
//! A [`Size`] is `Π P_i^{a_i} · Π K_j^{b_j}` where the `P_i` are *primary* variables (large,
//! never in a denominator: `a_i ≥ 0` for a legal size) and the `K_j` are *coefficient* variables
//! (small, may be divided by). Sizes refer to variables by position in a [`VarTable`]; printing
//! and parsing need the table. A size is legal only if it is an integer ≥ 1 under every
//! [`Binding`] of the slot.

use crate::error::{Error, Result};
use serde::{Deserialize, Serialize};
use std::fmt::Write as _;

/// Most variables of each kind (primary, coefficient) in one table.
pub const MAX_VARS: usize = 8;

/// The two families of variables.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum VarKind {
    /// Large sizes (`C_in`, `H`, `N`): never in a denominator.
    Primary,
    /// Small sizes (`k=3`, `s=2`, `g=32`): may be divided by.
    Coefficient,
}

/// A symbolic size: exponents of the primary and coefficient variables of a [`VarTable`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct Size {
    primary: [i8; MAX_VARS],
    coeff: [i8; MAX_VARS],
}

impl Size {
    /// The size 1 (no variable).
    pub const ONE: Size = Size {
        primary: [0; MAX_VARS],
        coeff: [0; MAX_VARS],
    };

    /// The size made of one variable.
    pub fn var(kind: VarKind, index: usize) -> Size {
        assert!(index < MAX_VARS, "variable index out of range");
        let mut s = Size::ONE;
        match kind {
            VarKind::Primary => s.primary[index] = 1,
            VarKind::Coefficient => s.coeff[index] = 1,
        }
        s
    }

    /// Exponent of a variable.
    pub fn exponent(&self, kind: VarKind, index: usize) -> i8 {
        match kind {
            VarKind::Primary => self.primary[index],
            VarKind::Coefficient => self.coeff[index],
        }
    }

    /// Primary exponents.
    pub fn primary_exponents(&self) -> &[i8; MAX_VARS] {
        &self.primary
    }

    /// Coefficient exponents.
    pub fn coefficient_exponents(&self) -> &[i8; MAX_VARS] {
        &self.coeff
    }

    /// The product, or `None` if an exponent leaves `i8` (|e| > 127).
    pub fn checked_mul(self, other: Size) -> Option<Size> {
        let mut r = self;
        for i in 0..MAX_VARS {
            r.primary[i] = r.primary[i].checked_add(other.primary[i])?;
            r.coeff[i] = r.coeff[i].checked_add(other.coeff[i])?;
        }
        Some(r)
    }

    /// The quotient, or `None` if an exponent leaves `i8` (|e| > 127).
    pub fn checked_div(self, other: Size) -> Option<Size> {
        let mut r = self;
        for i in 0..MAX_VARS {
            r.primary[i] = r.primary[i].checked_sub(other.primary[i])?;
            r.coeff[i] = r.coeff[i].checked_sub(other.coeff[i])?;
        }
        Some(r)
    }

    /// Whether this is the size 1.
    pub fn is_one(&self) -> bool {
        *self == Size::ONE
    }

    /// Whether some primary variable has a non-zero exponent.
    pub fn has_primary(&self) -> bool {
        self.primary.iter().any(|&e| e != 0)
    }

    /// Whether some primary variable has a negative exponent (never legal).
    pub fn has_primary_in_denominator(&self) -> bool {
        self.primary.iter().any(|&e| e < 0)
    }

    /// Σ |exponent| over all variables.
    pub fn total_power(&self) -> u32 {
        self.primary
            .iter()
            .chain(self.coeff.iter())
            .map(|e| e.unsigned_abs() as u32)
            .sum()
    }

    /// Number of distinct variables with a non-zero exponent.
    pub fn variable_count(&self) -> usize {
        self.primary
            .iter()
            .chain(self.coeff.iter())
            .filter(|&&e| e != 0)
            .count()
    }

    /// Numerator and denominator under a binding, or `None` on overflow.
    fn ratio(&self, b: &Binding) -> Option<(u128, u128)> {
        let mut num: u128 = 1;
        let mut den: u128 = 1;
        let fams = [(&self.primary, &b.primary), (&self.coeff, &b.coeff)];
        for (exps, vals) in fams {
            for (i, &e) in exps.iter().enumerate() {
                if e == 0 {
                    continue;
                }
                let v = vals[i] as u128;
                let p = v.checked_pow(e.unsigned_abs() as u32)?;
                if e > 0 {
                    num = num.checked_mul(p)?;
                } else {
                    den = den.checked_mul(p)?;
                }
            }
        }
        Some((num, den))
    }

    /// The value under a binding if it is a positive integer that fits in `u64`.
    pub fn eval(&self, b: &Binding) -> Option<u64> {
        let (num, den) = self.ratio(b)?;
        if den == 0 || num % den != 0 {
            return None;
        }
        let v = num / den;
        if v == 0 {
            return None;
        }
        u64::try_from(v).ok()
    }

    /// The value as a float (for sizes that may be fractional, such as ratios).
    pub fn eval_f64(&self, b: &Binding) -> f64 {
        let mut v = 1.0f64;
        for (i, &e) in self.primary.iter().enumerate() {
            v *= (b.primary[i] as f64).powi(e as i32);
        }
        for (i, &e) in self.coeff.iter().enumerate() {
            v *= (b.coeff[i] as f64).powi(e as i32);
        }
        v
    }

    /// Checks that the size is legal: no primary variable in a denominator, and an integer ≥ 1
    /// under every binding.
    pub fn check_legal(&self, vars: &VarTable, bindings: &[Binding]) -> Result<()> {
        if self.has_primary_in_denominator() {
            return Err(Error::IllegalSize {
                size: self.display(vars),
                reason: "a primary variable is in the denominator".into(),
            });
        }
        for b in bindings {
            match self.ratio(b) {
                None => {
                    return Err(Error::IllegalSize {
                        size: self.display(vars),
                        reason: format!("overflows under binding `{}`", b.name),
                    });
                }
                Some((num, den)) => {
                    if den == 0 || num % den != 0 {
                        return Err(Error::IllegalSize {
                            size: self.display(vars),
                            reason: format!("not an integer under binding `{}`", b.name),
                        });
                    }
                    if num / den < 1 {
                        return Err(Error::IllegalSize {
                            size: self.display(vars),
                            reason: format!("smaller than 1 under binding `{}`", b.name),
                        });
                    }
                }
            }
        }
        Ok(())
    }

    /// Prints the size with the variable names of `vars`, as `C_in*k^2/(g*s)`.
    pub fn display(&self, vars: &VarTable) -> String {
        let mut num = Vec::new();
        let mut den = Vec::new();
        let fams = [
            (&self.primary, &vars.primary),
            (&self.coeff, &vars.coefficient),
        ];
        for (exps, names) in fams {
            for (i, &e) in exps.iter().enumerate() {
                if e == 0 {
                    continue;
                }
                let name = names.get(i).map(|v| v.name.as_str()).unwrap_or("?");
                let a = e.unsigned_abs();
                let f = if a == 1 {
                    name.to_string()
                } else {
                    format!("{name}^{a}")
                };
                if e > 0 { num.push(f) } else { den.push(f) }
            }
        }
        let mut s = if num.is_empty() {
            "1".to_string()
        } else {
            num.join("*")
        };
        match den.len() {
            0 => {}
            1 => {
                let _ = write!(s, "/{}", den[0]);
            }
            _ => {
                let _ = write!(s, "/({})", den.join("*"));
            }
        }
        s
    }

    /// Parses `C_in*k^2/g`, `C_out/(g*s)`, `1/s` or `1` against a variable table.
    pub fn parse(text: &str, vars: &VarTable) -> Result<Size> {
        SizeParser { text, pos: 0, vars }.parse()
    }
}

/// Product of two sizes. Panics on exponent overflow (|e| > 127), which no legal operator
/// reaches.
impl std::ops::Mul for Size {
    type Output = Size;
    fn mul(self, other: Size) -> Size {
        self.checked_mul(other).expect("size exponent overflow")
    }
}

/// Quotient of two sizes (may be illegal: check with [`Size::check_legal`]). Panics on
/// exponent overflow, like `Mul`.
impl std::ops::Div for Size {
    type Output = Size;
    fn div(self, other: Size) -> Size {
        self.checked_div(other).expect("size exponent overflow")
    }
}

struct SizeParser<'a> {
    text: &'a str,
    pos: usize,
    vars: &'a VarTable,
}

impl SizeParser<'_> {
    fn err(&self, reason: impl Into<String>) -> Error {
        Error::SizeSyntax {
            text: self.text.to_string(),
            reason: reason.into(),
        }
    }

    fn overflow(&self) -> Error {
        self.err("an exponent is out of range (at most 127 in absolute value)")
    }

    fn skip_ws(&mut self) {
        while self.peek().is_some_and(|c| c.is_whitespace()) {
            self.pos += 1;
        }
    }

    fn peek(&self) -> Option<char> {
        self.text[self.pos..].chars().next()
    }

    fn parse(mut self) -> Result<Size> {
        let s = self.product()?;
        self.skip_ws();
        if self.pos != self.text.len() {
            return Err(self.err(format!("unexpected `{}`", &self.text[self.pos..])));
        }
        Ok(s)
    }

    fn product(&mut self) -> Result<Size> {
        let mut acc = self.factor()?;
        loop {
            self.skip_ws();
            match self.peek() {
                Some('*') => {
                    self.pos += 1;
                    let f = self.factor()?;
                    acc = acc.checked_mul(f).ok_or_else(|| self.overflow())?;
                }
                Some('/') => {
                    self.pos += 1;
                    let f = self.factor()?;
                    acc = acc.checked_div(f).ok_or_else(|| self.overflow())?;
                }
                _ => return Ok(acc),
            }
        }
    }

    fn factor(&mut self) -> Result<Size> {
        self.skip_ws();
        let base = match self.peek() {
            Some('(') => {
                self.pos += 1;
                let inner = self.product()?;
                self.skip_ws();
                if self.peek() != Some(')') {
                    return Err(self.err("missing `)`"));
                }
                self.pos += 1;
                inner
            }
            Some(c) if c.is_ascii_digit() => {
                let start = self.pos;
                while self.peek().is_some_and(|c| c.is_ascii_digit()) {
                    self.pos += 1;
                }
                if &self.text[start..self.pos] != "1" {
                    return Err(self.err(
                        "only the literal 1 is allowed; name constants as coefficient variables",
                    ));
                }
                Size::ONE
            }
            Some(c) if c.is_alphabetic() || c == '_' => {
                let start = self.pos;
                while self.peek().is_some_and(|c| c.is_alphanumeric() || c == '_') {
                    self.pos += 1;
                }
                let name = &self.text[start..self.pos];
                let (kind, index) = self
                    .vars
                    .lookup(name)
                    .ok_or_else(|| Error::UnknownVariable(name.to_string()))?;
                Size::var(kind, index)
            }
            Some(c) => return Err(self.err(format!("unexpected `{c}`"))),
            None => return Err(self.err("unexpected end")),
        };
        self.skip_ws();
        if self.peek() == Some('^') {
            self.pos += 1;
            self.skip_ws();
            let neg = if self.peek() == Some('-') {
                self.pos += 1;
                true
            } else {
                false
            };
            let start = self.pos;
            while self.peek().is_some_and(|c| c.is_ascii_digit()) {
                self.pos += 1;
            }
            let e: i8 = self.text[start..self.pos]
                .parse()
                .map_err(|_| self.err("bad exponent"))?;
            let e = if neg { -e } else { e };
            let mut r = Size::ONE;
            for _ in 0..e.unsigned_abs() {
                r = if e > 0 {
                    r.checked_mul(base)
                } else {
                    r.checked_div(base)
                }
                .ok_or_else(|| self.overflow())?;
            }
            return Ok(r);
        }
        Ok(base)
    }
}

/// One declared variable.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Var {
    /// Its name, as used in sizes.
    pub name: String,
    /// Its default value (coefficient variables carry their value here: `k=3`).
    pub value: Option<u64>,
    /// How often it may occur in reductions, weights, strides and merges during synthesis
    /// (`None`: the default of the synthesizer).
    pub max_occurrences: Option<u32>,
}

impl Var {
    /// Parses the compact form used by Syno: `Name[=value][: maxOccurrences]`.
    pub fn parse(text: &str) -> Result<Var> {
        let bad = |reason: &str| Error::VarSpecSyntax {
            text: text.to_string(),
            reason: reason.to_string(),
        };
        let (head, occ) = match text.split_once(':') {
            Some((h, o)) => (h.trim(), Some(o.trim())),
            None => (text.trim(), None),
        };
        let (name, value) = match head.split_once('=') {
            Some((n, v)) => (n.trim(), Some(v.trim())),
            None => (head, None),
        };
        if name.is_empty()
            || !name
                .chars()
                .next()
                .is_some_and(|c| c.is_alphabetic() || c == '_')
            || !name.chars().all(|c| c.is_alphanumeric() || c == '_')
        {
            return Err(bad("a name of letters, digits and `_` is required"));
        }
        let value = match value {
            Some(v) => {
                let v: u64 = v.parse().map_err(|_| bad("value is not an integer"))?;
                if v == 0 {
                    return Err(bad("value must be at least 1"));
                }
                Some(v)
            }
            None => None,
        };
        let max_occurrences = match occ {
            Some(o) => Some(
                o.parse()
                    .map_err(|_| bad("occurrence limit is not an integer"))?,
            ),
            None => None,
        };
        Ok(Var {
            name: name.to_string(),
            value,
            max_occurrences,
        })
    }

    /// The compact form, inverse of [`Var::parse`].
    pub fn compact(&self) -> String {
        let mut s = self.name.clone();
        if let Some(v) = self.value {
            let _ = write!(s, "={v}");
        }
        if let Some(o) = self.max_occurrences {
            let _ = write!(s, ": {o}");
        }
        s
    }
}

/// A variable in a file: either the compact string `"k_1=3: 2"` or a RON struct.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(untagged)]
enum VarRepr {
    Compact(String),
    Full {
        name: String,
        #[serde(default)]
        value: Option<u64>,
        #[serde(default)]
        max_occurrences: Option<u32>,
    },
}

/// The variables of an operator or slot: primary and coefficient, in order.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct VarTable {
    /// Primary variables (index = position).
    pub primary: Vec<Var>,
    /// Coefficient variables (index = position).
    pub coefficient: Vec<Var>,
}

impl VarTable {
    /// Builds a table from compact specs, checking names are unique and counts are in range.
    pub fn from_specs<S: AsRef<str>>(primary: &[S], coefficient: &[S]) -> Result<VarTable> {
        let t = VarTable {
            primary: primary
                .iter()
                .map(|s| Var::parse(s.as_ref()))
                .collect::<Result<_>>()?,
            coefficient: coefficient
                .iter()
                .map(|s| Var::parse(s.as_ref()))
                .collect::<Result<_>>()?,
        };
        t.validate()?;
        Ok(t)
    }

    /// Checks uniqueness of names and the per-kind limit.
    pub fn validate(&self) -> Result<()> {
        if self.primary.len() > MAX_VARS || self.coefficient.len() > MAX_VARS {
            return Err(Error::VarTable(format!(
                "at most {MAX_VARS} variables of each kind"
            )));
        }
        let mut seen = std::collections::BTreeSet::new();
        for v in self.primary.iter().chain(&self.coefficient) {
            if !seen.insert(v.name.as_str()) {
                return Err(Error::VarTable(format!("`{}` is declared twice", v.name)));
            }
        }
        Ok(())
    }

    /// Finds a variable by name.
    pub fn lookup(&self, name: &str) -> Option<(VarKind, usize)> {
        if let Some(i) = self.primary.iter().position(|v| v.name == name) {
            return Some((VarKind::Primary, i));
        }
        self.coefficient
            .iter()
            .position(|v| v.name == name)
            .map(|i| (VarKind::Coefficient, i))
    }

    /// The variable at a position.
    pub fn get(&self, kind: VarKind, index: usize) -> &Var {
        match kind {
            VarKind::Primary => &self.primary[index],
            VarKind::Coefficient => &self.coefficient[index],
        }
    }

    /// Parses a size against this table.
    pub fn size(&self, text: &str) -> Result<Size> {
        Size::parse(text, self)
    }

    /// Resolves a named binding from `name → value` pairs; coefficient variables (and primary
    /// ones with a declared value) fall back to their declared value.
    pub fn bind<'a, I>(&self, name: &str, values: I) -> Result<Binding>
    where
        I: IntoIterator<Item = (&'a str, u64)>,
    {
        let mut b = Binding {
            name: name.to_string(),
            primary: [0; MAX_VARS],
            coeff: [0; MAX_VARS],
        };
        for (k, v) in values {
            let (kind, i) = self.lookup(k).ok_or_else(|| Error::Binding {
                binding: name.to_string(),
                reason: format!("unknown variable `{k}`"),
            })?;
            if v == 0 {
                return Err(Error::Binding {
                    binding: name.to_string(),
                    reason: format!("`{k}` must be at least 1"),
                });
            }
            match kind {
                VarKind::Primary => b.primary[i] = v,
                VarKind::Coefficient => b.coeff[i] = v,
            }
        }
        let fams = [
            (&self.primary, &mut b.primary),
            (&self.coefficient, &mut b.coeff),
        ];
        for (vars, vals) in fams {
            for (i, var) in vars.iter().enumerate() {
                if vals[i] == 0 {
                    vals[i] = var.value.ok_or_else(|| Error::Binding {
                        binding: name.to_string(),
                        reason: format!("no value for `{}`", var.name),
                    })?;
                }
            }
        }
        Ok(b)
    }
}

impl Serialize for VarTable {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        #[derive(Serialize)]
        struct Repr {
            primary: Vec<String>,
            coefficient: Vec<String>,
        }
        Repr {
            primary: self.primary.iter().map(Var::compact).collect(),
            coefficient: self.coefficient.iter().map(Var::compact).collect(),
        }
        .serialize(s)
    }
}

impl<'de> Deserialize<'de> for VarTable {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        #[derive(Deserialize)]
        struct Repr {
            #[serde(default)]
            primary: Vec<VarRepr>,
            #[serde(default)]
            coefficient: Vec<VarRepr>,
        }
        let r = Repr::deserialize(d)?;
        let conv = |v: VarRepr| -> std::result::Result<Var, D::Error> {
            match v {
                VarRepr::Compact(s) => Var::parse(&s).map_err(serde::de::Error::custom),
                VarRepr::Full {
                    name,
                    value,
                    max_occurrences,
                } => Var::parse(&name)
                    .map(|_| Var {
                        name,
                        value,
                        max_occurrences,
                    })
                    .map_err(serde::de::Error::custom),
            }
        };
        let t = VarTable {
            primary: r.primary.into_iter().map(conv).collect::<Result<_, _>>()?,
            coefficient: r
                .coefficient
                .into_iter()
                .map(conv)
                .collect::<Result<_, _>>()?,
        };
        t.validate().map_err(serde::de::Error::custom)?;
        Ok(t)
    }
}

/// Concrete values for every variable of a table, with a name (one per placeholder).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Binding {
    /// Name of the binding (for instance the layer it comes from).
    pub name: String,
    /// Values of the primary variables, by position.
    pub primary: [u64; MAX_VARS],
    /// Values of the coefficient variables, by position.
    pub coeff: [u64; MAX_VARS],
}

impl Binding {
    /// The value of one variable.
    pub fn value(&self, kind: VarKind, index: usize) -> u64 {
        match kind {
            VarKind::Primary => self.primary[index],
            VarKind::Coefficient => self.coeff[index],
        }
    }

    /// `name=value` pairs for every variable of the table, in table order.
    pub fn pairs(&self, vars: &VarTable) -> Vec<(String, u64)> {
        let mut v: Vec<(String, u64)> = vars
            .primary
            .iter()
            .enumerate()
            .map(|(i, x)| (x.name.clone(), self.primary[i]))
            .collect();
        v.extend(
            vars.coefficient
                .iter()
                .enumerate()
                .map(|(i, x)| (x.name.clone(), self.coeff[i])),
        );
        v
    }
}

/// A binding as written in files: a name and `variable: value` pairs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NamedBinding {
    /// Name of the binding.
    pub name: String,
    /// Values by variable name; omitted ones take their declared value.
    pub values: std::collections::BTreeMap<String, u64>,
}

impl NamedBinding {
    /// Resolves against a table.
    pub fn resolve(&self, vars: &VarTable) -> Result<Binding> {
        vars.bind(
            &self.name,
            self.values.iter().map(|(k, v)| (k.as_str(), *v)),
        )
    }

    /// The file form of a resolved binding (every variable written out).
    pub fn from_binding(b: &Binding, vars: &VarTable) -> NamedBinding {
        NamedBinding {
            name: b.name.clone(),
            values: b.pairs(vars).into_iter().collect(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::ops::{Div, Mul};

    fn table() -> VarTable {
        VarTable::from_specs(
            &["N: 0", "C_in: 2", "C_out: 4", "H: 0"],
            &["k_1=3: 2", "k_2=7: 2", "s=2: 2", "g=32: 3"],
        )
        .unwrap()
    }

    #[test]
    fn compact_specs_parse() {
        let v = Var::parse("k_1=3: 2").unwrap();
        assert_eq!(v.name, "k_1");
        assert_eq!(v.value, Some(3));
        assert_eq!(v.max_occurrences, Some(2));
        assert_eq!(v.compact(), "k_1=3: 2");
        let v = Var::parse("C_in: 2").unwrap();
        assert_eq!((v.value, v.max_occurrences), (None, Some(2)));
        let v = Var::parse("H").unwrap();
        assert_eq!((v.value, v.max_occurrences), (None, None));
        assert!(Var::parse("=3").is_err());
        assert!(Var::parse("k=x").is_err());
        assert!(Var::parse("k=0").is_err());
        assert!(Var::parse("2k").is_err());
        assert!(Var::parse("k: many").is_err());
    }

    #[test]
    fn duplicate_names_rejected() {
        assert!(VarTable::from_specs(&["N", "N"], &[]).is_err());
        assert!(VarTable::from_specs(&["N"], &["N=2"]).is_err());
    }

    #[test]
    fn parse_and_display_round_trip() {
        let t = table();
        for s in [
            "1",
            "C_in",
            "C_in*k_1^2/g",
            "C_out/(s*g)",
            "1/s",
            "N*C_in*H^2",
        ] {
            let z = t.size(s).unwrap();
            assert_eq!(z.display(&t), s);
            assert_eq!(t.size(&z.display(&t)).unwrap(), z);
        }
        assert_eq!(t.size("C_out/g/s").unwrap(), t.size("C_out/(g*s)").unwrap());
        assert_eq!(t.size("k_1^-1").unwrap(), t.size("1/k_1").unwrap());
        assert!(matches!(t.size("C_x"), Err(Error::UnknownVariable(_))));
        assert!(t.size("C_in*").is_err());
        assert!(t.size("2*C_in").is_err());
        assert!(t.size("(C_in").is_err());
    }

    /// Regression: exponents beyond `i8` in a size text used to panic in the parser.
    #[test]
    fn exponent_overflow_is_a_parse_error() {
        let t = table();
        assert!(matches!(
            Size::parse("k_1^100*k_1^100", &t),
            Err(Error::SizeSyntax { .. })
        ));
        assert!(matches!(
            Size::parse("(k_1^100)^2", &t),
            Err(Error::SizeSyntax { .. })
        ));
        assert!(matches!(
            Size::parse("1/k_1^100/k_1^100", &t),
            Err(Error::SizeSyntax { .. })
        ));
        let big = Size::parse("k_1^100", &t).unwrap();
        assert_eq!(big.checked_mul(big), None);
        assert_eq!(big.checked_mul(Size::ONE), Some(big));
    }

    #[test]
    fn product_quotient_and_legality() {
        let t = table();
        let b1 = t
            .bind("a", [("N", 128), ("C_in", 64), ("C_out", 64), ("H", 56)])
            .unwrap();
        let b2 = t
            .bind("b", [("N", 128), ("C_in", 512), ("C_out", 512), ("H", 7)])
            .unwrap();
        let c_in = t.size("C_in").unwrap();
        let g = t.size("g").unwrap();
        let s = t.size("s").unwrap();
        assert_eq!(c_in.mul(g).div(g), c_in);
        let q = c_in.div(g);
        assert_eq!(q.eval(&b1), Some(2));
        assert!(q.check_legal(&t, &[b1.clone(), b2.clone()]).is_ok());
        // 64 / (32*2*2) = 1/2: not an integer under b1.
        let bad = c_in.div(g).div(s).div(s);
        let e = bad.check_legal(&t, &[b2.clone(), b1.clone()]).unwrap_err();
        assert!(e.to_string().contains("binding `a`"), "{e}");
        // H/s is 7/2 at the second binding.
        assert!(
            t.size("H/s")
                .unwrap()
                .check_legal(&t, std::slice::from_ref(&b2))
                .is_err()
        );
        // A primary variable in a denominator is never legal.
        let e = t.size("k_1/H").unwrap().check_legal(&t, &[]).unwrap_err();
        assert!(e.to_string().contains("denominator"));
        // Sizes below one are illegal.
        assert!(t.size("1/s").unwrap().check_legal(&t, &[b1]).is_err());
    }

    #[test]
    fn binding_needs_every_primary() {
        let t = table();
        let e = t.bind("x", [("N", 1)]).unwrap_err();
        assert!(e.to_string().contains("no value for `C_in`"));
        assert!(t.bind("x", [("Q", 1)]).is_err());
        let b = t
            .bind(
                "x",
                [("N", 1), ("C_in", 1), ("C_out", 1), ("H", 1), ("g", 4)],
            )
            .unwrap();
        assert_eq!(b.value(VarKind::Coefficient, 3), 4);
        assert_eq!(b.value(VarKind::Coefficient, 0), 3);
    }

    #[test]
    fn ron_forms_parse() {
        let t: VarTable = ron::from_str(
            r#"(primary: ["N: 0", (name: "C", value: Some(8), max_occurrences: Some(2))], coefficient: ["k=3"])"#,
        )
        .unwrap();
        assert_eq!(t.primary[1].value, Some(8));
        assert_eq!(t.coefficient[0].value, Some(3));
        let back = ron::to_string(&t).unwrap();
        let t2: VarTable = ron::from_str(&back).unwrap();
        assert_eq!(t, t2);
    }
}
