//! Keras 3's summary table (`keras/src/utils/summary_utils.py`, drawn by `rich`), rendered
//! without allocating.

use super::Summary;
use core::fmt::{self, Write};

/// Column widths between borders and alignments, as Keras sizes them on its default line length:
/// 88 columns for a chain of layers, 108 with the "Connected to" column.
const CHAIN: &[(usize, Align)] = &[(38, Align::Left), (29, Align::Left), (17, Align::Right)];
const GRAPH: &[(usize, Align)] =
    &[(31, Align::Left), (27, Align::Left), (17, Align::Right), (28, Align::Left)];

#[derive(Clone, Copy)]
enum Align {
    Left,
    Right,
}

impl fmt::Display for Summary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let totals = SummaryTotals {
            params: self.params,
            non_trainable: self.non_trainable,
            bytes_per_param: self.bytes_per_param,
        };
        summary_table(f, self.name, self.connections, self.layers.iter().map(SummaryRow::from), totals)
    }
}

/// What Keras's summary table (and the model's picture) shows of one layer, borrowed:
/// [`LayerInfo`](super::LayerInfo)'s columns for a model known only at run time (the `nn`
/// command line's), which [`summary_table`] draws as `summary()` does.
#[derive(Clone, Copy, Debug)]
pub struct SummaryRow<'a> {
    /// The layer's name.
    pub name: &'a str,
    /// Keras's class name.
    pub class: &'a str,
    /// Output shape without the batch axis.
    pub output_shape: &'a [usize],
    /// The shapes of its further outputs.
    pub further_outputs: &'a [&'a [usize]],
    /// Number of weights.
    pub params: usize,
    /// Keras's "Connected to" entries.
    pub inbound: &'a [&'a str],
    /// How many times the model calls it: more than once for a shared layer.
    pub calls: usize,
}

impl<'a> From<&'a super::LayerInfo> for SummaryRow<'a> {
    fn from(l: &'a super::LayerInfo) -> Self {
        SummaryRow {
            name: l.name,
            class: l.class,
            output_shape: l.output_shape,
            further_outputs: l.further_outputs,
            params: l.params,
            inbound: l.inbound,
            calls: l.calls,
        }
    }
}

/// The totals under Keras's summary table.
#[derive(Clone, Copy, Debug)]
pub struct SummaryTotals {
    /// Total number of weights.
    pub params: usize,
    /// How many of them are not trained.
    pub non_trainable: usize,
    /// `size_of` the element type, for the byte totals.
    pub bytes_per_param: usize,
}

/// Keras 3's summary table of the model `name`, one row per layer, with the "Connected to"
/// column if `connections`: what [`Summary`] displays, for rows from anywhere.
pub fn summary_table<'a>(
    f: &mut impl Write,
    name: &str,
    connections: bool,
    rows: impl Iterator<Item = SummaryRow<'a>>,
    totals: SummaryTotals,
) -> fmt::Result {
    let columns = if connections { GRAPH } else { CHAIN };
    writeln!(f, "Model: \"{name}\"")?;
    rule(f, columns, ['┏', '━', '┳', '┓'])?;
    let header = ["Layer (type)", "Output Shape", "Param #", "Connected to"];
    row(f, columns, '┃', &header[..columns.len()])?;
    rule(f, columns, ['┡', '━', '╇', '┩'])?;
    for (i, layer) in rows.enumerate() {
        if i > 0 {
            rule(f, columns, ['├', '─', '┼', '┤'])?;
        }
        let mut name = Cell::new();
        write!(name, "{} ({})", layer.name, layer.class)?;
        // Several outputs as Keras lists them: `[(None, 5, 4), (None, 5, 5)]`.
        let mut shape = Cell::new();
        let several = !layer.further_outputs.is_empty();
        if several {
            shape.write_char('[')?;
        }
        for (k, dims) in
            core::iter::once(layer.output_shape).chain(layer.further_outputs.iter().copied()).enumerate()
        {
            if k > 0 {
                shape.write_str(", ")?;
            }
            write!(shape, "(None")?;
            for d in dims {
                write!(shape, ", {d}")?;
            }
            write!(shape, ")")?;
        }
        if several {
            shape.write_char(']')?;
        }
        let mut params = Cell::new();
        write!(params, "{}", Thousands(layer.params))?;
        let mut inbound = Cell::new();
        if layer.inbound.is_empty() {
            inbound.write_str("-")?;
        }
        for (k, entry) in layer.inbound.iter().enumerate() {
            if k > 0 {
                inbound.write_str(", ")?;
            }
            inbound.write_str(entry)?;
        }
        let cells = [name.as_str(), shape.as_str(), params.as_str(), inbound.as_str()];
        row(f, columns, '│', &cells[..columns.len()])?;
    }
    rule(f, columns, ['└', '─', '┴', '┘'])?;
    let (total, fixed) = (totals.params, totals.non_trainable);
    let bytes = |n: usize| Bytes(n * totals.bytes_per_param);
    writeln!(f, " Total params: {} ({})", Thousands(total), bytes(total))?;
    writeln!(f, " Trainable params: {} ({})", Thousands(total - fixed), bytes(total - fixed))?;
    writeln!(f, " Non-trainable params: {} ({})", Thousands(fixed), bytes(fixed))
}

fn rule(f: &mut impl Write, columns: &[(usize, Align)], [left, fill, join, right]: [char; 4]) -> fmt::Result {
    f.write_char(left)?;
    for (i, (width, _)) in columns.iter().enumerate() {
        if i > 0 {
            f.write_char(join)?;
        }
        for _ in 0..*width {
            f.write_char(fill)?;
        }
    }
    f.write_char(right)?;
    f.write_char('\n')
}

/// One row, wrapping each cell at spaces to its column as rich does; as many lines as the
/// tallest cell needs.
fn row(f: &mut impl Write, columns: &[(usize, Align)], border: char, cells: &[&str]) -> fmt::Result {
    let mut rest: [&str; 4] = [""; 4];
    rest[..cells.len()].copy_from_slice(cells);
    loop {
        f.write_char(border)?;
        for (cell, (width, align)) in rest.iter_mut().zip(columns) {
            let inner = width - 2;
            let (line, tail, cut) = wrap(cell, inner);
            *cell = tail;
            // A word cut short ends in rich's ellipsis, in the last place the column has.
            let (pad, mark) = if cut { (inner - 1, "…") } else { (inner, "") };
            match align {
                Align::Left => write!(f, " {line}{mark}{:<1$} ", "", pad - line.chars().count())?,
                Align::Right => write!(f, " {:<1$}{line}{mark} ", "", pad - line.chars().count())?,
            }
            f.write_char(border)?;
        }
        f.write_char('\n')?;
        if rest.iter().all(|c| c.is_empty()) {
            return Ok(());
        }
    }
}

/// The first line of `text` at most `width` characters wide, broken at the last space that
/// fits, and what is left after it. A first word longer than the line is cut, as rich's
/// default `overflow="ellipsis"` cuts it: its first `width - 1` characters, `true` (for the
/// ellipsis that ends the line), and the text after that word.
fn wrap(text: &str, width: usize) -> (&str, &str, bool) {
    let text = text.trim_start_matches(' ');
    if text.chars().count() <= width {
        return (text, "", false);
    }
    let mut space = None;
    let mut hard = text.len();
    for (count, (byte, c)) in text.char_indices().enumerate() {
        if count == width {
            hard = byte;
            if c == ' ' {
                space = Some(byte);
            }
            break;
        }
        if c == ' ' && count > 0 {
            space = Some(byte);
        }
    }
    match space {
        Some(byte) => (&text[..byte], &text[byte + 1..], false),
        None => {
            let keep = text.char_indices().nth(width.saturating_sub(1)).map_or(hard, |(byte, _)| byte);
            let word_end = text[hard..].find(' ').map_or(text.len(), |i| hard + i);
            (&text[..keep], &text[word_end..], true)
        }
    }
}

/// A count with Keras's thousands separators (`109,386`), as the summary prints counts.
#[derive(Clone, Copy, Debug)]
pub struct Thousands(pub usize);

impl fmt::Display for Thousands {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut digits = Cell::new();
        write!(digits, "{}", self.0)?;
        let s = digits.as_str();
        for (i, c) in s.chars().enumerate() {
            if i > 0 && (s.len() - i).is_multiple_of(3) {
                f.write_char(',')?;
            }
            f.write_char(c)?;
        }
        Ok(())
    }
}

/// A byte count as Keras's `readable_memory_size` prints it: base 1024, two decimals
/// (`344.00 B`, `1.25 KB`).
#[derive(Clone, Copy, Debug)]
pub struct Bytes(pub usize);

impl fmt::Display for Bytes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut size = self.0 as f64;
        for unit in ["B", "KB", "MB", "GB", "TB"] {
            if size < 1024.0 {
                return write!(f, "{size:.2} {unit}");
            }
            size /= 1024.0;
        }
        write!(f, "{size:.2} PB")
    }
}

/// A fixed-capacity string, so the summary renders without allocating (and without `std`).
/// Text beyond its capacity is dropped at a character boundary rather than failing the summary.
struct Cell {
    buf: [u8; 1024],
    len: usize,
}

impl Cell {
    fn new() -> Self {
        Cell { buf: [0; 1024], len: 0 }
    }

    fn as_str(&self) -> &str {
        // Only whole characters are ever appended, so the prefix is valid UTF-8.
        core::str::from_utf8(&self.buf[..self.len]).unwrap_or("")
    }
}

impl Write for Cell {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        for c in s.chars() {
            let mut utf8 = [0; 4];
            let bytes = c.encode_utf8(&mut utf8).as_bytes();
            let Some(dst) = self.buf.get_mut(self.len..self.len + bytes.len()) else { return Ok(()) };
            dst.copy_from_slice(bytes);
            self.len += bytes.len();
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::wrap;

    #[test]
    fn wraps_at_the_last_space_that_fits() {
        assert_eq!(
            wrap("input_layer[0][0], dense_1[0][0]", 26),
            ("input_layer[0][0],", "dense_1[0][0]", false)
        );
        assert_eq!(wrap("shared[0][0], shared[1][0]", 26), ("shared[0][0], shared[1][0]", "", false));
    }

    /// As rich's `Text.wrap(width, overflow="ellipsis")` gives them (checked in Python):
    /// `['layer_normalization_1[0][…']`, `['abc ', 'defghijkl…', 'xy']`.
    #[test]
    fn cuts_a_word_longer_than_the_line_as_rich_does() {
        assert_eq!(wrap("layer_normalization_1[0][0]", 26), ("layer_normalization_1[0][", "", true));
        assert_eq!(
            wrap("abc defghijklmnopqrstuvwxyz0123 xy", 10),
            ("abc", "defghijklmnopqrstuvwxyz0123 xy", false)
        );
        assert_eq!(wrap("defghijklmnopqrstuvwxyz0123 xy", 10), ("defghijkl", " xy", true));
        assert_eq!(wrap(" xy", 10), ("xy", "", false));
    }
}
