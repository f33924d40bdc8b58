//! `ctpd`, the Cloud Trust Protocol server. This file only parses the command line and hands
//! each subcommand to its module under `commands/`.

mod commands;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// mimalloc: the server allocates many small short-lived buffers per request, where it
/// measured faster than the system allocator (see the closing note of issue 3).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Cloud Trust Protocol server: providers publish security measurements, customers query
/// them, set triggers and read alert logs.
#[derive(Debug, Parser)]
#[command(name = "ctpd", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Evaluate a CTPScript condition and print `true`, `false` or `error: MESSAGE`.
    ///
    /// Exit status: 0 for true, 1 for false, 2 for error, like test(1).
    Eval(commands::eval::EvalArgs),
    /// Serve the CTP API (client and back office) on the embedded store or PostgreSQL.
    Serve(Box<commands::serve::ServeArgs>),
    /// Apply the store's schema migrations and exit.
    Migrate(commands::migrate::MigrateArgs),
    /// Write the whole store to a portable file (JSON).
    Export(commands::transfer::ExportArgs),
    /// Load an export into an empty store of either backend.
    Import(commands::transfer::ImportArgs),
    /// OSSEC and Wazuh alerts: `parse` checks a feed before it is connected, `setup` creates
    /// the measurements of its routes, `status` shows where it stands.
    #[command(subcommand)]
    Ossec(commands::ossec::OssecCommand),
    /// Incident-response drills on a running server: `start` one on a service view, `show`
    /// a report, `list` them with their outcome.
    #[command(subcommand)]
    Drill(commands::drill::DrillCommand),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Eval(args) => commands::eval::run(&args),
        Command::Serve(args) => exit(commands::serve::run(&args)),
        Command::Migrate(args) => exit(commands::migrate::run(&args)),
        Command::Export(args) => exit(commands::transfer::export(&args)),
        Command::Import(args) => exit(commands::transfer::import(&args)),
        Command::Ossec(command) => match commands::ossec::run(&command) {
            Ok(status) => ExitCode::from(status),
            Err(e) => exit(Err(e)),
        },
        Command::Drill(command) => match commands::drill::run(&command) {
            Ok(status) => ExitCode::from(status),
            Err(e) => exit(Err(e)),
        },
    }
}

/// 0, or 1 with the error on stderr.
fn exit(outcome: anyhow::Result<()>) -> ExitCode {
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("ctpd: {e:#}");
            ExitCode::from(1)
        }
    }
}
