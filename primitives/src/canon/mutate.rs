//! Primitive-level rewrites of operators (filled in below).
