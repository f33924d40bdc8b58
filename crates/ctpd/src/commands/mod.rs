//! One module per `ctpd` subcommand.

pub mod drill;
pub mod eval;
pub mod migrate;
pub mod ossec;
pub mod serve;
pub mod transfer;
