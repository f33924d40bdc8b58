//! A measurement's past (issue 15): where it stood at each moment ([`Standing`]), the
//! changes of standing the store keeps ([`StatusTimeline`]), and what the dashboard's
//! overview shows of them, computed here once: one cell per calendar day with the day's
//! worst standing ([`DayCell`]), and the share of time its objective was met over a window
//! ([`met_share`]).

use std::fmt;

use serde::Serialize;

use crate::{Status, Timestamp};

/// Where a measurement stands: its objective's status on its result, in the words a
/// person reads, with the two cases CTP's status does not tell apart (no objective, no
/// result yet).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum Standing {
    /// The objective does not hold on the result (`"false"`).
    NotMet,
    /// The objective cannot be evaluated on the result (`"error"`).
    Error,
    /// The objective waits for a first result.
    NoResult,
    /// The objective holds on the result (`"true"`).
    Met,
    /// The measurement has no objective.
    NoObjective,
}

impl Standing {
    /// Every standing, the worst first.
    pub const ALL: [Standing; 5] =
        [Standing::NotMet, Standing::Error, Standing::NoResult, Standing::Met, Standing::NoObjective];

    /// Where a measurement with this objective status (`None`: no objective) stands.
    pub fn of(objective: Option<Status>, has_result: bool) -> Standing {
        match (objective, has_result) {
            (None, _) => Standing::NoObjective,
            (Some(_), false) => Standing::NoResult,
            (Some(Status::True), true) => Standing::Met,
            (Some(Status::False), true) => Standing::NotMet,
            (Some(Status::Error), true) => Standing::Error,
        }
    }

    /// The stored and wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            Standing::NotMet => "notMet",
            Standing::Error => "error",
            Standing::NoResult => "noResult",
            Standing::Met => "met",
            Standing::NoObjective => "noObjective",
        }
    }

    /// Reads a stored name.
    pub fn parse(text: &str) -> Option<Standing> {
        Standing::ALL.into_iter().find(|s| s.as_str() == text)
    }

    /// How bad it is: 0 is the worst.
    pub fn rank(self) -> usize {
        self as usize
    }

    /// Whether an objective was evaluated on a result (the time that counts in a share).
    fn evaluated(self) -> bool {
        matches!(self, Standing::Met | Standing::NotMet | Standing::Error)
    }
}

impl fmt::Display for Standing {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A moment the standing of a measurement changed.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct StandingChange {
    /// When.
    pub time: Timestamp,
    /// The objective's status from then on (`None`: no objective).
    pub status: Option<Status>,
    /// The standing from then on.
    pub standing: Standing,
}

/// The changes of standing of one measurement from an instant on, with the standing in
/// force at that instant.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct StatusTimeline {
    /// The last change before the instant, if any is kept.
    pub before: Option<StandingChange>,
    /// The changes at or after the instant, oldest first.
    pub changes: Vec<StandingChange>,
}

/// A span of time with one standing (`None`: nothing recorded yet).
#[derive(Debug, Clone, Copy, PartialEq)]
struct Span {
    start: i64,
    end: i64,
    standing: Option<Standing>,
}

impl StatusTimeline {
    /// The spans of `[start, end)` (milliseconds), each with its standing.
    fn spans(&self, start: i64, end: i64) -> Vec<Span> {
        let mut spans = Vec::new();
        let mut current = self.before.as_ref().map(|c| c.standing);
        let mut from = start;
        for change in &self.changes {
            let at = change.time.millis();
            if at <= start {
                current = Some(change.standing);
                continue;
            }
            if at >= end {
                break;
            }
            if at > from {
                spans.push(Span { start: from, end: at, standing: current });
            }
            current = Some(change.standing);
            from = at;
        }
        if from < end {
            spans.push(Span { start: from, end, standing: current });
        }
        spans
    }
}

/// The share of `[start, end)` during which the objective was met, of the time it was
/// evaluated on a result; `None` when it never was.
pub fn met_share(timeline: &StatusTimeline, start: i64, end: i64) -> Option<f64> {
    let (mut met, mut evaluated) = (0i64, 0i64);
    for span in timeline.spans(start, end) {
        if let Some(standing) = span.standing.filter(|s| s.evaluated()) {
            evaluated += span.end - span.start;
            if standing == Standing::Met {
                met += span.end - span.start;
            }
        }
    }
    (evaluated > 0).then(|| met as f64 / evaluated as f64)
}

/// How many changes a day cell lists at most; the others are counted.
pub const CHANGES_PER_DAY: usize = 20;

/// One calendar day of a measurement's bar.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DayCell {
    /// The day, `YYYY-MM-DD`, in the time zone asked for.
    pub date: String,
    /// The worst standing of the day, of the time something was recorded (`noResult` when
    /// nothing was).
    pub worst: Standing,
    /// The share of the day (up to now) its objective was met, of the time it was evaluated.
    pub met: Option<f64>,
    /// The changes of standing that day, the first [`CHANGES_PER_DAY`].
    pub changes: Vec<StandingChange>,
    /// How many more changes there were.
    #[serde(skip_serializing_if = "is_zero")]
    pub more_changes: usize,
}

fn is_zero(n: &usize) -> bool {
    *n == 0
}

const DAY: i64 = 86_400_000;

/// The calendar of the last `days` days up to `now` (today included, last), in the time
/// zone `utc_offset_minutes` east of UTC.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Calendar {
    /// The number of days.
    pub days: u32,
    /// The time zone's offset from UTC, in minutes.
    pub utc_offset_minutes: i32,
    /// The end of the last day (the present).
    pub now: Timestamp,
}

impl Calendar {
    /// The instant the first day starts.
    pub fn start(&self) -> i64 {
        let offset = i64::from(self.utc_offset_minutes) * 60_000;
        let today = (self.now.millis() + offset).div_euclid(DAY);
        (today - i64::from(self.days) + 1) * DAY - offset
    }

    /// The day cells of a timeline (which must hold the changes from [`Calendar::start`]).
    pub fn cells(&self, timeline: &StatusTimeline) -> Vec<DayCell> {
        let offset = i64::from(self.utc_offset_minutes) * 60_000;
        let now = self.now.millis();
        let first = self.start();
        (0..i64::from(self.days))
            .map(|index| {
                let start = first + index * DAY;
                let end = (start + DAY).min(now);
                let local_day = (start + offset).div_euclid(DAY);
                let date = Timestamp::from_millis(local_day * DAY)
                    .map(|t| t.to_datetime().format("%Y-%m-%d").to_string())
                    .unwrap_or_default();
                let spans = timeline.spans(start, end.max(start + 1));
                // The time before anything was recorded does not count, unless it is all.
                let worst =
                    spans.iter().filter_map(|s| s.standing).min_by_key(|s| s.rank()).unwrap_or(Standing::NoResult);
                let of_day: Vec<&StandingChange> =
                    timeline.changes.iter().filter(|c| (start..start + DAY).contains(&c.time.millis())).collect();
                DayCell {
                    date,
                    worst,
                    met: met_share(timeline, start, end.max(start + 1)),
                    more_changes: of_day.len().saturating_sub(CHANGES_PER_DAY),
                    changes: of_day.into_iter().take(CHANGES_PER_DAY).cloned().collect(),
                }
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const T0: i64 = 1_780_000_000_000 / DAY * DAY; // a UTC midnight

    fn change(at: i64, standing: Standing) -> StandingChange {
        let status = match standing {
            Standing::Met => Some(Status::True),
            Standing::NotMet | Standing::NoResult => Some(Status::False),
            Standing::Error => Some(Status::Error),
            Standing::NoObjective => None,
        };
        StandingChange { time: Timestamp::from_millis(at).unwrap(), status, standing }
    }

    #[test]
    fn standing_names_round_trip_and_rank_worst_first() {
        for (rank, s) in Standing::ALL.into_iter().enumerate() {
            assert_eq!(Standing::parse(s.as_str()), Some(s));
            assert_eq!(s.rank(), rank);
        }
        assert_eq!(Standing::of(None, true), Standing::NoObjective);
        assert_eq!(Standing::of(Some(Status::True), false), Standing::NoResult);
        assert_eq!(Standing::of(Some(Status::False), true), Standing::NotMet);
    }

    #[test]
    fn the_met_share_counts_only_evaluated_time() {
        let timeline = StatusTimeline {
            before: Some(change(T0 - 5, Standing::Met)),
            changes: vec![change(T0 + 100, Standing::NotMet), change(T0 + 400, Standing::NoObjective)],
        };
        // 100 ms met, 300 ms not met, 600 ms without objective.
        assert_eq!(met_share(&timeline, T0, T0 + 1000), Some(0.25));
        assert_eq!(met_share(&timeline, T0 + 500, T0 + 1000), None);
        assert_eq!(met_share(&StatusTimeline::default(), T0, T0 + 1000), None);
    }

    #[test]
    fn a_day_is_as_bad_as_its_worst_moment_and_lists_its_changes() {
        let calendar = Calendar { days: 3, utc_offset_minutes: 0, now: Timestamp::from_millis(T0 + DAY / 2).unwrap() };
        assert_eq!(calendar.start(), T0 - 2 * DAY);
        let timeline = StatusTimeline {
            before: None,
            changes: vec![
                change(T0 - DAY + 10, Standing::Met),
                change(T0 - DAY + 20, Standing::NotMet),
                change(T0 - DAY + 30, Standing::Met),
            ],
        };
        let cells = calendar.cells(&timeline);
        assert_eq!(cells.len(), 3);
        assert_eq!(cells[0].worst, Standing::NoResult, "nothing recorded yet");
        assert_eq!(cells[0].met, None);
        assert_eq!(cells[1].worst, Standing::NotMet);
        assert_eq!(cells[1].changes.len(), 3);
        assert!(cells[1].met.unwrap() > 0.99);
        assert_eq!(cells[2].worst, Standing::Met);
        assert_eq!(cells[2].met, Some(1.0));
        assert!(cells[2].changes.is_empty());
        let date = |t: i64| Timestamp::from_millis(t).unwrap().to_datetime().format("%Y-%m-%d").to_string();
        assert_eq!(cells[2].date, date(T0));
        // Two changes at the same instant: the first lasted no time and does not count.
        let instant = StatusTimeline {
            before: None,
            changes: vec![change(T0 - DAY + 10, Standing::NoResult), change(T0 - DAY + 10, Standing::Met)],
        };
        assert_eq!(calendar.cells(&instant)[1].worst, Standing::Met);
    }

    #[test]
    fn days_follow_the_time_zone_asked_for() {
        // Two hours east of UTC: the local day starts at 22:00 UTC the day before.
        let calendar =
            Calendar { days: 2, utc_offset_minutes: 120, now: Timestamp::from_millis(T0 + 3_600_000).unwrap() };
        assert_eq!(calendar.start(), T0 - DAY - 7_200_000);
        let timeline = StatusTimeline { before: None, changes: vec![change(T0 - 3_600_000, Standing::Error)] };
        let cells = calendar.cells(&timeline);
        assert_eq!(cells[1].worst, Standing::Error, "23:00 UTC is the next local day");
        assert_eq!(cells[0].worst, Standing::NoResult);
        // West of UTC.
        let west = Calendar { days: 1, utc_offset_minutes: -300, now: Timestamp::from_millis(T0 + 3_600_000).unwrap() };
        assert_eq!(west.start(), T0 - DAY + 300 * 60_000);
    }

    #[test]
    fn a_busy_day_lists_its_first_changes_and_counts_the_rest() {
        let calendar = Calendar { days: 1, utc_offset_minutes: 0, now: Timestamp::from_millis(T0 + DAY - 1).unwrap() };
        let changes =
            (0..25).map(|i| change(T0 + i * 1000, if i % 2 == 0 { Standing::Met } else { Standing::NotMet })).collect();
        let cells = calendar.cells(&StatusTimeline { before: None, changes });
        assert_eq!(cells[0].changes.len(), CHANGES_PER_DAY);
        assert_eq!(cells[0].more_changes, 5);
        let json = serde_json::to_value(&cells[0]).unwrap();
        assert_eq!(json["moreChanges"], 5);
        assert_eq!(json["worst"], "notMet");
        assert_eq!(json["changes"][0]["status"], "true");
    }
}
