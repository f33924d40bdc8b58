//! A typed client of the Cloud Trust Protocol API (CTP 2.14) as ctpd serves it, for
//! providers, customers and auditors; the library of the `ctp` command.
//!
//! - [`Client`]: one base URL and bearer token (blocking HTTP, rustls with ring): the entry
//!   point, any resource ([`Client::get`]), the walk service views → assets → attributes →
//!   measurements ([`Client::tree`]), triggers, log entries ([`LogQuery`]: `tags`, `oldest`,
//!   `newest`, `page`/`items`), pushing a result ([`Client::push_result`]), authorities and
//!   the transparency log ([`Client::ledger`], [`Client::proof`], [`Client::consistency`]).
//! - [`result`]: the result text an agent pushes, signed with a ctp-jws key or not.
//! - [`verify`]: checking a record against the ledger without trusting the server, as pure
//!   functions over what was fetched and what the client remembers
//!   ([`verify::ServerState`]); [`Client::verify`] runs them in order.
//! - [`local`]: the config file and the state files, at paths the caller gives, mode 0600.
//!
//! Errors ([`Error`], [`verify::Failure`], [`local::LocalError`]) are one line each and say
//! what to do.

pub mod client;
pub mod error;
pub mod local;
pub mod resources;
pub mod result;
pub mod verify;

pub use client::{normalize_base, AssetNode, AttributeNode, Client, Report, VerifyError, VerifyOptions, ViewNode};
pub use error::Error;
pub use resources::{
    id_of, Asset, Attribute, Authority, AuthorityKey, Collection, EntryPoint, Kind, LedgerInfo, LogEntry, LogQuery,
    Measurement, Member, NewAuthority, NewTrigger, Objective, ObjectiveState, ServiceView, Trigger,
};
