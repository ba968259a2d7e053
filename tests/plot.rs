//! `Model::plot_svg`: the picture Keras's `plot_model(show_shapes=True)` draws, from the
//! macro's own graph. For a residual, a siamese (shared layer), a two-input two-output model, a
//! chain and a layer read through its final state: the SVG is well-formed (an XML parser reads
//! it), every layer has one box with its name, class and shapes, every connection one edge from
//! the bottom of its source's box to the top of its target's, every output an end, and no two
//! boxes overlap.

use nn::prelude::*;
use roxmltree::Document;
use std::collections::BTreeSet;

functional! {
    struct Residual {
        x = Input<6>;
        h = Dense<12, relu>(x);
        r = Dense<6>(h);
        sum = Add(x, r);
        y = Dense<3, softmax>(sum);
    }
}

functional! {
    struct Siamese {
        left = Input<5>;
        right = Input<5>;
        encode = Dense<3, tanh>;
        a = encode(left);
        b = encode(right);
        distance = Subtract(a, b);
        both = Concatenate(a, b, distance);
        same = Dense<1, sigmoid>(both);
    }
}

functional! {
    struct TwoByTwo {
        image = Input<8>;
        meta = Input<2>;
        features = Dense<4, relu>(image);
        joined = Concatenate(features, meta);
        label = Dense<3, softmax>(joined);
        score = Dense<1>(features);
        -> (label, score);
    }
}

sequential! { struct Chain { Input<4>, Dense<8, relu>, Dense<2> } }

functional! {
    struct FromState {
        x = Input<5, 3>;
        (sequence, h) = gru: GRU<4, return_sequences = true, return_state = true>(x);
        last = Dense<2>(h);
        -> (sequence, last);
    }
}

/// What a picture draws, read back from its SVG.
struct Picture {
    /// Each layer box: its name, class, texts, and rectangle (x, y, width, height).
    boxes: Vec<(String, String, String, [f64; 4])>,
    edges: Vec<Edge>,
    /// Each output end: its index and layer.
    outputs: Vec<(usize, String)>,
    size: (f64, f64),
}

/// An edge: from, to, whether it ends at an output, its first and last points.
type Edge = (String, String, bool, Point, Point);
type Point = (f64, f64);

fn number(node: roxmltree::Node<'_, '_>, attribute: &str) -> f64 {
    node.attribute(attribute).unwrap().parse().unwrap()
}

/// The first and last points of a path's `d` (`M x,y … x,y`).
fn ends(d: &str) -> ((f64, f64), (f64, f64)) {
    let points: Vec<(f64, f64)> = d
        .split(|c: char| c == ' ' || c.is_ascii_alphabetic())
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (x, y) = p.split_once(',').unwrap();
            (x.parse().unwrap(), y.parse().unwrap())
        })
        .collect();
    (points[0], *points.last().unwrap())
}

fn read(svg: &str) -> Picture {
    let doc = Document::parse(svg).unwrap_or_else(|e| panic!("not well-formed: {e}\n{svg}"));
    let root = doc.root_element();
    assert_eq!(root.tag_name().name(), "svg");
    assert_eq!(root.tag_name().namespace(), Some("http://www.w3.org/2000/svg"));
    let mut picture = Picture {
        boxes: Vec::new(),
        edges: Vec::new(),
        outputs: Vec::new(),
        size: (number(root, "width"), number(root, "height")),
    };
    for node in root.descendants().filter(|n| n.is_element()) {
        match (node.tag_name().name(), node.attribute("class")) {
            ("g", Some("layer")) => {
                let rect = node.children().find(|c| c.has_tag_name("rect")).unwrap();
                // The texts drawn, without the whitespace between elements.
                let text: String = node
                    .descendants()
                    .filter(|n| n.is_text() && n.parent().is_some_and(|p| !p.has_tag_name("g")))
                    .map(|n| n.text().unwrap())
                    .collect();
                picture.boxes.push((
                    node.attribute("data-name").unwrap().to_string(),
                    node.attribute("data-class").unwrap().to_string(),
                    text,
                    ["x", "y", "width", "height"].map(|a| number(rect, a)),
                ));
            }
            ("g", Some("output")) => picture.outputs.push((
                node.attribute("data-index").unwrap().parse().unwrap(),
                node.attribute("data-layer").unwrap().to_string(),
            )),
            ("path", Some("edge")) => {
                let (start, end) = ends(node.attribute("d").unwrap());
                picture.edges.push((
                    node.attribute("data-from").unwrap().to_string(),
                    node.attribute("data-to").unwrap().to_string(),
                    node.attribute("data-output").is_some(),
                    start,
                    end,
                ));
            }
            _ => {}
        }
    }
    picture
}

fn shape(dims: &[usize]) -> String {
    dims.iter().fold("(None".to_string(), |s, d| format!("{s}, {d}")) + ")"
}

/// The connections `M`'s summary lists: (source, layer) for each "Connected to" entry, or each
/// layer after the one before it in a chain.
fn connections<M: Model>() -> BTreeSet<(String, String)> {
    let layers = M::LAYERS;
    if layers.iter().all(|l| l.inbound.is_empty()) {
        return layers.windows(2).map(|w| (w[0].name.to_string(), w[1].name.to_string())).collect();
    }
    let mut out = BTreeSet::new();
    for layer in layers {
        for entry in layer.inbound {
            out.insert((entry.split('[').next().unwrap().to_string(), layer.name.to_string()));
        }
    }
    out
}

/// Checks the picture of `M` against its graph; returns it for the model's own checks.
fn check<M: Model>(model: &M) -> Picture {
    let svg = model.plot_svg();
    let picture = read(&svg);
    assert_eq!(picture.boxes.len(), M::LAYERS.len(), "one box per layer");
    for layer in M::LAYERS {
        let (_, class, text, _) = picture.boxes.iter().find(|b| b.0 == layer.name).unwrap();
        assert_eq!(class, layer.class);
        assert!(text.starts_with(&format!("{} ({})", layer.name, layer.class)), "{text}");
        let shapes = match layer.further_outputs {
            [] => shape(layer.output_shape),
            further => {
                let all: Vec<String> = [layer.output_shape].iter().chain(further).map(|s| shape(s)).collect();
                format!("[{}]", all.join(", "))
            }
        };
        assert!(text.contains(&format!("Output shape: {shapes}")), "{text}");
    }
    let drawn: BTreeSet<(String, String)> =
        picture.edges.iter().filter(|e| !e.2).map(|e| (e.0.clone(), e.1.clone())).collect();
    assert_eq!(drawn, connections::<M>());
    assert_eq!(drawn.len(), picture.edges.iter().filter(|e| !e.2).count(), "one edge per pair");
    let outputs: Vec<(usize, String)> = M::OUTPUT_LAYERS.iter().map(|s| s.to_string()).enumerate().collect();
    assert_eq!(picture.outputs, outputs);
    for (from, to, output, start, end) in &picture.edges {
        let source = &picture.boxes.iter().find(|b| &b.0 == from).unwrap().3;
        assert!((start.1 - (source[1] + source[3])).abs() < 0.1, "{from} → {to} leaves its bottom");
        assert!(start.0 > source[0] && start.0 < source[0] + source[2]);
        if !output {
            let target = &picture.boxes.iter().find(|b| &b.0 == to).unwrap().3;
            assert!((end.1 - (target[1] - 2.0)).abs() < 0.1, "{from} → {to} ends on its top");
            assert!(end.0 > target[0] && end.0 < target[0] + target[2]);
        }
    }
    for (k, a) in picture.boxes.iter().enumerate() {
        let [x, y, w, h] = a.3;
        assert!(x >= 0.0 && y >= 0.0 && x + w <= picture.size.0 && y + h <= picture.size.1, "{} inside", a.0);
        for b in &picture.boxes[k + 1..] {
            let [u, v, s, t] = b.3;
            assert!(x + w <= u || u + s <= x || y + h <= v || v + t <= y, "{} and {} overlap", a.0, b.0);
        }
    }
    picture
}

#[test]
fn a_residual_net_has_its_skip_connection() {
    let picture = check(&Residual::zeros());
    assert!(picture.edges.iter().any(|e| e.0 == "input_layer" && e.1 == "add"));
    let add = &picture.boxes.iter().find(|b| b.0 == "add").unwrap().2;
    assert!(add.contains("Input shape: [(None, 6), (None, 6)]"), "{add}");
}

#[test]
fn a_shared_layer_is_one_box_with_every_call() {
    let picture = check(&Siamese::zeros());
    let shared: Vec<_> = picture.boxes.iter().filter(|b| b.2.contains("Called 2 times (shared)")).collect();
    assert_eq!(shared.len(), 1);
    let name = &shared[0].0;
    let into = picture.edges.iter().filter(|e| &e.1 == name).count();
    let out = picture.edges.iter().filter(|e| &e.0 == name).count();
    assert_eq!((into, out), (2, 2), "from both inputs, to the subtraction and the concatenation");
}

#[test]
fn several_inputs_and_outputs_are_drawn_as_such() {
    let picture = check(&TwoByTwo::zeros());
    assert_eq!(picture.boxes.iter().filter(|b| b.1 == "InputLayer").count(), 2);
    assert_eq!(picture.outputs.len(), 2);
    assert_eq!(picture.edges.iter().filter(|e| e.2).count(), 2);
}

#[test]
fn a_chain_is_drawn_in_order() {
    let picture = check(&Chain::zeros());
    let first = &picture.boxes[0].2;
    assert!(first.contains("Input shape: (None, 4)") && first.contains("Output shape: (None, 8)"), "{first}");
}

#[test]
fn a_final_state_is_labelled_with_its_index() {
    let svg = FromState::zeros().plot_svg();
    check(&FromState::zeros());
    assert!(svg.contains(">[1]</text>"), "{svg}");
    let gru = read(&svg).boxes.into_iter().find(|b| b.1 == "GRU").unwrap().2;
    assert!(gru.contains("Output shape: [(None, 5, 4), (None, 4)]"), "{gru}");
}

functional! {
    struct StateOut {
        x = Input<5, 3>;
        (sequence, _, c) = lstm: LSTM<4, return_sequences = true, return_state = true>(x);
        -> (sequence, c);
    }
}

#[test]
fn an_output_that_is_a_final_state_is_labelled_with_its_index() {
    assert_eq!(StateOut::OUTPUT_TENSORS, &[0, 2]);
    let svg = StateOut::zeros().plot_svg();
    let picture = check(&StateOut::zeros());
    assert_eq!(picture.outputs, [(0, "lstm".to_string()), (1, "lstm".to_string())]);
    assert_eq!(svg.matches(">[2]</text>").count(), 1, "{svg}");
}

#[test]
fn names_are_escaped() {
    let layers = [nn::SummaryRow {
        name: "a<b>&\"c\"",
        class: "Dense",
        output_shape: &[1],
        further_outputs: &[],
        params: 2,
        inbound: &[],
        calls: 1,
    }];
    let model =
        nn::PlotModel { name: "<model>", layers: &layers, inputs: &[&[2]], outputs: &[("a<b>&\"c\"", 0)] };
    let picture = read(&model.svg());
    assert_eq!(picture.boxes[0].0, "a<b>&\"c\"");
    assert_eq!(picture.outputs, [(0, "a<b>&\"c\"".to_string())]);
}
