use kas_synth::dag::Child;
use kas_synth::{Config, Dag, Filters};

#[test]
#[ignore]
fn probe() {
    let path = std::env::var("SPEC").unwrap_or("../experiments/specs/cnn-small.ron".into());
    let text = std::fs::read_to_string(&path).unwrap();
    let spec = kas_primitives::Spec::read(&text, &path).unwrap();
    let cfg = Config::new(spec).unwrap();
    eprintln!("candidates: {}", cfg.candidates.len());
    let dag = Dag::new(cfg, Filters::default());
    let mut layer = vec![dag.root().clone()];
    for depth in 0..4 {
        let t = std::time::Instant::now();
        let mut next = Vec::new();
        let mut leaves = 0;
        for n in layer.iter().take(200) {
            for (_, c) in dag.children(n) {
                match c {
                    Child::Node(x) => next.push(x.clone()),
                    Child::Leaf(_) => leaves += 1,
                }
            }
        }
        eprintln!("depth {depth}: {} nodes -> {} children, {leaves} leaves, {:?}", layer.len(), next.len(), t.elapsed());
        layer = next;
    }
}

#[test]
#[ignore]
fn probe_descents() {
    let path = std::env::var("SPEC").unwrap_or("../experiments/specs/cnn-small.ron".into());
    let text = std::fs::read_to_string(&path).unwrap();
    let spec = kas_primitives::Spec::read(&text, &path).unwrap();
    let dag = Dag::new(Config::new(spec).unwrap(), Filters::default());
    for i in 0..20 {
        let t = std::time::Instant::now();
        let d = kas_synth::descent::descend(&dag, 0, i, i);
        eprintln!("descent {i}: leaf {} visited {} backtracks {} path {:?} {:?}", d.leaf.is_some(), d.visited, d.backtracks, d.path.len(), t.elapsed());
    }
}
