//! Writes the tiled CUDA of a library operator for every candidate of its last stage under a
//! binding given as `NAME=VALUE,…` into a folder (development aid: resource usage with nvcc).
use kas_codegen::cuda::{contractions, generate_scheduled, heuristic_schedule};
use kas_codegen::schedule::candidates;
mod common;

fn main() {
    let mut args = std::env::args().skip(1);
    let name = args.next().unwrap_or_else(|| "conv2d".into());
    let vals = args.next().unwrap_or_default();
    let dir = args.next().unwrap_or_else(|| "/tmp/tiled".into());
    let (ir, b) = common::lowered(&name, &vals);
    let base = heuristic_schedule(&ir, &b).unwrap();
    let last = ir.stages.len() - 1;
    let conts = contractions(&ir, &b).unwrap();
    std::fs::create_dir_all(&dir).unwrap();
    for (i, c) in candidates(conts[last].as_ref()).into_iter().enumerate() {
        let mut s = base.clone();
        s.stages[last] = c;
        let p = generate_scheduled(&ir, &b, "kas", &s).unwrap();
        let f = format!("{dir}/c{i:02}.cu");
        std::fs::write(&f, &p.source).unwrap();
        println!("{f} {}", c.label());
    }
}
