//! `ctpd export` and `ctpd import`: move a whole store (accounts with their hashed tokens,
//! every resource, tags, logs, pending notifications, the change counter) between
//! backends, for example from the embedded SQLite store to PostgreSQL. Stop the servers
//! of the source store first, so that the export is the last word.

use std::io::{Read, Write};
use std::path::PathBuf;

use anyhow::Context;
use clap::Args;
use ctp_store::dump::Dump;

/// Flags of `ctpd export`.
#[derive(Debug, Args)]
pub struct ExportArgs {
    /// The store to export: `sqlite:PATH` or `postgres://USER@HOST/DB`.
    #[arg(long, value_name = "URL", env = "CTPD_DATABASE")]
    pub database: String,
    /// Where to write the export (JSON) [default: standard output].
    #[arg(long, value_name = "PATH")]
    pub output: Option<PathBuf>,
}

/// Flags of `ctpd import`.
#[derive(Debug, Args)]
pub struct ImportArgs {
    /// The store to load, which must be empty: `sqlite:PATH` or `postgres://USER@HOST/DB`.
    #[arg(long, value_name = "URL", env = "CTPD_DATABASE")]
    pub database: String,
    /// The export to load [default: standard input].
    #[arg(long, value_name = "PATH")]
    pub input: Option<PathBuf>,
}

fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    Ok(tokio::runtime::Builder::new_multi_thread().enable_all().build()?)
}

/// Writes the whole store as JSON.
pub fn export(args: &ExportArgs) -> anyhow::Result<()> {
    let dump = runtime()?.block_on(async {
        let store = ctp_store_open::open(&args.database).await?;
        store.export().await.map_err(|e| anyhow::anyhow!("{e}"))
    })?;
    let json = serde_json::to_vec(&dump)?;
    match &args.output {
        Some(path) => std::fs::write(path, &json).with_context(|| format!("cannot write {}", path.display()))?,
        None => std::io::stdout().write_all(&json)?,
    }
    let rows: usize = dump.tables.iter().map(|t| t.rows.len()).sum();
    eprintln!("exported {rows} rows of {} tables", dump.tables.len());
    Ok(())
}

/// Loads an export into an empty store.
pub fn import(args: &ImportArgs) -> anyhow::Result<()> {
    let mut json = Vec::new();
    match &args.input {
        Some(path) => json = std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?,
        None => {
            std::io::stdin().read_to_end(&mut json)?;
        }
    }
    let dump: Dump = serde_json::from_slice(&json).context("not a ctpd export")?;
    let rows: usize = dump.tables.iter().map(|t| t.rows.len()).sum();
    runtime()?.block_on(async {
        let store = ctp_store_open::open(&args.database).await?;
        store.import(dump).await.map_err(|e| anyhow::anyhow!("{e}"))
    })?;
    eprintln!("imported {rows} rows");
    Ok(())
}
