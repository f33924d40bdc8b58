//! The read caches of the embedded store: accounts by token hash (read on every request)
//! and measurements by id (polled by customers).
//!
//! They are right by construction: the writer's connection reports every row it changes
//! (SQLite's update hook, which also sees rows changed by foreign-key cascades), and after
//! each commit, before any caller is answered, the writer empties the caches of the tables
//! that changed. No write method has to remember to invalidate anything. A reader caches
//! what it read only if no invalidation happened while it read (a generation counter), so
//! a read that raced a commit is never kept.

use std::collections::HashMap;
use std::sync::Mutex;

use ctp_model::resources::{Account, Measurement};
use ctp_model::ResourceId;

/// Most measurements kept (the cache is emptied when full).
const MEASUREMENT_CACHE_SIZE: usize = 4096;

/// The tables a transaction changed, as far as the caches care.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Changed {
    /// A row of `accounts`.
    pub accounts: bool,
    /// A row of `measurements`, or of the tables a measurement read joins
    /// (`result_verifications`, `signing_required`).
    pub measurements: bool,
}

impl Changed {
    /// Notes a change to a row of `table`.
    pub fn note(&mut self, table: &str) {
        match table {
            "accounts" => self.accounts = true,
            "measurements" | "result_verifications" | "signing_required" => self.measurements = true,
            _ => {}
        }
    }
}

/// One cache: entries, and a generation bumped by each invalidation.
struct Entries<V> {
    generation: u64,
    by_key: HashMap<String, V>,
}

impl<V: Clone> Entries<V> {
    fn new() -> Self {
        Entries { generation: 0, by_key: HashMap::new() }
    }
}

/// A cache of values by key, emptied by the writer.
struct Cache<V> {
    entries: Mutex<Entries<V>>,
    capacity: usize,
}

impl<V: Clone> Cache<V> {
    fn new(capacity: usize) -> Self {
        Cache { entries: Mutex::new(Entries::new()), capacity }
    }

    /// The cached value, or the generation to hand back to [`Cache::keep`] after reading it.
    fn get(&self, key: &str) -> Result<V, u64> {
        let entries = self.entries.lock().expect("cache lock");
        entries.by_key.get(key).cloned().ok_or(entries.generation)
    }

    /// Keeps a value read while the cache was at `generation`, unless it was emptied since.
    fn keep(&self, key: &str, value: &V, generation: u64) {
        let mut entries = self.entries.lock().expect("cache lock");
        if entries.generation != generation {
            return;
        }
        if entries.by_key.len() >= self.capacity {
            entries.by_key.clear();
        }
        entries.by_key.insert(key.to_owned(), value.clone());
    }

    fn clear(&self) {
        let mut entries = self.entries.lock().expect("cache lock");
        entries.generation += 1;
        entries.by_key.clear();
    }
}

/// The caches of one store.
pub(crate) struct Caches {
    accounts_by_token_hash: Cache<Option<Account>>,
    measurements: Cache<Measurement>,
}

impl Caches {
    /// Empty caches.
    pub fn new() -> Caches {
        Caches { accounts_by_token_hash: Cache::new(usize::MAX), measurements: Cache::new(MEASUREMENT_CACHE_SIZE) }
    }

    /// Empties the caches of what a committed (or rolled back) batch changed.
    pub fn invalidate(&self, changed: Changed) {
        if changed.accounts {
            self.accounts_by_token_hash.clear();
        }
        if changed.measurements {
            self.measurements.clear();
        }
    }

    /// The account of a token hash, from the cache or from `read`.
    pub fn account_by_token_hash<E>(
        &self,
        token_hash: &str,
        read: impl FnOnce() -> Result<Option<Account>, E>,
    ) -> Result<Option<Account>, E> {
        match self.accounts_by_token_hash.get(token_hash) {
            Ok(account) => Ok(account),
            Err(generation) => {
                let found = read()?;
                // Unknown tokens are not cached: anyone can send any number of them.
                if found.is_some() {
                    self.accounts_by_token_hash.keep(token_hash, &found, generation);
                }
                Ok(found)
            }
        }
    }

    /// A measurement, from the cache or from `read`.
    pub fn measurement<E>(
        &self,
        id: &ResourceId,
        read: impl FnOnce() -> Result<Measurement, E>,
    ) -> Result<Measurement, E> {
        match self.measurements.get(id.as_str()) {
            Ok(measurement) => Ok(measurement),
            Err(generation) => {
                let measurement = read()?;
                self.measurements.keep(id.as_str(), &measurement, generation);
                Ok(measurement)
            }
        }
    }
}
