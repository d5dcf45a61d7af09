//! `localrank-server`: runs the reference candidate service from the command line.
//!
//! ```text
//! localrank-server [--addr 127.0.0.1:8080] [--site .] [--model-dir DIR]
//!                  [--catalogue FILE.json | --data-dir DIR_WITH_PARQUET]
//! ```
//! Defaults follow the project's layout: the model in `.cache/localrank/artifacts/
//! complete-journey`, the Complete Journey Parquet files in `.cache/localrank/raw/
//! complete-journey`, the catalogue cached as `catalogue.json` in the model directory.
use std::process::ExitCode;

fn main() -> ExitCode {
    localrank_server::main_from_args(std::env::args().skip(1))
}
