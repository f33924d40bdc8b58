//! The CTP data model of ctpd, without I/O: identifiers, timestamps, access tags, metric
//! formats, result checking, objective and trigger status, and the trigger processing rules
//! of section 5.3.2. Every storage backend and the HTTP layer share these, so the CTP
//! semantics are decided in one place.

pub mod conditions;
pub mod history;
pub mod id;
pub mod ledger;
pub mod metric;
pub mod resources;
pub mod result;
pub mod status;
pub mod tags;
pub mod time;
pub mod trigger_rules;

pub use conditions::{ConditionCache, Evaluate, Evaluations};
/// The outcome of a condition, as [`Evaluate`] gives it.
pub use ctpscript::Outcome;
pub use id::ResourceId;
pub use metric::{Column, MeasurementParameter, ValueType};
pub use result::{check_result, CheckedResult};
pub use status::Status;
pub use time::Timestamp;
pub use trigger_rules::{Alert, TriggerState, TriggerStep};
