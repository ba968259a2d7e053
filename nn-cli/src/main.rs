//! `nn`: what nn makes of a Keras model, from the command line.
//!
//! `nn inspect model.keras` prints Keras's summary of the model and whether `keras_model!`
//! compiles it, with every reason it would not, in the macro's words (the same pipeline,
//! `nn-dsl`, reads and checks it); its exit status is 0 only when the model compiles.

use clap::{Parser, Subcommand};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

#[derive(Parser)]
#[command(name = "nn", version, about = "What nn makes of a Keras model: can it run it, and how big is it")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Keras's summary of a `.keras` model and whether `keras_model!` compiles it, with every
    /// reason it would not; exit status 0 only when it does.
    Inspect {
        /// The `.keras` file (Keras 3's archive).
        model: PathBuf,
    },
}

/// Exit status for a file that cannot be read or is no Keras model at all (clap uses 2 for a
/// usage error).
const UNREADABLE: u8 = 2;

fn main() -> ExitCode {
    match Cli::parse().command {
        Command::Inspect { model } => inspect(&model),
    }
}

/// `1234567` as `1,234,567`, as Keras's summary writes counts.
fn thousands(n: usize) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// A size as Keras's summary writes one: `344.00 B`, `1.25 KB`, `3.10 MB`.
fn size(bytes: usize) -> String {
    let mut value = bytes as f64;
    for unit in ["B", "KB", "MB"] {
        if value < 1024.0 {
            return format!("{value:.2} {unit}");
        }
        value /= 1024.0;
    }
    format!("{value:.2} GB")
}

fn inspect(path: &Path) -> ExitCode {
    let bytes = match std::fs::read(path) {
        Ok(bytes) => bytes,
        Err(e) => {
            eprintln!("error: cannot read `{}`: {e}", path.display());
            return ExitCode::from(UNREADABLE);
        }
    };
    let report = nn_dsl::inspect::keras_archive(&bytes);
    if !report.layers.is_empty() {
        print!("{}", report.summary(4));
    }
    if let Some(costs) = report.costs {
        println!(" Multiply-accumulates per sample: {}", thousands(costs.macs));
        println!(
            " Activations of one predict: {} values ({} of f32), each layer's output in a local of its own",
            thousands(costs.values),
            size(costs.values.saturating_mul(4))
        );
    }
    if !report.layers.is_empty() {
        println!();
    }
    if report.supported() {
        println!("nn compiles this model: keras_model! {{ pub struct Model = \"{}\"; }}", path.display());
        return ExitCode::SUCCESS;
    }
    println!("nn cannot compile this model:");
    for error in &report.errors {
        println!("  - {error}");
    }
    ExitCode::FAILURE
}
