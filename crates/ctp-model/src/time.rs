//! Timestamps the server writes: RFC 3339 in UTC with millisecond precision
//! (`2026-11-22T10:41:58.123Z`), which round-trip exactly (the decisions page).

use std::fmt;

use chrono::{DateTime, SecondsFormat, SubsecRound, Utc};

/// An instant with millisecond precision.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timestamp(DateTime<Utc>);

impl Timestamp {
    /// Now, truncated to the millisecond.
    pub fn now() -> Timestamp {
        Timestamp(Utc::now().trunc_subsecs(3))
    }

    /// Milliseconds since the epoch.
    pub fn from_millis(millis: i64) -> Option<Timestamp> {
        DateTime::from_timestamp_millis(millis).map(Timestamp)
    }

    /// The time as chrono's UTC date-time.
    pub fn to_datetime(self) -> DateTime<Utc> {
        self.0
    }

    /// Milliseconds since the epoch.
    pub fn millis(self) -> i64 {
        self.0.timestamp_millis()
    }

    /// Seconds since the epoch, with the fraction, as CTPScript's `timeUTC` counts.
    pub fn seconds(self) -> f64 {
        self.millis() as f64 / 1000.0
    }

    /// Parses any RFC 3339 date-time (any offset, any precision), truncated to the millisecond.
    pub fn parse_rfc3339(text: &str) -> Option<Timestamp> {
        DateTime::parse_from_rfc3339(text).ok().map(|t| Timestamp(t.with_timezone(&Utc).trunc_subsecs(3)))
    }

    /// Seconds from `earlier` to `self`.
    pub fn seconds_since(self, earlier: Timestamp) -> f64 {
        (self.millis() - earlier.millis()) as f64 / 1000.0
    }
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0.to_rfc3339_opts(SecondsFormat::Millis, true))
    }
}

/// Written as [`fmt::Display`] writes it.
impl serde::Serialize for Timestamp {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn written_timestamps_round_trip() {
        let t = Timestamp::from_millis(1_795_000_000_123).unwrap();
        assert_eq!(t.to_string(), "2026-11-18T11:06:40.123Z");
        assert_eq!(Timestamp::parse_rfc3339(&t.to_string()), Some(t));
        assert_eq!(Timestamp::parse_rfc3339("2026-11-18T12:06:40.123+01:00"), Some(t));
        assert_eq!(Timestamp::from_millis(0).unwrap().to_string(), "1970-01-01T00:00:00.000Z");
        assert_eq!(Timestamp::parse_rfc3339("yesterday"), None);
        let now = Timestamp::now();
        assert_eq!(Timestamp::parse_rfc3339(&now.to_string()), Some(now));
    }
}
