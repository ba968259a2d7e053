//! Keras 3's summary table (`keras/src/utils/summary_utils.py`, drawn by `rich`).

use super::Summary;
use core::fmt::{self, Write};

/// Widths of the three columns between their borders, as Keras draws a Sequential model on an 88-column
/// console (its default `line_length`).
const WIDTHS: [usize; 3] = [38, 29, 17];

impl fmt::Display for Summary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "Model: \"{}\"", self.name)?;
        rule(f, ['┏', '━', '┳', '┓'])?;
        row(f, '┃', &["Layer (type)", "Output Shape", "Param #"])?;
        rule(f, ['┡', '━', '╇', '┩'])?;
        for (i, layer) in self.layers.iter().enumerate() {
            if i > 0 {
                rule(f, ['├', '─', '┼', '┤'])?;
            }
            let mut name = Cell::new();
            write!(name, "{} ({})", layer.name, layer.class)?;
            let mut shape = Cell::new();
            write!(shape, "(None")?;
            for d in layer.output_shape {
                write!(shape, ", {d}")?;
            }
            write!(shape, ")")?;
            let mut params = Cell::new();
            write!(params, "{}", Thousands(layer.params))?;
            row(f, '│', &[name.as_str(), shape.as_str(), params.as_str()])?;
        }
        rule(f, ['└', '─', '┴', '┘'])?;
        let bytes = self.params * self.bytes_per_param;
        writeln!(
            f,
            " Total params: {} ({})",
            Thousands(self.params),
            Bytes(bytes)
        )?;
        writeln!(
            f,
            " Trainable params: {} ({})",
            Thousands(self.params),
            Bytes(bytes)
        )?;
        writeln!(f, " Non-trainable params: 0 ({})", Bytes(0))
    }
}

fn rule(f: &mut fmt::Formatter<'_>, [left, fill, join, right]: [char; 4]) -> fmt::Result {
    f.write_char(left)?;
    for (i, width) in WIDTHS.iter().enumerate() {
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

/// One row; the last column (the parameter count) is right-aligned as Keras does.
fn row(f: &mut fmt::Formatter<'_>, border: char, cells: &[&str; 3]) -> fmt::Result {
    f.write_char(border)?;
    for (i, (cell, width)) in cells.iter().zip(WIDTHS).enumerate() {
        let inner = width - 2;
        if i + 1 == cells.len() {
            write!(f, " {cell:>inner$} ")?;
        } else {
            write!(f, " {cell:<inner$} ")?;
        }
        f.write_char(border)?;
    }
    f.write_char('\n')
}

/// A count with Keras's thousands separators (`109,386`).
struct Thousands(usize);

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

/// A byte count as Keras's `readable_memory_size` prints it: base 1024, two decimals.
struct Bytes(usize);

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
struct Cell {
    buf: [u8; 96],
    len: usize,
}

impl Cell {
    fn new() -> Self {
        Cell {
            buf: [0; 96],
            len: 0,
        }
    }

    fn as_str(&self) -> &str {
        // Only whole `&str`s are ever appended, so the prefix is valid UTF-8.
        core::str::from_utf8(&self.buf[..self.len]).unwrap_or("")
    }
}

impl Write for Cell {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        let end = self.len + s.len();
        let dst = self.buf.get_mut(self.len..end).ok_or(fmt::Error)?;
        dst.copy_from_slice(s.as_bytes());
        self.len = end;
        Ok(())
    }
}
