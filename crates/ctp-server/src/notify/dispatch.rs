//! Which claimed jobs may start, so that slow or hanging receivers only slow themselves.
//!
//! Attempts run at most `per_host` at a time per host key (a webhook's origin host and
//! port, an XMPP recipient's domain: [`super::target::Target::host_key`]) and `overall` at
//! a time in all. The worker claims jobs while fewer than `2 × overall` are held (in flight
//! or waiting for a slot). A claimed job waits in its host's queue, which holds at most
//! `2 × per_host` jobs counting those in flight; a job beyond that is handed back to the
//! store, due again when a slot of its host should be free ([`Dispatch::admit`]) and
//! without counting an attempt. So one tenant's hanging receiver holds at most
//! `2 × per_host` jobs and `per_host` attempts, and never the claims of other hosts' jobs.
//!
//! Waiting jobs start in claim order per host, hosts taking turns. A waiting job has at
//! most `per_host` jobs of its host ahead of it in flight and `per_host - 1` waiting, so it
//! starts within about two attempt times of its claim; the worker's lease covers that and
//! the attempt, and [`Dispatch::next`] releases a job whose lease would end during its
//! attempt instead of starting it.

use std::collections::{HashMap, VecDeque};
use std::time::{Duration, Instant};

/// The shortest delay before a deferred job is due again.
const MIN_DEFER: Duration = Duration::from_millis(10);

/// The claimed jobs of the worker and the attempts in flight, per host key.
pub(crate) struct Dispatch<T> {
    per_host: usize,
    overall: usize,
    max_defer: Duration,
    hosts: HashMap<String, Host<T>>,
    /// The keys of hosts with waiting jobs, in turn order.
    turns: VecDeque<String>,
    in_flight: usize,
    waiting: usize,
}

struct Host<T> {
    /// When each attempt in flight started.
    started: Vec<Instant>,
    /// Jobs waiting for a slot, with the end of their lease.
    waiting: VecDeque<(T, Instant)>,
    /// How long the last attempt that ended took.
    last_duration: Duration,
    /// When the last job deferred for this host is due again.
    deferred_until: Instant,
}

/// What the worker does next with a held job.
pub(crate) enum Step<T> {
    /// Start its attempt now, and call [`Dispatch::finished`] with `key` and `started`
    /// when it ends.
    Start {
        /// Its host key.
        key: String,
        /// The job.
        job: T,
        /// When the attempt started.
        started: Instant,
    },
    /// Hand it back to the store, due at once: its lease would end during an attempt.
    Release(T),
}

impl<T> Dispatch<T> {
    /// Limits of `per_host` and `overall` attempts at a time (`per_host` at most
    /// `overall`); deferred jobs wait at most `max_defer` (an attempt's timeout: by then a
    /// slot of their host is free).
    pub(crate) fn new(per_host: usize, overall: usize, max_defer: Duration) -> Dispatch<T> {
        let overall = overall.max(1);
        Dispatch {
            per_host: per_host.clamp(1, overall),
            overall,
            max_defer: max_defer.max(MIN_DEFER),
            hosts: HashMap::new(),
            turns: VecDeque::new(),
            in_flight: 0,
            waiting: 0,
        }
    }

    /// How many more jobs the worker may claim.
    pub(crate) fn room(&self) -> usize {
        (2 * self.overall).saturating_sub(self.in_flight + self.waiting)
    }

    /// Attempts in flight.
    pub(crate) fn in_flight(&self) -> usize {
        self.in_flight
    }

    /// Holds a claimed job whose lease ends at `lease_end`, or gives it back with the delay
    /// after which it should be due again, when its host already holds `2 × per_host`.
    ///
    /// The delay follows the host's pace, the longer of its last attempt and its oldest
    /// attempt in flight: the first job deferred is due after one pace (when the attempts
    /// in flight should have ended), each further one a slot's share of a pace later, so
    /// that deferred jobs come back in their order, about when there is room for them.
    /// Delays are between 10 ms and `max_defer`: a hanging host's jobs come back once per
    /// attempt timeout, after a few short delays while its first attempts are young.
    pub(crate) fn admit(&mut self, key: String, job: T, lease_end: Instant, now: Instant) -> Option<(T, Duration)> {
        let host = self.hosts.entry(key.clone()).or_insert_with(|| Host {
            started: Vec::new(),
            waiting: VecDeque::new(),
            last_duration: Duration::ZERO,
            deferred_until: now,
        });
        if host.started.len() + host.waiting.len() >= 2 * self.per_host {
            let oldest = host.started.iter().map(|s| now.saturating_duration_since(*s)).max().unwrap_or_default();
            let pace = host.last_duration.max(oldest);
            let due = host.deferred_until.max(now + pace.max(MIN_DEFER)).min(now + self.max_defer);
            host.deferred_until = due + pace / self.per_host as u32;
            return Some((job, due - now));
        }
        if host.waiting.is_empty() {
            self.turns.push_back(key);
        }
        host.waiting.push_back((job, lease_end));
        self.waiting += 1;
        None
    }

    /// The next job to start (or to release), if a slot is free for one.
    pub(crate) fn next(&mut self, now: Instant, attempt_time: Duration) -> Option<Step<T>> {
        if self.in_flight >= self.overall {
            return None;
        }
        for _ in 0..self.turns.len() {
            let key = self.turns.pop_front()?;
            let host = self.hosts.get_mut(&key).expect("a host with its turn");
            if host.started.len() >= self.per_host {
                self.turns.push_back(key);
                continue;
            }
            let (job, lease_end) = host.waiting.pop_front().expect("a host with its turn has a waiting job");
            self.waiting -= 1;
            let more = !host.waiting.is_empty();
            if lease_end < now + attempt_time + Duration::from_secs(1) {
                if more {
                    self.turns.push_front(key);
                } else {
                    self.forget_if_idle(&key);
                }
                return Some(Step::Release(job));
            }
            host.started.push(now);
            self.in_flight += 1;
            if more {
                self.turns.push_back(key.clone());
            }
            return Some(Step::Start { key, job, started: now });
        }
        None
    }

    /// Records the end of an attempt that [`Dispatch::next`] started.
    pub(crate) fn finished(&mut self, key: &str, started: Instant, now: Instant) {
        let Some(host) = self.hosts.get_mut(key) else { return };
        let Some(position) = host.started.iter().position(|s| *s == started) else { return };
        host.started.swap_remove(position);
        host.last_duration = now.saturating_duration_since(started);
        self.in_flight -= 1;
        self.forget_if_idle(key);
    }

    /// Takes every waiting job (at shutdown, to hand them back).
    pub(crate) fn drain_waiting(&mut self) -> Vec<T> {
        self.turns.clear();
        self.waiting = 0;
        let drained = self.hosts.values_mut().flat_map(|host| host.waiting.drain(..).map(|(job, _)| job)).collect();
        self.hosts.retain(|_, host| !host.started.is_empty());
        drained
    }

    fn forget_if_idle(&mut self, key: &str) {
        if self.hosts.get(key).is_some_and(|host| host.started.is_empty() && host.waiting.is_empty()) {
            self.hosts.remove(key);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MINUTE: Duration = Duration::from_secs(60);

    fn start(dispatch: &mut Dispatch<u32>, now: Instant) -> Option<(String, u32, Instant)> {
        match dispatch.next(now, Duration::from_secs(1))? {
            Step::Start { key, job, started } => Some((key, job, started)),
            Step::Release(job) => panic!("job {job} released"),
        }
    }

    #[test]
    fn a_busy_host_holds_twice_its_limit_and_others_still_start() {
        let now = Instant::now();
        let mut dispatch = Dispatch::new(2, 4, Duration::from_secs(3));
        for job in 0..6 {
            let deferred = dispatch.admit("slow:80".into(), job, now + MINUTE, now);
            assert_eq!(deferred.map(|(job, _)| job), (job >= 4).then_some(job), "job {job}");
        }
        assert_eq!(dispatch.room(), 4);
        // Two of the slow host's jobs start; its other two wait for them.
        assert_eq!(start(&mut dispatch, now).map(|s| s.1), Some(0));
        assert_eq!(start(&mut dispatch, now).map(|s| s.1), Some(1));
        assert!(start(&mut dispatch, now).is_none());
        // Another host's job starts at once.
        assert!(dispatch.admit("fast:80".into(), 10, now + MINUTE, now).is_none());
        assert_eq!(start(&mut dispatch, now).map(|s| s.1), Some(10));
        assert_eq!(dispatch.in_flight(), 3);
        // When the slow host's first attempt ends, its next waiting job starts.
        let later = now + Duration::from_millis(500);
        dispatch.finished("slow:80", now, later);
        assert_eq!(start(&mut dispatch, later).map(|s| s.1), Some(2));
    }

    #[test]
    fn deferral_follows_the_host_pace() {
        let ms = Duration::from_millis;
        let now = Instant::now();
        let mut dispatch = Dispatch::new(1, 8, Duration::from_secs(3));
        dispatch.admit("h:80".into(), 0, now + MINUTE, now);
        dispatch.admit("h:80".into(), 1, now + MINUTE, now);
        assert_eq!(dispatch.admit("h:80".into(), 2, now + MINUTE, now), Some((2, MIN_DEFER)), "no history yet");
        let (_, _, started) = start(&mut dispatch, now).unwrap();
        // The attempt in flight for 2 s sets the pace: one job per 2 s, in order.
        let later = now + Duration::from_secs(2);
        assert_eq!(dispatch.admit("h:80".into(), 3, now + MINUTE, later), Some((3, ms(2000))));
        assert_eq!(dispatch.admit("h:80".into(), 4, now + MINUTE, later), Some((4, ms(3000))), "at most max_defer");
        let much_later = now + Duration::from_secs(30);
        assert_eq!(dispatch.admit("h:80".into(), 5, now + MINUTE, much_later), Some((5, ms(3000))));
        dispatch.finished("h:80", started, now + ms(20));
        assert!(dispatch.admit("h:80".into(), 6, now + MINUTE, much_later).is_none(), "room again");
    }

    #[test]
    fn deferred_jobs_of_a_fast_host_come_back_in_order_a_slot_apart() {
        let ms = Duration::from_millis;
        let now = Instant::now();
        let mut dispatch = Dispatch::new(4, 64, Duration::from_secs(3));
        for job in 0..8 {
            assert!(dispatch.admit("fast:80".into(), job, now + MINUTE, now).is_none());
        }
        let (_, _, started) = start(&mut dispatch, now).unwrap();
        dispatch.finished("fast:80", started, now + ms(40));
        assert!(dispatch.admit("fast:80".into(), 8, now + MINUTE, now + ms(40)).is_none());
        let waits: Vec<_> =
            (9..12).map(|job| dispatch.admit("fast:80".into(), job, now + MINUTE, now + ms(40)).unwrap().1).collect();
        assert_eq!(waits, [ms(40), ms(50), ms(60)]);
    }

    #[test]
    fn the_overall_limit_holds_and_hosts_take_turns() {
        let now = Instant::now();
        let mut dispatch = Dispatch::new(4, 2, Duration::from_secs(3));
        for (key, job) in [("a:80", 0), ("a:80", 1), ("b:80", 2), ("b:80", 3)] {
            assert!(dispatch.admit(key.into(), job, now + MINUTE, now).is_none());
        }
        assert_eq!(dispatch.room(), 0);
        let first = start(&mut dispatch, now).unwrap();
        let second = start(&mut dispatch, now).unwrap();
        assert_eq!((first.0.as_str(), second.0.as_str()), ("a:80", "b:80"), "hosts take turns");
        assert!(start(&mut dispatch, now).is_none(), "two in flight in all");
        dispatch.finished(&second.0, second.2, now);
        assert_eq!(start(&mut dispatch, now).map(|s| s.1), Some(1));
        assert_eq!(dispatch.drain_waiting(), vec![3]);
        assert_eq!(dispatch.room(), 2);
    }

    #[test]
    fn a_job_whose_lease_would_end_during_its_attempt_is_released() {
        let now = Instant::now();
        let mut dispatch = Dispatch::new(4, 4, Duration::from_secs(3));
        dispatch.admit("a:80".into(), 0, now + Duration::from_secs(1), now);
        dispatch.admit("a:80".into(), 1, now + MINUTE, now);
        assert!(matches!(dispatch.next(now, Duration::from_secs(1)), Some(Step::Release(0))));
        assert_eq!(start(&mut dispatch, now).map(|s| s.1), Some(1));
        assert_eq!(dispatch.room(), 7);
    }
}
