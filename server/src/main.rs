//! `localrank-server`: runs the reference candidate service from the command line.
//!
//! ```text
//! localrank-server [--addr 127.0.0.1:8080] [--site .] [--model-dir DIR]
//!                  [--catalogue FILE.json | --data-dir DIR_WITH_PARQUET]
//! ```
//! Defaults follow the project's layout: the model in `.cache/localrank/artifacts/
//! complete-journey`, the Complete Journey Parquet files in `.cache/localrank/raw/
//! complete-journey`, the catalogue cached as `catalogue.json` in the model directory.
use std::path::PathBuf;
use std::process::ExitCode;

use localrank_server::{CatalogueSource, ServerConfig, run};

const USAGE: &str = "usage: localrank-server [--addr HOST:PORT] [--site DIR] [--model-dir DIR] [--catalogue FILE.json | --data-dir DIR]";

fn parse() -> Result<ServerConfig, String> {
    let mut addr = std::env::var("LOCALRANK_ADDR").unwrap_or_else(|_| "127.0.0.1:8080".into());
    let mut site = PathBuf::from(".");
    let mut model_dir = PathBuf::from(".cache/localrank/artifacts/complete-journey");
    let mut catalogue: Option<PathBuf> = None;
    let mut data_dir = PathBuf::from(".cache/localrank/raw/complete-journey");
    let mut args = std::env::args().skip(1);
    while let Some(flag) = args.next() {
        if flag == "--help" || flag == "-h" {
            return Err(USAGE.into());
        }
        let value = args
            .next()
            .ok_or_else(|| format!("{flag} needs a value\n{USAGE}"))?;
        match flag.as_str() {
            "--addr" => addr = value,
            "--site" => site = value.into(),
            "--model-dir" => model_dir = value.into(),
            "--catalogue" => catalogue = Some(value.into()),
            "--data-dir" => data_dir = value.into(),
            _ => return Err(format!("unknown option {flag}\n{USAGE}")),
        }
    }
    let addr = addr.parse().map_err(|e| format!("--addr {addr:?}: {e}"))?;
    let catalogue = match catalogue {
        Some(path) => CatalogueSource::Json(path),
        None => CatalogueSource::CompleteJourney {
            products: data_dir.join("products.parquet"),
            transactions: data_dir.join("transactions.parquet"),
            cache: model_dir.join("catalogue.json"),
        },
    };
    Ok(ServerConfig {
        addr,
        site_root: site,
        model_dir,
        catalogue,
    })
}

#[tokio::main]
async fn main() -> ExitCode {
    let config = match parse() {
        Ok(c) => c,
        Err(message) => {
            eprintln!("{message}");
            return ExitCode::from(2);
        }
    };
    match run(config).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("localrank-server: {e}");
            ExitCode::FAILURE
        }
    }
}
