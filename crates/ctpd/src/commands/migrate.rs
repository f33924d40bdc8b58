//! `ctpd migrate --database URL`: applies the schema migrations and exits, for operators
//! who migrate separately from starting the servers (`ctpd serve` migrates at start too).

use anyhow::Context;
use clap::Args;
use ctp_store_open::DatabaseUrl;

/// Flags of `ctpd migrate`.
#[derive(Debug, Args)]
pub struct MigrateArgs {
    /// The store to migrate: `sqlite:PATH` or `postgres://USER@HOST/DB`.
    #[arg(long, value_name = "URL", env = "CTPD_DATABASE")]
    pub database: String,
}

/// Applies the migrations and says how many were applied.
pub fn run(args: &MigrateArgs) -> anyhow::Result<()> {
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    runtime.block_on(async {
        match DatabaseUrl::parse(&args.database)? {
            DatabaseUrl::Postgres(url) => {
                let applied = ctp_store_postgres::PostgresStore::migrate(&url)
                    .await
                    .map_err(|e| anyhow::anyhow!("{e}"))
                    .context("cannot migrate the PostgreSQL store")?;
                println!("{applied} migration(s) applied; the schema is up to date");
            }
            sqlite @ DatabaseUrl::Sqlite(_) => {
                // The SQLite store migrates when it opens.
                drop(sqlite.open().await?);
                println!("the schema is up to date");
            }
        }
        Ok(())
    })
}
