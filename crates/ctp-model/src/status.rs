//! The status of an objective or a trigger: `"true"`, `"false"` or `"error"` on the wire
//! (booleans accepted on input, as the decisions page says).

use std::fmt;

use ctpscript::Outcome;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// The result of the last evaluation of a condition.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Status {
    /// The condition held.
    True,
    /// The condition did not hold (also the status before any evaluation).
    False,
    /// The condition could not be evaluated.
    Error,
}

impl Status {
    /// The wire string.
    pub fn as_str(self) -> &'static str {
        match self {
            Status::True => "true",
            Status::False => "false",
            Status::Error => "error",
        }
    }

    /// Reads the wire string.
    pub fn parse(text: &str) -> Option<Status> {
        match text {
            "true" => Some(Status::True),
            "false" => Some(Status::False),
            "error" => Some(Status::Error),
            _ => None,
        }
    }

    /// The status an evaluation outcome gives.
    pub fn of(outcome: &Outcome) -> Status {
        match outcome {
            Outcome::True => Status::True,
            Outcome::False => Status::False,
            Outcome::Error(_) => Status::Error,
        }
    }
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for Status {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for Status {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Status, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Wire {
            Bool(bool),
            Text(String),
        }
        match Wire::deserialize(deserializer)? {
            Wire::Bool(true) => Ok(Status::True),
            Wire::Bool(false) => Ok(Status::False),
            Wire::Text(text) => Status::parse(&text).ok_or_else(|| {
                serde::de::Error::custom(format!("status must be \"true\", \"false\" or \"error\", got {text:?}"))
            }),
        }
    }
}
