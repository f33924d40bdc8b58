//! One module per `ctpd` subcommand.

pub mod eval;
pub mod serve;
