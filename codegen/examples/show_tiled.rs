//! Prints the tiled CUDA of a library operator under its first binding (development aid).
use kas_codegen::StageIr;
use kas_codegen::cuda::{generate_scheduled, heuristic_schedule};
fn main() {
    let name = std::env::args().nth(1).unwrap_or_else(|| "conv2d".into());
    let op = (kas_primitives::library::get(&name).unwrap().build)().unwrap();
    let b = &op.bindings[0];
    let ir = StageIr::lower(&op).unwrap();
    let s = heuristic_schedule(&ir, b).unwrap();
    print!("{}", generate_scheduled(&ir, b, "kas", &s).unwrap().source);
}
