//! A picture of a model as Keras's `plot_model(show_shapes=True)` draws it
//! (`keras/src/utils/model_visualization.py`): a box per layer with its name, class, input and
//! output shapes, and an arrow per connection, laid out top to bottom in layers by a small
//! Sugiyama layout (ranks, orderings that cut crossings, positions that keep edges straight),
//! written as SVG.
//!
//! A shared layer is one box, as in Keras, with every call's edges and a "called n times" line;
//! each model output gets a labelled end (`output 0`), so several outputs read as such.

use super::SummaryRow;
use alloc::string::String;
use alloc::vec;
use alloc::vec::Vec;
use core::fmt::{self, Write};

/// The model a picture is drawn of: what [`Model::plot_svg`](crate::Model::plot_svg) draws
/// from a compiled model's constants, and the `nn plot` command from a Keras file's.
///
/// ```
/// use nn_core::{PlotModel, SummaryRow};
///
/// let layer = |name, class, output_shape, inbound| SummaryRow {
///     name,
///     class,
///     output_shape,
///     further_outputs: &[],
///     params: 0,
///     inbound,
///     calls: 1,
/// };
/// let layers = [
///     layer("x", "InputLayer", &[4], &[]),
///     layer("h", "Dense", &[4], &["x[0][0]"]),
///     layer("sum", "Add", &[4], &["x[0][0]", "h[0][0]"]),
/// ];
/// let svg = PlotModel { name: "residual", layers: &layers, inputs: &[&[4]], outputs: &[("sum", 0)] }.svg();
/// assert!(svg.contains(r#"<path class="edge" data-from="x" data-to="sum""#));
/// assert!(svg.contains("Input shape: [(None, 4), (None, 4)]"));
/// ```
#[derive(Clone, Copy, Debug)]
pub struct PlotModel<'a> {
    /// The model's name, the picture's title.
    pub name: &'a str,
    /// Its layers in summary order.
    pub layers: &'a [SummaryRow<'a>],
    /// The model's input shapes, for the first layer of a chain (which has no input box).
    pub inputs: &'a [&'a [usize]],
    /// The layer computing each model output, and which of its outputs it is: 0, or `k` for its
    /// `k`-th further output (a final state), whose edge is labelled `[k]`.
    pub outputs: &'a [(&'a str, usize)],
}

// Sizes in SVG pixels. Text is monospace, so its width is known without a font.
const HEADER: f64 = 30.0;
const CELL: f64 = 26.0;
const CALLS: f64 = 22.0;
const PILL: f64 = 24.0;
const PAD: f64 = 10.0;
const GAP_X: f64 = 28.0;
const GAP_Y: f64 = 52.0;
const MARGIN: f64 = 20.0;
const BEND_WIDTH: f64 = 6.0;
const HEADER_FONT: f64 = 14.0;
const CELL_FONT: f64 = 12.0;
/// A monospace character's advance, as a share of its font size.
const ADVANCE: f64 = 0.6;
const FONT: &str = "DejaVu Sans Mono, Menlo, Consolas, monospace";

/// What a node of the layout stands for.
#[derive(Clone, Copy, PartialEq)]
enum Kind {
    Layer(usize),
    /// The end of model output `k`.
    Output(usize),
    /// A point where an edge crosses a rank it skips, so it bends around the boxes there.
    Bend,
}

struct Node {
    kind: Kind,
    rank: usize,
    width: f64,
    height: f64,
    /// Centre.
    x: f64,
    /// Top.
    y: f64,
}

/// A connection between two boxes; `tensor` is the source's output it carries (its states
/// after 0).
struct Edge {
    from: usize,
    to: usize,
    tensor: usize,
    /// The nodes it passes through, `from` and `to` included.
    path: Vec<usize>,
}

struct Layout<'a> {
    model: &'a PlotModel<'a>,
    nodes: Vec<Node>,
    edges: Vec<Edge>,
    /// Each rank's nodes, left to right.
    ranks: Vec<Vec<usize>>,
}

impl<'a> PlotModel<'a> {
    /// The picture as an SVG document.
    pub fn svg(&self) -> String {
        let mut layout = Layout::new(self);
        layout.rank();
        layout.bend();
        layout.order();
        layout.place();
        let mut svg = String::new();
        // Writing into a `String` cannot fail.
        let _ = layout.write(&mut svg);
        svg
    }

    /// `entry` (`name[node][tensor]`) as the index of the layer named and the tensor.
    fn source(&self, entry: &str) -> Option<(usize, usize)> {
        let (rest, tensor) = entry.strip_suffix(']')?.rsplit_once('[')?;
        let (name, _node) = rest.strip_suffix(']')?.rsplit_once('[')?;
        let index = self.layers.iter().position(|l| l.name == name)?;
        Some((index, tensor.parse().ok()?))
    }

    /// Whether the layers are a chain drawn in order: no layer names its inputs.
    fn chain(&self) -> bool {
        self.layers.iter().all(|l| l.inbound.is_empty())
    }

    /// The shapes one call of layer `i` takes; `None` for an input layer.
    fn input_shapes(&self, i: usize, out: &mut Vec<&'a [usize]>) -> Option<()> {
        let layer = &self.layers[i];
        if self.chain() {
            out.push(if i == 0 { self.inputs.first()? } else { self.layers[i - 1].output_shape });
            return Some(());
        }
        let per_call = layer.inbound.len() / layer.calls.max(1);
        for entry in layer.inbound.get(..per_call)? {
            let (from, tensor) = self.source(entry)?;
            let from = &self.layers[from];
            out.push(if tensor == 0 { from.output_shape } else { from.further_outputs.get(tensor - 1)? });
        }
        (!out.is_empty()).then_some(())
    }
}

/// Shapes as Keras prints them: `(None, 4)`, or `[(None, 4), (None, 2)]` for several.
struct Shapes<'a>(&'a [&'a [usize]]);

impl fmt::Display for Shapes<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let several = self.0.len() > 1;
        if several {
            f.write_char('[')?;
        }
        for (k, dims) in self.0.iter().enumerate() {
            f.write_str(if k > 0 { ", (None" } else { "(None" })?;
            for d in *dims {
                write!(f, ", {d}")?;
            }
            f.write_char(')')?;
        }
        if several {
            f.write_char(']')?;
        }
        Ok(())
    }
}

/// The texts of a layer's box.
struct Labels {
    header: String,
    input: Option<String>,
    output: String,
    calls: Option<String>,
}

impl Labels {
    fn of(model: &PlotModel<'_>, i: usize) -> Labels {
        let layer = &model.layers[i];
        let mut shapes = Vec::new();
        let input =
            model.input_shapes(i, &mut shapes).map(|()| alloc::format!("Input shape: {}", Shapes(&shapes)));
        let mut outputs = vec![layer.output_shape];
        outputs.extend_from_slice(layer.further_outputs);
        Labels {
            header: alloc::format!("{} ({})", layer.name, layer.class),
            input: if layer.class == "InputLayer" { None } else { input },
            output: alloc::format!("Output shape: {}", Shapes(&outputs)),
            calls: (layer.calls > 1).then(|| alloc::format!("Called {} times (shared)", layer.calls)),
        }
    }

    fn cell_width(text: &str) -> f64 {
        text.chars().count() as f64 * CELL_FONT * ADVANCE + 2.0 * PAD
    }

    fn width(&self) -> f64 {
        let header = self.header.chars().count() as f64 * HEADER_FONT * ADVANCE + 2.0 * PAD;
        let cells = self.input.as_deref().map_or(0.0, Labels::cell_width) + Labels::cell_width(&self.output);
        let calls = self.calls.as_deref().map_or(0.0, Labels::cell_width);
        header.max(cells).max(calls)
    }

    fn height(&self) -> f64 {
        HEADER + CELL + if self.calls.is_some() { CALLS } else { 0.0 }
    }
}

fn output_label(k: usize) -> String {
    alloc::format!("output {k}")
}

impl<'a> Layout<'a> {
    /// The boxes, output ends and edges, before ranks.
    fn new(model: &'a PlotModel<'a>) -> Layout<'a> {
        let mut nodes: Vec<Node> = (0..model.layers.len())
            .map(|i| {
                let labels = Labels::of(model, i);
                Node {
                    kind: Kind::Layer(i),
                    rank: 0,
                    width: labels.width(),
                    height: labels.height(),
                    x: 0.0,
                    y: 0.0,
                }
            })
            .collect();
        let mut edges: Vec<Edge> = Vec::new();
        let mut connect = |from: usize, to: usize, tensor: usize| {
            // Keras draws one edge between two layers however many calls connect them.
            if !edges.iter().any(|e| e.from == from && e.to == to) {
                edges.push(Edge { from, to, tensor, path: Vec::new() });
            }
        };
        if model.chain() {
            (1..model.layers.len()).for_each(|i| connect(i - 1, i, 0));
        } else {
            for (i, layer) in model.layers.iter().enumerate() {
                for (from, tensor) in layer.inbound.iter().filter_map(|e| model.source(e)) {
                    connect(from, i, tensor);
                }
            }
        }
        for (k, (name, tensor)) in model.outputs.iter().enumerate() {
            if let Some(from) = model.layers.iter().position(|l| l.name == *name) {
                let width = output_label(k).len() as f64 * CELL_FONT * ADVANCE + 2.0 * PAD;
                nodes.push(Node { kind: Kind::Output(k), rank: 0, width, height: PILL, x: 0.0, y: 0.0 });
                connect(from, nodes.len() - 1, *tensor);
            }
        }
        Layout { model, nodes, edges, ranks: Vec::new() }
    }

    /// Ranks by longest path from the inputs; then an input that feeds only later layers moves
    /// down to just above the first of them, as Graphviz would place it. A node left on a cycle
    /// (which the macros refuse) keeps rank 0 rather than looping.
    fn rank(&mut self) {
        let n = self.nodes.len();
        let mut pending: Vec<usize> = vec![0; n];
        self.edges.iter().for_each(|e| pending[e.to] += 1);
        let mut ready: Vec<usize> = (0..n).filter(|&v| pending[v] == 0).collect();
        while let Some(v) = ready.pop() {
            for e in self.edges.iter().filter(|e| e.from == v) {
                self.nodes[e.to].rank = self.nodes[e.to].rank.max(self.nodes[v].rank + 1);
                pending[e.to] -= 1;
                if pending[e.to] == 0 {
                    ready.push(e.to);
                }
            }
        }
        for v in 0..n {
            let first_use = self.edges.iter().filter(|e| e.from == v).map(|e| self.nodes[e.to].rank).min();
            if let (false, Some(rank)) = (self.edges.iter().any(|e| e.to == v), first_use) {
                self.nodes[v].rank = rank.saturating_sub(1);
            }
        }
    }

    /// Splits every edge that skips ranks with a bend node in each rank it crosses.
    fn bend(&mut self) {
        for e in 0..self.edges.len() {
            let (from, to) = (self.edges[e].from, self.edges[e].to);
            let mut path = vec![from];
            for rank in self.nodes[from].rank + 1..self.nodes[to].rank {
                self.nodes.push(Node {
                    kind: Kind::Bend,
                    rank,
                    width: BEND_WIDTH,
                    height: 0.0,
                    x: 0.0,
                    y: 0.0,
                });
                path.push(self.nodes.len() - 1);
            }
            path.push(to);
            self.edges[e].path = path;
        }
        let ranks = self.nodes.iter().map(|n| n.rank + 1).max().unwrap_or(0);
        self.ranks = vec![Vec::new(); ranks];
        for (v, node) in self.nodes.iter().enumerate() {
            self.ranks[node.rank].push(v);
        }
    }

    /// Every pair of consecutive nodes on an edge's path: the segments between adjacent ranks.
    fn segments(&self) -> impl Iterator<Item = (usize, usize)> + '_ {
        self.edges.iter().flat_map(|e| e.path.windows(2).map(|w| (w[0], w[1])))
    }

    /// Orders each rank by the barycentre of its neighbours in the rank above, then below,
    /// keeping the ordering with the fewest crossings.
    fn order(&mut self) {
        let mut best = (self.crossings(), self.ranks.clone());
        for sweep in 0..12 {
            let down = sweep % 2 == 0;
            for r in 0..self.ranks.len() {
                let r = if down { r } else { self.ranks.len() - 1 - r };
                let position = self.positions();
                let mut keyed: Vec<(f64, usize)> = self.ranks[r]
                    .iter()
                    .enumerate()
                    .map(|(at, &v)| {
                        let (sum, count) = self
                            .segments()
                            .filter_map(|(a, b)| match down {
                                true if b == v => Some(position[a]),
                                false if a == v => Some(position[b]),
                                _ => None,
                            })
                            .fold((0.0, 0), |(s, c), p| (s + p as f64, c + 1));
                        (if count == 0 { at as f64 } else { sum / count as f64 }, v)
                    })
                    .collect();
                keyed.sort_by(|a, b| a.0.total_cmp(&b.0));
                self.ranks[r] = keyed.into_iter().map(|(_, v)| v).collect();
            }
            let crossings = self.crossings();
            if crossings < best.0 {
                best = (crossings, self.ranks.clone());
            }
        }
        self.ranks = best.1;
    }

    /// Each node's place in its rank.
    fn positions(&self) -> Vec<usize> {
        let mut position = vec![0; self.nodes.len()];
        for rank in &self.ranks {
            rank.iter().enumerate().for_each(|(at, &v)| position[v] = at);
        }
        position
    }

    fn crossings(&self) -> usize {
        let position = self.positions();
        let segments: Vec<(usize, usize, usize)> =
            self.segments().map(|(a, b)| (self.nodes[a].rank, position[a], position[b])).collect();
        let mut count = 0;
        for (k, &(rank, a, b)) in segments.iter().enumerate() {
            count += segments[k + 1..]
                .iter()
                .filter(|&&(r, c, d)| r == rank && (a < c) != (b < d) && a != c && b != d)
                .count();
        }
        count
    }

    /// Centres each node over its neighbours as far as the gaps allow: down the ranks toward
    /// the nodes above, up toward the nodes below, then both; then the rows' tops.
    fn place(&mut self) {
        for r in 0..self.ranks.len() {
            let mut x = 0.0;
            for &v in &self.ranks[r] {
                self.nodes[v].x = x + self.nodes[v].width / 2.0;
                x += self.nodes[v].width + GAP_X;
            }
        }
        for _ in 0..8 {
            (1..self.ranks.len()).for_each(|r| self.centre(r, true, false));
            (0..self.ranks.len().saturating_sub(1)).rev().for_each(|r| self.centre(r, false, true));
        }
        (0..self.ranks.len()).for_each(|r| self.centre(r, true, true));
        let left = self.nodes.iter().map(|n| n.x - n.width / 2.0).fold(f64::INFINITY, f64::min);
        self.nodes.iter_mut().for_each(|n| n.x += MARGIN - left);
        let mut top = MARGIN;
        for rank in &self.ranks {
            let height = rank.iter().map(|&v| self.nodes[v].height).fold(0.0, f64::max);
            for &v in rank {
                self.nodes[v].y = top + (height - self.nodes[v].height) / 2.0;
            }
            top += height + GAP_Y;
        }
    }

    /// Moves rank `r`'s nodes toward the mean centre of their neighbours in the rank `above`
    /// and/or `below`, keeping their order and gaps: the closest such placement, by isotonic
    /// regression (pool adjacent violators) on the centres less the gaps before them.
    fn centre(&mut self, r: usize, above: bool, below: bool) {
        let rank = &self.ranks[r];
        let mut offset = 0.0;
        let mut targets = Vec::with_capacity(rank.len());
        for (at, &v) in rank.iter().enumerate() {
            if at > 0 {
                offset += (self.nodes[rank[at - 1]].width + self.nodes[v].width) / 2.0 + GAP_X;
            }
            let (sum, count) = self
                .segments()
                .filter_map(|(a, b)| match (above && b == v, below && a == v) {
                    (true, _) => Some(self.nodes[a].x),
                    (_, true) => Some(self.nodes[b].x),
                    _ => None,
                })
                .fold((0.0, 0), |(s, c), x| (s + x, c + 1));
            let want = if count == 0 { self.nodes[v].x } else { sum / count as f64 };
            targets.push((want - offset, offset));
        }
        // Blocks of (sum, count) whose means never decrease left to right.
        let mut blocks: Vec<(f64, f64, usize)> = Vec::new();
        for &(target, _) in &targets {
            blocks.push((target, 1.0, 1));
            while blocks.len() > 1 {
                let (s, c, n) = blocks[blocks.len() - 1];
                let (ps, pc, pn) = blocks[blocks.len() - 2];
                if ps / pc <= s / c {
                    break;
                }
                blocks.pop();
                let last = blocks.len() - 1;
                blocks[last] = (ps + s, pc + c, pn + n);
            }
        }
        let mut at = 0;
        for (s, c, n) in blocks {
            for _ in 0..n {
                self.nodes[self.ranks[r][at]].x = s / c + targets[at].1;
                at += 1;
            }
        }
    }
}

/// Text made safe inside an SVG element or attribute.
struct Escaped<'a>(&'a str);

impl fmt::Display for Escaped<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for c in self.0.chars() {
            match c {
                '&' => f.write_str("&amp;")?,
                '<' => f.write_str("&lt;")?,
                '>' => f.write_str("&gt;")?,
                '"' => f.write_str("&quot;")?,
                '\'' => f.write_str("&apos;")?,
                c => f.write_char(c)?,
            }
        }
        Ok(())
    }
}

impl Layout<'_> {
    fn write(&self, f: &mut impl Write) -> fmt::Result {
        let width = self.nodes.iter().map(|n| n.x + n.width / 2.0).fold(0.0, f64::max) + MARGIN;
        let height = self.nodes.iter().map(|n| n.y + n.height).fold(0.0, f64::max) + MARGIN;
        writeln!(
            f,
            r#"<svg xmlns="http://www.w3.org/2000/svg" width="{width:.0}" height="{height:.0}" viewBox="0 0 {width:.0} {height:.0}" font-family="{FONT}">"#
        )?;
        writeln!(f, "<title>{}</title>", Escaped(self.model.name))?;
        writeln!(
            f,
            r#"<defs><marker id="arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" orient="auto"><path d="M0,0 L10,5 L0,10 z"/></marker></defs>"#
        )?;
        writeln!(f, r#"<rect width="100%" height="100%" fill="white"/>"#)?;
        for e in 0..self.edges.len() {
            self.write_edge(f, e)?;
        }
        for node in &self.nodes {
            match node.kind {
                Kind::Layer(i) => self.write_layer(f, node, i)?,
                Kind::Output(k) => write_output(f, node, k, self.model.outputs[k].0)?,
                Kind::Bend => {}
            }
        }
        writeln!(f, "</svg>")
    }

    /// Where edge `e` leaves its source's bottom and enters its target's top: spread along the
    /// side in the order of the nodes at the other end, so that edges into a merge do not meet.
    fn port(&self, e: usize, outgoing: bool) -> f64 {
        let end = |edge: &Edge| if outgoing { edge.from } else { edge.to };
        let neighbour =
            |edge: &Edge| self.nodes[if outgoing { edge.path[1] } else { edge.path[edge.path.len() - 2] }].x;
        let node = end(&self.edges[e]);
        let mut others: Vec<(f64, usize)> = self
            .edges
            .iter()
            .enumerate()
            .filter(|(_, edge)| end(edge) == node)
            .map(|(i, edge)| (neighbour(edge), i))
            .collect();
        others.sort_by(|a, b| a.0.total_cmp(&b.0));
        let at = others.iter().position(|&(_, i)| i == e).unwrap_or(0);
        let n = &self.nodes[node];
        let span = (n.width - 2.0 * PAD).min(24.0 * others.len() as f64);
        n.x - span / 2.0 + span * (at as f64 + 0.5) / others.len() as f64
    }

    fn write_edge(&self, f: &mut impl Write, e: usize) -> fmt::Result {
        let edge = &self.edges[e];
        let (from, to) = (&self.model.layers[edge.from], &self.nodes[edge.to]);
        let to_name = match to.kind {
            Kind::Layer(i) => self.model.layers[i].name,
            Kind::Output(k) => self.model.outputs[k].0,
            Kind::Bend => "",
        };
        let source = &self.nodes[edge.from];
        let (mut x, mut y) = (self.port(e, true), source.y + source.height);
        write!(f, r#"<path class="edge" data-from="{}" data-to="{}""#, Escaped(from.name), Escaped(to_name))?;
        if matches!(to.kind, Kind::Output(_)) {
            write!(f, r#" data-output="true""#)?;
        }
        write!(f, r#" d="M{x:.1},{y:.1}"#)?;
        for (k, &v) in edge.path.iter().enumerate().skip(1) {
            let node = &self.nodes[v];
            let last = k == edge.path.len() - 1;
            let tx = if last { self.port(e, false) } else { node.x };
            let ty = node.y - if last { 2.0 } else { 0.0 };
            let mid = (y + ty) / 2.0;
            write!(f, " C{x:.1},{mid:.1} {tx:.1},{mid:.1} {tx:.1},{ty:.1}")?;
            (x, y) = (tx, ty);
            if !last {
                // Straight down through the row the edge skips.
                y = ty + self.ranks[node.rank].iter().map(|&v| self.nodes[v].height).fold(0.0, f64::max);
                write!(f, " L{x:.1},{y:.1}")?;
            }
        }
        writeln!(f, r#"" fill="none" stroke="black" stroke-width="2" marker-end="url(#arrow)"/>"#)?;
        if edge.tensor > 0 {
            // Beside the arrowhead, where the edge is straight and alone.
            writeln!(
                f,
                r#"<text x="{:.1}" y="{:.1}" font-size="11">[{}]</text>"#,
                x + 7.0,
                y - 6.0,
                edge.tensor
            )?;
        }
        Ok(())
    }

    fn write_layer(&self, f: &mut impl Write, node: &Node, i: usize) -> fmt::Result {
        let labels = Labels::of(self.model, i);
        let layer = &self.model.layers[i];
        let (left, top, w) = (node.x - node.width / 2.0, node.y, node.width);
        writeln!(
            f,
            r#"<g class="layer" data-name="{}" data-class="{}">"#,
            Escaped(layer.name),
            Escaped(layer.class)
        )?;
        writeln!(
            f,
            r#"<rect x="{left:.1}" y="{top:.1}" width="{w:.1}" height="{:.1}" fill="black"/>"#,
            node.height
        )?;
        writeln!(
            f,
            r#"<text x="{:.1}" y="{:.1}" font-size="{HEADER_FONT}" fill="white" text-anchor="middle"><tspan font-weight="bold">{}</tspan> ({})</text>"#,
            node.x,
            top + HEADER / 2.0 + HEADER_FONT * 0.35,
            Escaped(layer.name),
            Escaped(layer.class)
        )?;
        let row = top + HEADER;
        let input_width = labels.input.as_deref().map_or(0.0, Labels::cell_width);
        let scale = (w - 2.0) / (input_width + Labels::cell_width(&labels.output));
        let mut x = left + 1.0;
        for text in labels.input.iter().chain(core::iter::once(&labels.output)) {
            let cell = Labels::cell_width(text) * scale;
            cell_with_text(f, x, row, cell, CELL - 1.0, text)?;
            x += cell;
        }
        if let Some(calls) = &labels.calls {
            cell_with_text(f, left + 1.0, row + CELL, w - 2.0, CALLS - 1.0, calls)?;
        }
        writeln!(f, "</g>")
    }
}

/// A white cell inside a box, its text centred.
fn cell_with_text(f: &mut impl Write, x: f64, y: f64, w: f64, h: f64, text: &str) -> fmt::Result {
    writeln!(
        f,
        r#"<rect x="{x:.1}" y="{y:.1}" width="{w:.1}" height="{h:.1}" fill="white" stroke="black" stroke-width="1"/>"#
    )?;
    writeln!(
        f,
        r#"<text x="{:.1}" y="{:.1}" font-size="{CELL_FONT}" text-anchor="middle">{}</text>"#,
        x + w / 2.0,
        y + h / 2.0 + CELL_FONT * 0.35,
        Escaped(text)
    )
}

fn write_output(f: &mut impl Write, node: &Node, k: usize, layer: &str) -> fmt::Result {
    let (left, top) = (node.x - node.width / 2.0, node.y);
    writeln!(f, r#"<g class="output" data-index="{k}" data-layer="{}">"#, Escaped(layer))?;
    writeln!(
        f,
        r#"<rect x="{left:.1}" y="{top:.1}" width="{:.1}" height="{PILL:.1}" rx="{:.1}" fill="white" stroke="black" stroke-width="2"/>"#,
        node.width,
        PILL / 2.0
    )?;
    writeln!(
        f,
        r#"<text x="{:.1}" y="{:.1}" font-size="{CELL_FONT}" text-anchor="middle">{}</text>"#,
        node.x,
        top + PILL / 2.0 + CELL_FONT * 0.35,
        output_label(k)
    )?;
    writeln!(f, "</g>")
}
