use super::format::every_kind;
use crate::print::{dot, pseudo_c};

#[test]
fn pseudo_c_has_one_assignment_per_node_with_its_shape() {
    let g = every_kind();
    let text = pseudo_c(&g);
    for line in [
        "// graph kernel `t`: [N, C_in, H, H] -> [N, C_out, H, H]",
        "double input[N][C_in][H][H];",
        "double n2[N][C_in][H][H] = gelu(n1);",
        "double n3[N][C_in] = fold_max(n2, axes {2, 3});",
        "double n4[N][C_in] = softmax(n3, axis 1);",
        "double n5[N][C_in][H][H] = mul(n4 onto axes {0, 1}, input);",
        "double n6[N][C_in][C_in] = bmm(n5, n2, batch 1, contract {2, 3} with {2, 3});",
        "double n9[N][C_out][H][H] = linear_n9(n8, 1 weight);",
        "double n7[N][C_in][H][H] = bmm(n6, n1, batch 1, contract {2} with {1}, scaled);",
        "return n9;",
    ] {
        assert!(
            text.lines().any(|l| l == line),
            "no line `{line}` in\n{text}"
        );
    }
    // Each linear node is followed by its loop nest.
    let after = text.split("= linear_n1(input, 1 weight);").nth(1).unwrap();
    assert!(after.lines().nth(1).unwrap().starts_with("    "), "{text}");
}

#[test]
fn dot_has_every_node_and_edge() {
    let g = every_kind();
    let d = dot(&g);
    assert!(d.starts_with("digraph {"));
    assert_eq!(d.matches("label = \"n").count(), g.nodes.len() - 1);
    let edges: usize = g.nodes.iter().map(|n| n.inputs.len()).sum();
    assert_eq!(d.matches(" -> ").count(), edges);
    assert_eq!(d.matches("label = \"lhs\"").count(), 4);
    assert!(d.contains("fillcolor = palegreen"));
}
