//! Metrics (4.2.5): measurement parameters and the result format, the columns every result
//! of a measurement must have.

use serde::{Deserialize, Serialize};

/// The type of a result column or a measurement parameter.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum ValueType {
    /// A JSON boolean.
    Boolean,
    /// A JSON number.
    Number,
    /// A JSON string.
    String,
}

impl ValueType {
    /// The type's name on the wire.
    pub fn as_str(self) -> &'static str {
        match self {
            ValueType::Boolean => "boolean",
            ValueType::Number => "number",
            ValueType::String => "string",
        }
    }

    /// Whether `value` is of this type.
    pub fn admits(self, value: &serde_json::Value) -> bool {
        matches!(
            (self, value),
            (ValueType::Boolean, serde_json::Value::Bool(_))
                | (ValueType::Number, serde_json::Value::Number(_))
                | (ValueType::String, serde_json::Value::String(_))
        )
    }
}

/// One column of a metric's `resultFormat`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Column {
    /// The column's name, the key of the cell in each row.
    #[schema(min_length = 1)]
    pub name: String,
    /// The type of every cell of the column.
    #[serde(rename = "type")]
    pub value_type: ValueType,
}

/// One of a metric's `measurementParameters`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MeasurementParameter {
    /// The parameter's name.
    pub name: String,
    /// The parameter's type.
    #[serde(rename = "type")]
    pub value_type: ValueType,
    /// The parameter's value, of that type.
    #[schema(value_type = Value)]
    pub value: serde_json::Value,
}

/// Checks a metric's parameters and result format: parameter values of their declared
/// type, unique names, at least one column.
pub fn check_metric(parameters: &[MeasurementParameter], result_format: &[Column]) -> Result<(), String> {
    for (i, parameter) in parameters.iter().enumerate() {
        if !parameter.value_type.admits(&parameter.value) {
            return Err(format!(
                "measurementParameters[{i}] ({:?}) is declared {} but its value is {}",
                parameter.name,
                parameter.value_type.as_str(),
                describe(&parameter.value)
            ));
        }
    }
    if result_format.is_empty() {
        return Err("resultFormat must have at least one column".to_owned());
    }
    for (i, column) in result_format.iter().enumerate() {
        if column.name.is_empty() {
            return Err(format!("resultFormat[{i}] has an empty name"));
        }
        if result_format[..i].iter().any(|c| c.name == column.name) {
            return Err(format!("resultFormat has the column {:?} twice", column.name));
        }
    }
    Ok(())
}

/// A JSON value as an error message names it: `the string "high"`, `a number (3)`...
pub fn describe(value: &serde_json::Value) -> String {
    match value {
        serde_json::Value::Null => "null".to_owned(),
        serde_json::Value::Bool(b) => format!("the boolean {b}"),
        serde_json::Value::Number(n) => format!("the number {n}"),
        serde_json::Value::String(s) => format!("the string {s:?}"),
        serde_json::Value::Array(_) => "an array".to_owned(),
        serde_json::Value::Object(_) => "an object".to_owned(),
    }
}
