//! A measurement's window: the alerts of the last `span` (by the alert's time, never later
//! than when it was received), at most `cap` of them, newest kept; duplicates (same
//! non-empty alert id) are kept once. Its result is the rows oldest first.

use std::collections::{HashSet, VecDeque};

use ctp_model::Timestamp;
use ossec_alerts::Alert;

/// What became of an alert offered to a window.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Offered {
    /// It is in the window.
    Kept,
    /// Its id is in the window already.
    Duplicate,
    /// It is older than the window (or pushed out by the row cap at once).
    TooOld,
}

/// One measurement's alerts.
#[derive(Debug, Default)]
pub struct Window {
    /// (time in milliseconds, alert id, the alert's row as JSON text), in time order.
    alerts: VecDeque<(i64, String, String)>,
    ids: HashSet<String>,
}

/// The time an alert counts from: its own, unless it claims to be from the future.
pub fn alert_time(alert: &Alert, received: Timestamp) -> i64 {
    Timestamp::parse_rfc3339(&alert.time).map_or(received.millis(), |t| t.millis().min(received.millis()))
}

impl Window {
    /// Offers an alert at time `at` (see [`alert_time`]) when the window ends at `now`.
    pub fn offer(&mut self, alert: Alert, at: i64, now: i64, span: i64, cap: usize) -> Offered {
        if at <= now - span {
            return Offered::TooOld;
        }
        if !alert.id.is_empty() && self.ids.contains(&alert.id) {
            return Offered::Duplicate;
        }
        if self.alerts.len() >= cap && self.alerts.front().is_some_and(|(oldest, _, _)| at < *oldest) {
            return Offered::TooOld;
        }
        if !alert.id.is_empty() {
            self.ids.insert(alert.id.clone());
        }
        // Alerts mostly come in time order: search from the back.
        let index = self.alerts.iter().rposition(|(t, _, _)| *t <= at).map_or(0, |i| i + 1);
        let row = alert.to_json_line();
        self.alerts.insert(index, (at, alert.id, row));
        while self.alerts.len() > cap {
            self.pop_oldest();
        }
        Offered::Kept
    }

    fn pop_oldest(&mut self) {
        if let Some((_, id, _)) = self.alerts.pop_front() {
            self.ids.remove(&id);
        }
    }

    /// Drops the alerts that left the window by `now`; whether any did.
    pub fn expire(&mut self, now: i64, span: i64) -> bool {
        let before = self.alerts.len();
        while self.alerts.front().is_some_and(|(at, _, _)| *at <= now - span) {
            self.pop_oldest();
        }
        self.alerts.len() != before
    }

    /// When the oldest alert leaves the window.
    pub fn next_expiry(&self, span: i64) -> Option<i64> {
        self.alerts.front().map(|(at, _, _)| at + span)
    }

    /// How many alerts it holds.
    pub fn len(&self) -> usize {
        self.alerts.len()
    }

    /// Whether it holds no alert.
    pub fn is_empty(&self) -> bool {
        self.alerts.is_empty()
    }

    /// The result to push: `{"value":[rows oldest first],"updateTime":now}`.
    pub fn result_text(&self, now: Timestamp) -> String {
        let rows: usize = self.alerts.iter().map(|(_, _, row)| row.len() + 1).sum();
        let mut text = String::with_capacity(64 + rows);
        text.push_str("{\"value\":[");
        for (index, (_, _, row)) in self.alerts.iter().enumerate() {
            if index > 0 {
                text.push(',');
            }
            text.push_str(row);
        }
        text.push_str("],\"updateTime\":\"");
        text.push_str(&now.to_string());
        text.push_str("\"}");
        text
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn alert(id: &str) -> Alert {
        Alert {
            id: id.into(),
            time: String::new(),
            level: 3,
            rule: 1,
            description: String::new(),
            groups: String::new(),
            agent: String::new(),
            location: String::new(),
            srcip: String::new(),
            user: String::new(),
            compliance: String::new(),
        }
    }

    #[test]
    fn alerts_age_out_and_the_newest_are_kept() {
        let mut window = Window::default();
        assert_eq!(window.offer(alert("a"), 1_000, 1_000, 100, 2), Offered::Kept);
        assert_eq!(window.offer(alert("a"), 1_001, 1_001, 100, 2), Offered::Duplicate);
        assert_eq!(window.offer(alert("old"), 900, 1_001, 100, 2), Offered::TooOld);
        assert_eq!(window.offer(alert("c"), 1_050, 1_050, 100, 2), Offered::Kept);
        assert_eq!(window.offer(alert("b"), 1_020, 1_050, 100, 2), Offered::Kept, "in time order");
        assert_eq!(window.len(), 2, "capped: a, the oldest, left");
        assert_eq!(window.offer(alert("d"), 1_010, 1_051, 100, 2), Offered::TooOld, "older than a full window's");
        assert_eq!(window.next_expiry(100), Some(1_120));
        assert!(!window.expire(1_119, 100));
        assert!(window.expire(1_120, 100));
        assert_eq!(window.len(), 1);
        let text = window.result_text(Timestamp::from_millis(1_120_000).unwrap());
        assert!(text.starts_with(r#"{"value":[{"id":"c","#), "{text}");
        assert!(window.expire(1_150, 100));
        assert_eq!(window.next_expiry(100), None);
    }

    #[test]
    fn a_time_from_the_future_counts_from_reception() {
        let received = Timestamp::parse_rfc3339("2026-12-02T10:00:00Z").unwrap();
        let mut future = alert("f");
        future.time = "2027-01-01T00:00:00Z".into();
        assert_eq!(alert_time(&future, received), received.millis());
        future.time = "2026-12-02T09:00:00Z".into();
        assert_eq!(alert_time(&future, received), received.millis() - 3_600_000);
    }
}
