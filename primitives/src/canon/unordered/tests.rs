//! Tests of the channel-order candidates.

use super::*;
use crate::random::{RandomConfig, random_operator};

#[test]
fn debug_candidates() {
    for seed in 0..400 {
        let op = random_operator(seed, &RandomConfig::default());
        for side in [Side::Output, Side::Input] {
            let ts = trees(&op, side);
            for o in order_choices(&ts, MAX_ORDERS) {
                let (m, _) = rewrite(&op, side, &ts, &o);
                if let Err(e) = m.validate() {
                    panic!("{seed} {side:?} {e:?}\n{}\n{:#?}", crate::format::write_operator("x", "", &op).unwrap_or_default(), m.ops);
                }
            }
        }
    }
}
