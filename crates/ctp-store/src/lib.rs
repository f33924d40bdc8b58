//! The storage interface of ctpd. The HTTP layer talks only to [`Store`]; each backend
//! (`ctp-store-sqlite`, `ctp-store-postgres`) implements it. Every method is one
//! transaction: a write either happens whole, with every change it implies (change
//! identifiers up the scope hierarchy, trigger processing and log entries for a pushed
//! result), or not at all.
//!
//! This crate knows no SQL. Its modules:
//! - [`store`]: the trait; [`error`]: why an operation failed;
//! - [`inputs`]: what callers hand over (new resources, filters, windows) and get back;
//! - [`rules`]: the CTP rules every backend applies alike, as pure functions (objective
//!   status, the log entry of an alert, the user-activation state machine, which change
//!   identifiers a write renews, the access tags of new resources and of a cascade);
//! - [`checks`]: the checks a backend makes inside its transactions (409s and 400s);
//! - [`dump`]: the export format (`ctpd export`, `ctpd import`) and its table catalogue.

pub mod checks;
pub mod dump;
pub mod error;
pub mod inputs;
pub mod ledger;
pub mod rules;
pub mod store;

pub use error::{Cause, StoreError, StoreResult};
pub use inputs::{
    AuditFilter, AuthorityChange, ClockItem, ClockRound, ClockWork, DeliveryOutcome, DueDelivery, FeedPosition,
    HistoryEntry, HistoryFilter, LogFilter, NewAccount, NewAsset, NewAttribute, NewAuthority, NewDrill,
    NewDrillMessage, NewMeasurement, NewMetric, NewTrigger, NewView, Push, PushOutcome, Window,
};
pub use store::Store;
