//! `nn`: what nn makes of a Keras model, from the command line.
//!
//! `nn inspect model.keras` prints Keras's summary of the model and whether `keras_model!`
//! compiles it, with every reason it would not, in the macro's words (the same pipeline,
//! `nn-dsl`, reads and checks it); its exit status is 0 only when the model compiles.
//! `nn dsl model.keras` prints the model as `sequential!` or `functional!` source.

use clap::{Parser, Subcommand};
use nn_core::{Bytes, Thousands};
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
    /// The model as `sequential!` or `functional!` source, ready to paste and edit: it compiles
    /// to the model `keras_model!` makes of the file (the weights stay in the file: `load_keras`).
    Dsl {
        /// The `.keras` file (Keras 3's archive).
        model: PathBuf,
        /// The model type's name [default: the file's name in CamelCase].
        #[arg(long)]
        name: Option<String>,
    },
}

/// Exit status for a file that cannot be read or is no Keras model at all (clap uses 2 for a
/// usage error).
const UNREADABLE: u8 = 2;

fn main() -> ExitCode {
    match Cli::parse().command {
        Command::Inspect { model } => inspect(&model),
        Command::Dsl { model, name } => dsl(&model, name),
    }
}

/// The file's bytes, or the error printed.
fn read(path: &Path) -> Result<Vec<u8>, ExitCode> {
    std::fs::read(path).map_err(|e| {
        eprintln!("error: cannot read `{}`: {e}", path.display());
        ExitCode::from(UNREADABLE)
    })
}

/// `xor.keras` → `Xor`, `kws_cnn.keras` → `KwsCnn`.
fn type_name(path: &Path) -> String {
    nn_dsl::inspect::type_name(path.file_stem().and_then(|s| s.to_str()).unwrap_or("model"))
}

fn dsl(path: &Path, name: Option<String>) -> ExitCode {
    let bytes = match read(path) {
        Ok(bytes) => bytes,
        Err(code) => return code,
    };
    match nn_dsl::inspect::keras_source(&bytes, &name.unwrap_or_else(|| type_name(path))) {
        Ok(source) => {
            print!("{source}");
            ExitCode::SUCCESS
        }
        Err(errors) => {
            eprintln!("error: nn cannot compile this model:");
            for error in &errors {
                eprintln!("  - {error}");
            }
            ExitCode::FAILURE
        }
    }
}

fn inspect(path: &Path) -> ExitCode {
    let bytes = match read(path) {
        Ok(bytes) => bytes,
        Err(code) => return code,
    };
    let report = nn_dsl::inspect::keras_archive(&bytes);
    if !report.layers.is_empty() {
        print!("{}", report.summary(4));
    }
    if let Some(costs) = report.costs {
        println!(" Multiply-accumulates per sample: {}", Thousands(costs.macs));
        println!(
            " Activations of one predict: {} values ({} of f32), each layer's output in a local of its own",
            Thousands(costs.values),
            Bytes(costs.values.saturating_mul(4))
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
