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
