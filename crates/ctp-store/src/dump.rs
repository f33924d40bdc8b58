//! The portable form of a whole store (`ctpd export`, `ctpd import`): every table of the
//! schema both backends share, row by row in creation order, and the change counter.

use serde::{Deserialize, Serialize};

/// The `format` of a dump.
pub const FORMAT: &str = "ctpd-export";
/// The version of the dump format this build reads and writes.
pub const VERSION: u32 = 1;

/// How a column is represented in a dump (and in each backend).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ColumnType {
    /// Text (JSON string).
    Text,
    /// A 64-bit integer (JSON number).
    BigInt,
    /// A 32-bit integer (JSON number).
    Int,
    /// A float (JSON number).
    Real,
    /// A boolean (JSON boolean).
    Bool,
}

use ColumnType::{BigInt, Bool, Int, Real, Text};

/// The tables in the order they are loaded (parents first), with their columns. Every
/// column may be null where the schema allows it.
pub const TABLES: &[(&str, &[(&str, ColumnType)])] = &[
    (
        "accounts",
        &[
            ("id", Text),
            ("name", Text),
            ("annotation", Text),
            ("account_tags", Text),
            ("access_tags", Text),
            ("token_hash", Text),
            ("change_id", BigInt),
            ("webhook_secret", Text),
        ],
    ),
    (
        "views",
        &[
            ("id", Text),
            ("parent_kind", Text),
            ("parent_id", Text),
            ("name", Text),
            ("annotation", Text),
            ("provider", Text),
            ("service_class", Text),
            ("change_id", BigInt),
            ("access_tags", Text),
        ],
    ),
    (
        "assets",
        &[
            ("id", Text),
            ("view_id", Text),
            ("name", Text),
            ("annotation", Text),
            ("asset_class", Text),
            ("change_id", BigInt),
            ("access_tags", Text),
        ],
    ),
    (
        "attributes",
        &[
            ("id", Text),
            ("asset_id", Text),
            ("name", Text),
            ("annotation", Text),
            ("change_id", BigInt),
            ("access_tags", Text),
        ],
    ),
    (
        "metrics",
        &[
            ("id", Text),
            ("name", Text),
            ("annotation", Text),
            ("base_metric", Text),
            ("parameters", Text),
            ("result_format", Text),
            ("change_id", BigInt),
            ("access_tags", Text),
        ],
    ),
    (
        "measurements",
        &[
            ("id", Text),
            ("attribute_id", Text),
            ("view_id", Text),
            ("metric_id", Text),
            ("name", Text),
            ("annotation", Text),
            ("result", Text),
            ("objective_condition", Text),
            ("objective_status", Text),
            ("objective_time", BigInt),
            ("triggers_allowed", Bool),
            ("user_activated", Bool),
            ("state", Text),
            ("change_id", BigInt),
            ("access_tags", Text),
        ],
    ),
    (
        "triggers",
        &[
            ("id", Text),
            ("view_id", Text),
            ("measurement_id", Text),
            ("name", Text),
            ("annotation", Text),
            ("condition", Text),
            ("status", Text),
            ("status_time", BigInt),
            ("notification", Text),
            ("guard_time", Real),
            ("tags", Text),
            ("change_id", BigInt),
            ("access_tags", Text),
            ("owner_id", Text),
        ],
    ),
    (
        "logs",
        &[
            ("id", Text),
            ("view_id", Text),
            ("trigger_id", Text),
            ("creation_time", BigInt),
            ("result", Text),
            ("error", Text),
            ("tags", Text),
            ("access_tags", Text),
        ],
    ),
    (
        "deliveries",
        &[
            ("id", Text),
            ("log_id", Text),
            ("trigger_id", Text),
            ("view_id", Text),
            ("owner_id", Text),
            ("target", Text),
            ("state", Text),
            ("attempts", Int),
            ("next_attempt", BigInt),
            ("claimed", Bool),
            ("last_error", Text),
            ("creation_time", BigInt),
            ("delivery_time", BigInt),
            ("access_tags", Text),
        ],
    ),
    (
        "feed_positions",
        &[
            ("id", Text),
            ("path", Text),
            ("fingerprint", Text),
            ("byte_offset", BigInt),
            ("line", BigInt),
            ("update_time", BigInt),
        ],
    ),
    ("clock_watch", &[("id", Text), ("due", BigInt)]),
    (
        "drills",
        &[("id", Text), ("view_id", Text), ("creation_time", BigInt), ("started_by", Text), ("annotation", Text)],
    ),
    (
        "drill_messages",
        &[
            ("id", Text),
            ("drill_id", Text),
            ("trigger_id", Text),
            ("trigger_name", Text),
            ("target", Text),
            ("log_id", Text),
            ("token", Text),
            ("handed_over_time", BigInt),
            ("ack_time", BigInt),
            ("ack_by", Text),
        ],
    ),
    ("authorities", &[("id", Text), ("name", Text), ("annotation", Text), ("keys", Text), ("retired_time", BigInt)]),
    ("signing_required", &[("id", Text)]),
    ("result_verifications", &[("id", Text), ("verification", Text)]),
    ("ledger_key", &[("id", Text), ("origin", Text), ("signer", Text)]),
    ("ledger_leaves", &[("idx", BigInt), ("kind", Text), ("record_id", Text), ("leaf", Text)]),
    ("ledger_hashes", &[("idx", BigInt), ("hash", Text)]),
    (
        "audit",
        &[
            ("id", Text),
            ("account_id", Text),
            ("method", Text),
            ("resource", Text),
            ("body_sha256", Text),
            ("status", Int),
            ("time", BigInt),
        ],
    ),
    (
        "result_history",
        &[
            ("measurement_id", Text),
            ("time", BigInt),
            ("result", Text),
            ("objective_status", Text),
            ("standing", Text),
            ("status_changed", Bool),
        ],
    ),
];

/// The last tables of [`TABLES`], added after the format's first version: a dump made
/// before them lacks them and imports with them empty.
pub const ADDED_LATER: &[&str] = &[
    "feed_positions",
    "clock_watch",
    "drills",
    "drill_messages",
    "authorities",
    "signing_required",
    "result_verifications",
    "ledger_key",
    "ledger_leaves",
    "ledger_hashes",
    "audit",
    "result_history",
];

/// A whole store.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Dump {
    /// Always [`FORMAT`].
    pub format: String,
    /// [`VERSION`].
    pub version: u32,
    /// The last change identifier handed out.
    pub change_counter: i64,
    /// The tables, in [`TABLES`] order.
    pub tables: Vec<Table>,
}

/// One table: its columns (as in [`TABLES`]) and its rows in creation order.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Table {
    /// The table's name.
    pub name: String,
    /// Its column names.
    pub columns: Vec<String>,
    /// Its rows, each a value per column.
    pub rows: Vec<Vec<serde_json::Value>>,
}

/// One value of a dump, typed by its column.
#[derive(Debug, Clone, PartialEq)]
pub enum Cell {
    /// NULL.
    Null,
    /// A [`ColumnType::Text`] value.
    Text(String),
    /// A [`ColumnType::BigInt`] or [`ColumnType::Int`] value.
    Int(i64),
    /// A [`ColumnType::Real`] value.
    Real(f64),
    /// A [`ColumnType::Bool`] value.
    Bool(bool),
}

impl Cell {
    /// Reads a dump's JSON value as a value of `column_type`, or says why it is not one.
    pub fn from_json(value: &serde_json::Value, column_type: ColumnType) -> Result<Cell, String> {
        use serde_json::Value;
        Ok(match (value, column_type) {
            (Value::Null, _) => Cell::Null,
            (Value::String(s), ColumnType::Text) => Cell::Text(s.clone()),
            (Value::Number(n), ColumnType::BigInt) => Cell::Int(n.as_i64().ok_or("an integer is out of range")?),
            (Value::Number(n), ColumnType::Int) => {
                Cell::Int(n.as_i64().filter(|v| i32::try_from(*v).is_ok()).ok_or("an integer is out of range")?)
            }
            (Value::Number(n), ColumnType::Real) => Cell::Real(n.as_f64().ok_or("a number is out of range")?),
            (Value::Bool(b), ColumnType::Bool) => Cell::Bool(*b),
            (other, column_type) => return Err(format!("{other} is not a {column_type:?} value")),
        })
    }

    /// The JSON form of a value.
    pub fn into_json(self) -> serde_json::Value {
        match self {
            Cell::Null => serde_json::Value::Null,
            Cell::Text(s) => s.into(),
            Cell::Int(i) => i.into(),
            Cell::Real(f) => serde_json::Number::from_f64(f).map_or(serde_json::Value::Null, Into::into),
            Cell::Bool(b) => b.into(),
        }
    }
}

impl Dump {
    /// Checks that a dump is of this format and version and has the schema's tables and
    /// columns, in order.
    pub fn check(&self) -> Result<(), String> {
        if self.format != FORMAT || self.version != VERSION {
            return Err(format!(
                "not a {FORMAT} file of version {VERSION} (format {:?}, version {})",
                self.format, self.version
            ));
        }
        let oldest = TABLES.len() - ADDED_LATER.len();
        if self.tables.len() < oldest || self.tables.len() > TABLES.len() {
            return Err(format!("a dump has {} tables, this one {}", TABLES.len(), self.tables.len()));
        }
        for (table, (name, columns)) in self.tables.iter().zip(TABLES) {
            let expected: Vec<&str> = columns.iter().map(|(c, _)| *c).collect();
            if table.name != *name || table.columns != expected {
                return Err(format!("table {:?} does not have the columns of {name:?}: {expected:?}", table.name));
            }
            for row in &table.rows {
                if row.len() != expected.len() {
                    return Err(format!("a row of {name} has {} values, not {}", row.len(), expected.len()));
                }
                for (value, (column, column_type)) in row.iter().zip(columns.iter()) {
                    Cell::from_json(value, *column_type).map_err(|e| format!("{name}.{column}: {e}"))?;
                }
            }
        }
        Ok(())
    }
}
