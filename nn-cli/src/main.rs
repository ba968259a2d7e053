//! `nn`: what nn makes of a Keras model, from the command line.
//!
//! `nn inspect model.keras` prints Keras's summary of the model and whether `keras_model!`
//! compiles it, with every reason it would not, in the macro's words (the same pipeline,
//! `nn-dsl`, reads and checks it); its exit status is 0 only when the model compiles.
//! `nn dsl model.keras` prints the model as `sequential!` or `functional!` source.
//! `nn plot model.keras -o model.svg` draws it as Keras's `plot_model(show_shapes=True)` does.
//! `nn convert in out` writes a model's weights in another format.

mod convert;

use clap::{Parser, Subcommand};
use nn_core::{Bytes, Thousands};
use nn_dsl::inspect::Inspection;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

#[derive(Parser)]
#[command(
    name = "nn",
    version,
    about = "What nn makes of a Keras model: whether it runs it, its cost, its source, its picture, its weights"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Whether nn compiles a `.keras` model, with Keras's summary and its cost
    ///
    /// Keras's summary table, the multiply-accumulates and activation memory of one sample, and
    /// whether `keras_model!` compiles the model, with every reason it would not in the macro's
    /// words. Exit status 0 only when it compiles, 1 when nn refuses it, 2 for a file that is
    /// no Keras model.
    Inspect {
        /// The `.keras` file (Keras 3's archive).
        model: PathBuf,
    },
    /// The model as `sequential!` or `functional!` source, to paste and edit
    ///
    /// It compiles to the model `keras_model!` makes of the file; options the model's code does
    /// not depend on are left out. The weights stay in the file (`load_keras`).
    Dsl {
        /// The `.keras` file (Keras 3's archive).
        model: PathBuf,
        /// The model type's name [default: the file's name in CamelCase].
        #[arg(long)]
        name: Option<String>,
    },
    /// The model drawn as SVG, as Keras's `plot_model(show_shapes=True)` draws it
    ///
    /// A box per layer with its name, class and shapes, an arrow per connection, one box for a
    /// shared layer, an end per output: the same picture as the compiled model's `plot_svg()`.
    Plot {
        /// The `.keras` file (Keras 3's archive).
        model: PathBuf,
        /// Where to write the SVG [default: standard output].
        #[arg(short, long)]
        output: Option<PathBuf>,
    },
    /// A model's weights from one file format to another, checked against the model
    ///
    /// `.keras`, `.weights.h5` (Keras 3), `.safetensors` (tensors named `dense/kernel`) or
    /// `.nnw` (nn's raw format, for `include_bytes!`), told apart by the files' names. Every
    /// weight must be in the input with the model's shape, and nothing else.
    Convert {
        /// The weights to read.
        input: PathBuf,
        /// Where to write them; a `.keras` output is the model's archive with these weights.
        output: PathBuf,
        /// The `.keras` model the weights belong to [default: the input, if it is one].
        #[arg(long)]
        model: Option<PathBuf>,
    },
}

/// Exit status for a file that cannot be read or is no Keras model at all (clap uses 2 for a
/// usage error).
const FILE_ERROR: u8 = 2;

fn main() -> ExitCode {
    match Cli::parse().command {
        Command::Inspect { model } => inspect(&model),
        Command::Dsl { model, name } => dsl(&model, name),
        Command::Plot { model, output } => plot(&model, output.as_deref()),
        Command::Convert { input, output, model } => convert(&input, &output, model.as_deref()),
    }
}

/// The file's bytes, or the error printed.
fn read(path: &Path) -> Result<Vec<u8>, ExitCode> {
    std::fs::read(path).map_err(|e| {
        eprintln!("error: cannot read `{}`: {e}", path.display());
        ExitCode::from(FILE_ERROR)
    })
}

/// The file's bytes and what nn makes of the model in them, or the error printed.
fn load(path: &Path) -> Result<(Vec<u8>, Inspection), ExitCode> {
    let bytes = read(path)?;
    match nn_dsl::inspect::keras_archive(&bytes) {
        Ok(report) => Ok((bytes, report)),
        Err(why) => {
            eprintln!("error: `{}` is no Keras model: {why}", path.display());
            Err(ExitCode::from(FILE_ERROR))
        }
    }
}

/// `xor.keras` → `Xor`, `kws_cnn.keras` → `KwsCnn`.
fn type_name(path: &Path) -> String {
    nn_dsl::inspect::type_name(path.file_stem().and_then(|s| s.to_str()).unwrap_or("model"))
}

fn dsl(path: &Path, name: Option<String>) -> ExitCode {
    let bytes = match load(path) {
        Ok((bytes, _)) => bytes,
        Err(code) => return code,
    };
    match nn_dsl::inspect::keras_source(&bytes, &name.unwrap_or_else(|| type_name(path))) {
        Ok(source) => {
            print!("{source}");
            ExitCode::SUCCESS
        }
        Err(errors) => refused(&errors),
    }
}

/// Every reason nn refuses a model, on standard error.
fn refused(errors: &[String]) -> ExitCode {
    eprintln!("error: nn cannot compile this model:");
    for error in errors {
        eprintln!("  - {error}");
    }
    ExitCode::FAILURE
}

fn plot(path: &Path, output: Option<&Path>) -> ExitCode {
    let report = match load(path) {
        Ok((_, report)) => report,
        Err(code) => return code,
    };
    let svg = match report.plot_svg() {
        Some(svg) if report.supported() => svg,
        _ => return refused(&report.errors),
    };
    let Some(output) = output else {
        print!("{svg}");
        return ExitCode::SUCCESS;
    };
    match std::fs::write(output, svg) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: cannot write `{}`: {e}", output.display());
            ExitCode::from(FILE_ERROR)
        }
    }
}

fn convert(input: &Path, output: &Path, model: Option<&Path>) -> ExitCode {
    let format = |path: &Path| {
        convert::Format::of(path).ok_or_else(|| {
            eprintln!(
                "error: `{}` names no weight format: use .keras, .weights.h5, .safetensors or .nnw",
                path.display()
            );
            ExitCode::from(FILE_ERROR)
        })
    };
    let (from, to) = match (format(input), format(output)) {
        (Ok(from), Ok(to)) => (from, to),
        (Err(code), _) | (_, Err(code)) => return code,
    };
    let Some(model) = model.or((from == convert::Format::Keras).then_some(input)) else {
        eprintln!("error: a `{}` file holds no model: say which with `--model model.keras`", input.display());
        return ExitCode::from(FILE_ERROR);
    };
    let ((archive, report), bytes) = match (load(model), read(input)) {
        (Ok(model), Ok(bytes)) => (model, bytes),
        (Err(code), _) | (_, Err(code)) => return code,
    };
    if !report.supported() {
        return refused(&report.errors);
    }
    let written = match convert::convert(&report, &archive, (from, &bytes), to) {
        Ok(written) => written,
        Err(why) => {
            eprintln!("error: `{}` does not fit the model in `{}`: {why}", input.display(), model.display());
            return ExitCode::FAILURE;
        }
    };
    match std::fs::write(output, written) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: cannot write `{}`: {e}", output.display());
            ExitCode::from(FILE_ERROR)
        }
    }
}

fn inspect(path: &Path) -> ExitCode {
    let report = match load(path) {
        Ok((_, report)) => report,
        Err(code) => return code,
    };
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
