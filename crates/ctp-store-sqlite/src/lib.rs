//! The embedded store of ctpd: one SQLite file in WAL mode.
//!
//! Reads run on a small pool of reader connections, directly in the calling task (point
//! reads by primary key take microseconds). Writes go to the single writer thread of
//! [`writer`], which commits concurrent writes together (group commit) with
//! `synchronous = FULL`: a write is acknowledged only once it is on disk.

mod rows;
mod schema;
mod writer;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use ctp_model::resources::{
    Account, Asset, Attribute, Delivery, DeliveryState, Evaluated, Kind, LogBody, LogEntry, Measurement,
    MeasurementState, Member, Metric, Ref, Trigger, View,
};
use ctp_model::trigger_rules::Alert;
use ctp_model::{tags, CheckedResult, ConditionCache, Evaluate, Evaluations, ResourceId, Status, Timestamp};
use ctp_store::dump::{self, Cell, ColumnType, Dump};
use ctp_store::{
    shared, DeliveryOutcome, DueDelivery, LogFilter, NewAccount, NewAsset, NewAttribute, NewMeasurement, NewMetric,
    NewTrigger, NewView, PushOutcome, Store, StoreError, StoreResult, Window,
};
use rusqlite::{params, Connection, OpenFlags};

use crate::rows::{backend, tags_to_text};
use crate::writer::Writer;

/// Reader connections kept open between requests.
const MAX_IDLE_READERS: usize = 16;

/// The embedded store.
pub struct SqliteStore {
    path: PathBuf,
    idle_readers: Mutex<Vec<Connection>>,
    writer: Writer,
    /// Accounts by token hash, read on every request. Every write to `accounts` goes
    /// through this process (one `ctpd` per database file, as SQLite's single writer
    /// requires anyway) and invalidates it after its commit, so it is never stale.
    accounts_by_token: Mutex<AccountCache>,
    /// Bumped after every write: a cached read is used only while no write happened since.
    write_generation: AtomicU64,
    /// Measurements by id, tagged with the write generation they were read at: customers
    /// poll measurements, and a read from the cache skips an SQLite read transaction.
    measurements_cache: Mutex<HashMap<ResourceId, (u64, Measurement)>>,
}

/// Most measurements kept in the read cache (it is emptied when full).
const MEASUREMENT_CACHE_SIZE: usize = 4096;

/// Cached accounts and a generation that each account write bumps after its commit: a
/// reader caches what it read only if no write committed in between.
#[derive(Default)]
struct AccountCache {
    generation: u64,
    by_token_hash: HashMap<String, Account>,
}

impl SqliteStore {
    /// Opens (creating when missing, with its folder) the database file at `path` and
    /// applies the schema migrations.
    pub fn open(path: &Path) -> StoreResult<Arc<SqliteStore>> {
        private_file(path).map_err(|e| StoreError::Backend(format!("cannot create {}: {e}", path.display())))?;
        let mut conn = Connection::open(path).map_err(backend)?;
        schema::configure(&conn).map_err(backend)?;
        schema::migrate(&mut conn).map_err(backend)?;
        let writer = Writer::start(conn).map_err(|e| StoreError::Backend(e.to_string()))?;
        Ok(Arc::new(SqliteStore {
            path: path.to_owned(),
            idle_readers: Mutex::new(Vec::new()),
            writer,
            accounts_by_token: Mutex::default(),
            write_generation: AtomicU64::new(0),
            measurements_cache: Mutex::default(),
        }))
    }

    /// Forgets every cached account; called after each committed write to `accounts`.
    fn accounts_changed(&self) {
        let mut cache = self.accounts_by_token.lock().expect("account cache lock");
        cache.generation += 1;
        cache.by_token_hash.clear();
    }

    /// Runs a write on the writer thread (one transaction, durably committed), then
    /// invalidates the read cache.
    async fn write<T: Send + 'static>(
        &self,
        operation: impl FnOnce(&Connection) -> StoreResult<T> + Send + 'static,
    ) -> StoreResult<T> {
        let outcome = self.writer.write(operation).await;
        self.write_generation.fetch_add(1, Ordering::SeqCst);
        outcome
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    fn read<T>(&self, query: impl FnOnce(&Connection) -> StoreResult<T>) -> StoreResult<T> {
        let idle = self.idle_readers.lock().expect("reader pool lock").pop();
        let conn = match idle {
            Some(conn) => conn,
            None => {
                let flags = OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX;
                let conn = Connection::open_with_flags(&self.path, flags).map_err(backend)?;
                conn.busy_timeout(std::time::Duration::from_secs(10)).map_err(backend)?;
                conn.set_prepared_statement_cache_capacity(128);
                conn
            }
        };
        let result = query(&conn);
        let mut idle = self.idle_readers.lock().expect("reader pool lock");
        if idle.len() < MAX_IDLE_READERS {
            idle.push(conn);
        }
        result
    }
}

fn header_params(header: &ctp_model::resources::Header) -> (&str, &str) {
    (&header.name, &header.annotation)
}

/// Writes a log entry for a trigger's alert.
fn insert_log(
    conn: &Connection,
    trigger: &Trigger,
    alert: Alert,
    result: &str,
    now: Timestamp,
) -> StoreResult<LogEntry> {
    let entry = shared::log_entry(trigger, alert, result, now);
    let (result_text, error_text) = match &entry.body {
        LogBody::Result(r) => (Some(r.as_str()), None),
        LogBody::Error(e) => (None, Some(e.as_str())),
    };
    conn.prepare_cached(
        "INSERT INTO logs (id, view_id, trigger_id, creation_time, result, error, tags, access_tags) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
    )
    .and_then(|mut s| {
        s.execute(params![
            entry.id.as_str(),
            entry.view_id.as_str(),
            entry.trigger_id.as_str(),
            now.millis(),
            result_text,
            error_text,
            tags_to_text(&entry.tags),
            tags_to_text(&entry.access_tags)
        ])
    })
    .map_err(backend)?;
    if !trigger.notification.is_empty() {
        enqueue_delivery(conn, trigger, &entry)?;
    }
    Ok(entry)
}

/// Writes the outbox job that sends a new log entry to its trigger's `notification`, in
/// the transaction of the log entry.
fn enqueue_delivery(conn: &Connection, trigger: &Trigger, entry: &LogEntry) -> StoreResult<()> {
    conn.prepare_cached(
        "INSERT INTO deliveries (id, log_id, trigger_id, view_id, owner_id, target, state, attempts, next_attempt, \
         claimed, creation_time, access_tags) VALUES (?1, ?2, ?3, ?4, ?5, ?6, 'pending', 0, ?7, 0, ?7, ?8)",
    )
    .and_then(|mut s| {
        s.execute(params![
            ResourceId::generate().as_str(),
            entry.id.as_str(),
            trigger.id.as_str(),
            entry.view_id.as_str(),
            trigger.owner_id.as_ref().map(ResourceId::as_str),
            trigger.notification,
            entry.creation_time.millis(),
            tags_to_text(&entry.access_tags)
        ])
    })
    .map_err(backend)?;
    Ok(())
}

/// Applies 5.3.2 to one trigger on `result`: updates its status and writes its log entry.
fn process_trigger(
    conn: &Connection,
    trigger: &Trigger,
    result_raw: &str,
    result_value: &serde_json::Value,
    now: Timestamp,
    change: i64,
    conditions: &dyn Evaluate,
) -> StoreResult<Option<LogEntry>> {
    let step = shared::trigger_step(trigger, result_value, now, conditions);
    if let Some((status, time)) = step.new_status {
        conn.prepare_cached("UPDATE triggers SET status = ?1, status_time = ?2, change_id = ?3 WHERE id = ?4")
            .and_then(|mut s| s.execute(params![status.as_str(), time.millis(), change, trigger.id.as_str()]))
            .map_err(backend)?;
        rows::touch_trigger(conn, trigger, change)?;
    }
    step.alert.map(|alert| insert_log(conn, trigger, alert, result_raw, now)).transpose()
}

/// Makes sure a resource exists (of the right kind, for views), or answers `NotFound`.
/// Creates the database's folder (0700) and file (0600) when they do not exist, and takes
/// the group's and others' rights away from an existing file: it holds token hashes and
/// webhook secrets. SQLite creates its `-wal` and `-shm` files with the file's mode.
fn private_file(path: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
    if let Some(folder) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::DirBuilder::new().recursive(true).mode(0o700).create(folder)?;
    }
    let file = std::fs::OpenOptions::new().create(true).append(true).mode(0o600).open(path)?;
    let mode = file.metadata()?.permissions().mode();
    if mode & 0o077 != 0 {
        file.set_permissions(std::fs::Permissions::from_mode(mode & 0o700))?;
        for suffix in ["-wal", "-shm"] {
            let mut companion = path.as_os_str().to_owned();
            companion.push(suffix);
            if std::path::Path::new(&companion).exists() {
                std::fs::set_permissions(&companion, std::fs::Permissions::from_mode(0o600))?;
            }
        }
    }
    Ok(())
}

/// The texts a query of one column (with `?1` for `id`) selects.
fn strings(conn: &Connection, sql: &str, id: &ResourceId) -> StoreResult<Vec<String>> {
    let mut statement = conn.prepare_cached(sql).map_err(backend)?;
    let rows = statement.query_map([id.as_str()], |row| row.get::<_, String>(0)).map_err(backend)?;
    rows.collect::<Result<_, _>>().map_err(backend)
}

/// The ids and access tags of the rows a query (of `id`, `access_tags`, with `?1` for `id`)
/// selects.
fn row_tags(conn: &Connection, sql: &str, id: &ResourceId) -> StoreResult<Vec<(String, Vec<String>)>> {
    let mut statement = conn.prepare_cached(sql).map_err(backend)?;
    let rows = statement
        .query_map([id.as_str()], |row| Ok((row.get::<_, String>(0)?, row.get::<_, String>(1)?)))
        .map_err(backend)?;
    rows.map(|row| {
        let (id, text) = row.map_err(backend)?;
        Ok((id, serde_json::from_str(&text).map_err(|e| StoreError::Backend(e.to_string()))?))
    })
    .collect()
}

/// Sets the access tags of one row, and its change identifier when the table has one.
fn set_row_tags(
    conn: &Connection,
    table: &str,
    has_change_id: bool,
    id: &str,
    tags: &[String],
    change: i64,
) -> StoreResult<()> {
    let text = tags_to_text(tags);
    if has_change_id {
        conn.execute(
            &format!("UPDATE {table} SET access_tags = ?1, change_id = ?2 WHERE id = ?3"),
            params![text, change, id],
        )
    } else {
        conn.execute(&format!("UPDATE {table} SET access_tags = ?1 WHERE id = ?2"), params![text, id])
    }
    .map(drop)
    .map_err(backend)
}

fn require(conn: &Connection, resource: &Ref) -> StoreResult<()> {
    match resource.kind {
        Kind::ServiceView | Kind::Dependency => rows::load_view(conn, resource.kind, &resource.id).map(drop),
        kind => {
            let sql = format!("SELECT 1 FROM {} WHERE id = ?1", shared::table_of(kind));
            let found =
                conn.prepare_cached(&sql).and_then(|mut s| s.exists([resource.id.as_str()])).map_err(backend)?;
            if found {
                Ok(())
            } else {
                Err(StoreError::NotFound(kind, resource.id.clone()))
            }
        }
    }
}

#[async_trait]
impl Store for SqliteStore {
    async fn account_by_token_hash(&self, token_hash: &str) -> StoreResult<Option<Account>> {
        let generation = {
            let cache = self.accounts_by_token.lock().expect("account cache lock");
            if let Some(account) = cache.by_token_hash.get(token_hash) {
                return Ok(Some(account.clone()));
            }
            cache.generation
        };
        let found = self.read(|conn| rows::account_by_token_hash(conn, token_hash))?;
        if let Some(account) = &found {
            let mut cache = self.accounts_by_token.lock().expect("account cache lock");
            if cache.generation == generation {
                cache.by_token_hash.insert(token_hash.to_owned(), account.clone());
            }
        }
        Ok(found)
    }

    async fn create_account(&self, account: NewAccount) -> StoreResult<Account> {
        let created = self
            .write(move |conn| {
                if rows::account_by_token_hash(conn, &account.token_hash)?.is_some() {
                    return Err(StoreError::Conflict("an account already has this token".into()));
                }
                if rows::load_account(conn, &account.id).is_ok() {
                    return Err(StoreError::Conflict(format!("an account with id {} exists", account.id)));
                }
                insert_account(conn, &account)?;
                rows::load_account(conn, &account.id)
            })
            .await;
        self.accounts_changed();
        created
    }

    async fn ensure_account(&self, account: NewAccount) -> StoreResult<Account> {
        let ensured = self
            .write(move |conn| {
                // An existing account keeps its place, its webhook secret (receivers keep
                // verifying) and, when nothing changes, its changeId.
                conn.execute(
                    "DELETE FROM accounts WHERE token_hash = ?1 AND id <> ?2",
                    params![account.token_hash, account.id.as_str()],
                )
                .map_err(backend)?;
                if let Ok(existing) = rows::load_account(conn, &account.id) {
                    if !shared::account_differs(&existing, &account) {
                        return Ok(existing);
                    }
                    let change = rows::next_change_id(conn)?;
                    conn.execute(
                        "UPDATE accounts SET name = ?1, annotation = ?2, account_tags = ?3, access_tags = ?4, \
                         token_hash = ?5, change_id = ?6 WHERE id = ?7",
                        params![
                            account.header.name,
                            account.header.annotation,
                            tags_to_text(&account.account_tags),
                            tags_to_text(&account.access_tags),
                            account.token_hash,
                            change,
                            account.id.as_str()
                        ],
                    )
                    .map_err(backend)?;
                    return rows::load_account(conn, &account.id);
                }
                insert_account(conn, &account)?;
                rows::load_account(conn, &account.id)
            })
            .await;
        self.accounts_changed();
        ensured
    }

    async fn account(&self, id: &ResourceId) -> StoreResult<Account> {
        self.read(|conn| rows::load_account(conn, id))
    }

    async fn accounts(&self) -> StoreResult<Vec<Member>> {
        self.read(|conn| rows::members(conn, "SELECT id, name, access_tags FROM accounts ORDER BY seq", []))
    }

    async fn delete_account(&self, id: &ResourceId) -> StoreResult<()> {
        self.delete(&Ref { kind: Kind::Account, id: id.clone() }).await
    }

    async fn view(&self, kind: Kind, id: &ResourceId) -> StoreResult<View> {
        self.read(|conn| rows::load_view(conn, kind, id))
    }

    async fn asset(&self, id: &ResourceId) -> StoreResult<Asset> {
        self.read(|conn| rows::load_asset(conn, id))
    }

    async fn attribute(&self, id: &ResourceId) -> StoreResult<Attribute> {
        self.read(|conn| rows::load_attribute(conn, id))
    }

    async fn measurement(&self, id: &ResourceId) -> StoreResult<Measurement> {
        let generation = self.write_generation.load(Ordering::SeqCst);
        if let Some((cached_at, measurement)) = self.measurements_cache.lock().expect("cache lock").get(id) {
            if *cached_at == generation {
                return Ok(measurement.clone());
            }
        }
        let measurement = self.read(|conn| rows::load_measurement(conn, id))?;
        // Cached only if no write happened while it was read.
        if self.write_generation.load(Ordering::SeqCst) == generation {
            let mut cache = self.measurements_cache.lock().expect("cache lock");
            if cache.len() >= MEASUREMENT_CACHE_SIZE {
                cache.clear();
            }
            cache.insert(id.clone(), (generation, measurement.clone()));
        }
        Ok(measurement)
    }

    async fn metric(&self, id: &ResourceId) -> StoreResult<Metric> {
        self.read(|conn| rows::load_metric(conn, id))
    }

    async fn trigger(&self, id: &ResourceId) -> StoreResult<Trigger> {
        self.read(|conn| rows::load_trigger(conn, id))
    }

    async fn log_entry(&self, id: &ResourceId) -> StoreResult<LogEntry> {
        self.read(|conn| rows::load_log(conn, id))
    }

    async fn service_views(&self) -> StoreResult<Vec<Member>> {
        self.read(|conn| {
            rows::members(conn, "SELECT id, name, access_tags FROM views WHERE parent_kind IS NULL ORDER BY seq", [])
        })
    }

    async fn dependencies(&self, parent: &Ref) -> StoreResult<Vec<Member>> {
        self.read(|conn| {
            rows::members(
                conn,
                "SELECT id, name, access_tags FROM views WHERE parent_kind = ?1 AND parent_id = ?2 ORDER BY seq",
                params![parent.kind.segment(), parent.id.as_str()],
            )
        })
    }

    async fn assets(&self, view_id: &ResourceId) -> StoreResult<Vec<Member>> {
        self.read(|conn| {
            rows::members(
                conn,
                "SELECT id, name, access_tags FROM assets WHERE view_id = ?1 ORDER BY seq",
                [view_id.as_str()],
            )
        })
    }

    async fn attributes(&self, asset_id: &ResourceId) -> StoreResult<Vec<Member>> {
        self.read(|conn| {
            rows::members(
                conn,
                "SELECT id, name, access_tags FROM attributes WHERE asset_id = ?1 ORDER BY seq",
                [asset_id.as_str()],
            )
        })
    }

    async fn measurements(&self, attribute_id: &ResourceId) -> StoreResult<Vec<Member>> {
        self.read(|conn| {
            rows::members(
                conn,
                "SELECT id, name, access_tags FROM measurements WHERE attribute_id = ?1 ORDER BY seq",
                [attribute_id.as_str()],
            )
        })
    }

    async fn metrics(&self) -> StoreResult<Vec<Member>> {
        self.read(|conn| rows::members(conn, "SELECT id, name, access_tags FROM metrics ORDER BY seq", []))
    }

    async fn triggers(&self, view_id: &ResourceId) -> StoreResult<Vec<Member>> {
        self.read(|conn| {
            rows::members(
                conn,
                "SELECT id, name, access_tags FROM triggers WHERE view_id = ?1 ORDER BY seq",
                [view_id.as_str()],
            )
        })
    }

    async fn trigger_conditions(&self, measurement_id: &ResourceId) -> StoreResult<Vec<String>> {
        self.read(|conn| {
            strings(conn, "SELECT DISTINCT condition FROM triggers WHERE measurement_id = ?1", measurement_id)
        })
    }

    async fn conditions_of_owner(&self, owner_id: &ResourceId) -> StoreResult<Vec<String>> {
        self.read(|conn| strings(conn, "SELECT condition FROM triggers WHERE owner_id = ?1", owner_id))
    }

    async fn logs(
        &self,
        view_id: Option<&ResourceId>,
        filter: &LogFilter,
        window: Option<Window>,
    ) -> StoreResult<(u64, Vec<Member>)> {
        self.read(|conn| {
            // Filters in SQL; the tag filter needs every tag, which SQLite's json_each
            // expresses as a count of matches.
            let mut conditions = vec!["(?1 IS NULL OR view_id = ?1)", "(?2 IS NULL OR creation_time >= ?2)"];
            conditions.push("(?3 IS NULL OR creation_time < ?3)");
            conditions.push(
                "(SELECT COUNT(*) FROM json_each(?4) AS wanted WHERE wanted.value IN \
                 (SELECT value FROM json_each(logs.tags))) = json_array_length(?4)",
            );
            conditions.push(
                "(?5 IS NULL OR EXISTS (SELECT 1 FROM json_each(logs.access_tags) AS tag \
                 WHERE tag.value IN (SELECT value FROM json_each(?5))))",
            );
            let filter_sql = conditions.join(" AND ");
            let wanted = tags_to_text(&filter.tags);
            let visible_to = filter.visible_to.as_deref().map(tags_to_text);
            let view = view_id.map(ResourceId::as_str);
            let oldest = filter.oldest.map(Timestamp::millis);
            let newest = filter.newest.map(Timestamp::millis);
            let total: i64 = conn
                .prepare_cached(&format!("SELECT COUNT(*) FROM logs WHERE {filter_sql}"))
                .and_then(|mut s| s.query_row(params![view, oldest, newest, wanted, visible_to], |row| row.get(0)))
                .map_err(backend)?;
            let (offset, limit) = window.map_or((0, -1), Window::sql_offset_and_limit);
            let listed = rows::members(
                conn,
                &format!(
                    "SELECT id, '' AS name, access_tags FROM logs WHERE {filter_sql} \
                     ORDER BY creation_time, seq LIMIT ?7 OFFSET ?6"
                ),
                params![view, oldest, newest, wanted, visible_to, offset, limit],
            )?;
            Ok((total as u64, listed))
        })
    }

    async fn create_view(&self, parent: Option<&Ref>, view: NewView) -> StoreResult<View> {
        let parent = parent.cloned();
        self.write(move |conn| {
                let inherited = match &parent {
                    None => Vec::new(),
                    Some(p) => rows::load_view(conn, p.kind, &p.id)?.access_tags,
                };
                let id = ResourceId::generate();
                let change = rows::next_change_id(conn)?;
                let (name, annotation) = header_params(&view.header);
                conn.execute(
                    "INSERT INTO views (id, parent_kind, parent_id, name, annotation, provider, service_class, change_id, access_tags) \
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
                    params![
                        id.as_str(),
                        parent.as_ref().map(|p| p.kind.segment()),
                        parent.as_ref().map(|p| p.id.as_str()),
                        name,
                        annotation,
                        view.provider,
                        view.service_class,
                        change,
                        tags_to_text(view.access_tags.as_ref().unwrap_or(&inherited))
                    ],
                )
                .map_err(backend)?;
                if let Some(p) = &parent {
                    rows::touch_view(conn, &p.id, change)?;
                }
                let kind = if parent.is_some() { Kind::Dependency } else { Kind::ServiceView };
                rows::load_view(conn, kind, &id)
            })
            .await
    }

    async fn create_asset(&self, view_id: &ResourceId, asset: NewAsset) -> StoreResult<Asset> {
        let view_id = view_id.clone();
        self.write(move |conn| {
            let view = rows::load_any_view(conn, &view_id)?;
            let id = ResourceId::generate();
            let change = rows::next_change_id(conn)?;
            let (name, annotation) = header_params(&asset.header);
            conn.execute(
                "INSERT INTO assets (id, view_id, name, annotation, asset_class, change_id, access_tags) \
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                params![
                    id.as_str(),
                    view_id.as_str(),
                    name,
                    annotation,
                    asset.asset_class,
                    change,
                    tags_to_text(asset.access_tags.as_ref().unwrap_or(&view.access_tags))
                ],
            )
            .map_err(backend)?;
            rows::touch_view(conn, &view_id, change)?;
            rows::load_asset(conn, &id)
        })
        .await
    }

    async fn create_attribute(&self, asset_id: &ResourceId, attribute: NewAttribute) -> StoreResult<Attribute> {
        let asset_id = asset_id.clone();
        self.write(move |conn| {
            let asset = rows::load_asset(conn, &asset_id)?;
            let id = ResourceId::generate();
            let change = rows::next_change_id(conn)?;
            let (name, annotation) = header_params(&attribute.header);
            conn.execute(
                "INSERT INTO attributes (id, asset_id, name, annotation, change_id, access_tags) \
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                params![
                    id.as_str(),
                    asset_id.as_str(),
                    name,
                    annotation,
                    change,
                    tags_to_text(attribute.access_tags.as_ref().unwrap_or(&asset.access_tags))
                ],
            )
            .map_err(backend)?;
            rows::touch_asset(conn, &asset, change)?;
            rows::load_attribute(conn, &id)
        })
        .await
    }

    async fn create_metric(&self, metric: NewMetric) -> StoreResult<Metric> {
        self.write(move |conn| {
                let id = ResourceId::generate();
                let change = rows::next_change_id(conn)?;
                let (name, annotation) = header_params(&metric.header);
                let default_tags = vec![tags::ROLE_USER.to_owned()];
                conn.execute(
                    "INSERT INTO metrics (id, name, annotation, base_metric, parameters, result_format, change_id, access_tags) \
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
                    params![
                        id.as_str(),
                        name,
                        annotation,
                        metric.base_metric,
                        serde_json::to_string(&metric.parameters).map_err(|e| StoreError::Backend(e.to_string()))?,
                        serde_json::to_string(&metric.result_format).map_err(|e| StoreError::Backend(e.to_string()))?,
                        change,
                        tags_to_text(metric.access_tags.as_ref().unwrap_or(&default_tags))
                    ],
                )
                .map_err(backend)?;
                rows::load_metric(conn, &id)
            })
            .await
    }

    async fn create_measurement(
        &self,
        attribute_id: &ResourceId,
        measurement: NewMeasurement,
        now: Timestamp,
        conditions: &Arc<ConditionCache>,
    ) -> StoreResult<Measurement> {
        let attribute_id = attribute_id.clone();
        let conditions = Arc::clone(conditions);
        self.write(move |conn| {
            let attribute = rows::load_attribute(conn, &attribute_id)?;
            let asset = rows::load_asset(conn, &attribute.asset_id)?;
            rows::load_metric(conn, &measurement.metric_id).map_err(|_| {
                StoreError::Invalid(format!("no metric with id {} (create the metric first)", measurement.metric_id))
            })?;
            let id = ResourceId::generate();
            let change = rows::next_change_id(conn)?;
            let (name, annotation) = header_params(&measurement.header);
            let objective = shared::first_objective(&measurement, now, conditions.as_ref());
            let objective_status = objective.as_ref().map(|o| o.status.as_str());
            let objective_time = objective.as_ref().map(|o| o.status_update_time.millis());
            let result = measurement.result.as_ref().map(|r| r.raw.as_str());
            conn.execute(
                "INSERT INTO measurements (id, attribute_id, view_id, metric_id, name, annotation, result, \
                     objective_condition, objective_status, objective_time, triggers_allowed, user_activated, state, \
                     change_id, access_tags) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?15, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14)",
                params![
                    id.as_str(),
                    attribute_id.as_str(),
                    asset.view_id.as_str(),
                    measurement.metric_id.as_str(),
                    name,
                    annotation,
                    measurement.objective,
                    objective_status,
                    objective_time,
                    measurement.triggers_allowed,
                    measurement.user_activated,
                    measurement.state.as_str(),
                    change,
                    tags_to_text(measurement.access_tags.as_ref().unwrap_or(&attribute.access_tags)),
                    result
                ],
            )
            .map_err(backend)?;
            rows::touch_attribute(conn, &attribute, change)?;
            rows::load_measurement(conn, &id)
        })
        .await
    }

    async fn create_trigger(
        &self,
        view_id: &ResourceId,
        trigger: NewTrigger,
        now: Timestamp,
        evaluations: Arc<Evaluations>,
    ) -> StoreResult<(Trigger, Vec<LogEntry>)> {
        let view_id = view_id.clone();
        let conditions = evaluations;
        self.write(move |conn| {
            rows::load_any_view(conn, &view_id)?;
            let found = rows::load_measurement(conn, &trigger.measurement_id);
            let measurement = shared::trigger_measurement(found, &trigger.measurement_id, &view_id)?;
            let id = ResourceId::generate();
            let change = rows::next_change_id(conn)?;
            let (name, annotation) = header_params(&trigger.header);
            conn.execute(
                "INSERT INTO triggers (id, view_id, measurement_id, name, annotation, condition, status, status_time, \
                     notification, guard_time, tags, change_id, access_tags, owner_id) \
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, 'false', ?7, ?8, ?9, ?10, ?11, ?12, ?13)",
                params![
                    id.as_str(),
                    view_id.as_str(),
                    measurement.id.as_str(),
                    name,
                    annotation,
                    trigger.condition,
                    now.millis(),
                    trigger.notification,
                    trigger.guard_time,
                    tags_to_text(&trigger.tags),
                    change,
                    tags_to_text(&tags::held_tags(&measurement.access_tags, &trigger.owner_tags)),
                    trigger.owner_id.as_ref().map(ResourceId::as_str)
                ],
            )
            .map_err(backend)?;
            rows::touch_view(conn, &view_id, change)?;
            let created = rows::load_trigger(conn, &id)?;
            let mut logs = Vec::new();
            if let Some(raw) = &measurement.result {
                let value = shared::decode_result(raw)?;
                logs.extend(process_trigger(conn, &created, raw, &value, now, change, conditions.as_ref())?);
            }
            Ok((rows::load_trigger(conn, &id)?, logs))
        })
        .await
    }

    async fn push_result(
        &self,
        measurement_id: &ResourceId,
        result: CheckedResult,
        now: Timestamp,
        evaluations: Arc<Evaluations>,
    ) -> StoreResult<PushOutcome> {
        let measurement_id = measurement_id.clone();
        let conditions = evaluations;
        self.write(move |conn| {
            let measurement = rows::load_measurement(conn, &measurement_id)?;
            shared::accepts_results(&measurement)?;
            let change = rows::next_change_id(conn)?;
            let objective = measurement.objective.as_ref().map(|o| Evaluated {
                condition: o.condition.clone(),
                status: shared::objective_status(&o.condition, Some(&result.value), now, conditions.as_ref()),
                status_update_time: now,
            });
            conn.prepare_cached(
                "UPDATE measurements SET result = ?1, state = 'activated', objective_status = ?2, \
                     objective_time = ?3, change_id = ?4 WHERE id = ?5",
            )
            .and_then(|mut s| {
                s.execute(params![
                    result.raw,
                    objective.as_ref().map(|o| o.status.as_str()),
                    objective.as_ref().map(|o| o.status_update_time.millis()),
                    change,
                    measurement_id.as_str()
                ])
            })
            .map_err(backend)?;
            rows::touch_measurement(conn, &measurement, change)?;
            let mut logs = Vec::new();
            for trigger in rows::triggers_of_measurement(conn, &measurement_id)? {
                logs.extend(process_trigger(
                    conn,
                    &trigger,
                    &result.raw,
                    &result.value,
                    now,
                    change,
                    conditions.as_ref(),
                )?);
            }
            let measurement = Measurement {
                result: Some(result.raw),
                state: MeasurementState::Activated,
                objective,
                change_id: change,
                ..measurement
            };
            Ok(PushOutcome { measurement, logs })
        })
        .await
    }

    async fn set_objective(
        &self,
        measurement_id: &ResourceId,
        condition: Option<String>,
        now: Timestamp,
        conditions: &Arc<ConditionCache>,
    ) -> StoreResult<Measurement> {
        let measurement_id = measurement_id.clone();
        let conditions = Arc::clone(conditions);
        self.write(move |conn| {
            let measurement = rows::load_measurement(conn, &measurement_id)?;
            let change = rows::next_change_id(conn)?;
            let status = match (&condition, &measurement.result) {
                (Some(c), Some(raw)) => {
                    Some(shared::objective_status(c, Some(&shared::decode_result(raw)?), now, conditions.as_ref()))
                }
                (Some(_), None) => Some(Status::False),
                (None, _) => None,
            };
            conn.execute(
                "UPDATE measurements SET objective_condition = ?1, objective_status = ?2, objective_time = ?3, \
                     change_id = ?4 WHERE id = ?5",
                params![
                    condition,
                    status.map(Status::as_str),
                    status.map(|_| now.millis()),
                    change,
                    measurement_id.as_str()
                ],
            )
            .map_err(backend)?;
            rows::touch_measurement(conn, &measurement, change)?;
            rows::load_measurement(conn, &measurement_id)
        })
        .await
    }

    async fn set_state(&self, measurement_id: &ResourceId, state: MeasurementState) -> StoreResult<Measurement> {
        let measurement_id = measurement_id.clone();
        self.write(move |conn| {
            let measurement = rows::load_measurement(conn, &measurement_id)?;
            shared::user_activated(&measurement)?;
            let (new_state, clear_result) = shared::state_transition(measurement.state, state);
            if new_state == measurement.state && !clear_result {
                return Ok(measurement);
            }
            let change = rows::next_change_id(conn)?;
            conn.execute(
                "UPDATE measurements SET state = ?1, result = CASE WHEN ?2 THEN NULL ELSE result END, \
                     change_id = ?3 WHERE id = ?4",
                params![new_state.as_str(), clear_result, change, measurement_id.as_str()],
            )
            .map_err(backend)?;
            rows::touch_measurement(conn, &measurement, change)?;
            rows::load_measurement(conn, &measurement_id)
        })
        .await
    }

    async fn access_tags(&self, resource: &Ref) -> StoreResult<Vec<String>> {
        self.read(|conn| {
            require(conn, resource)?;
            let sql = format!("SELECT access_tags FROM {} WHERE id = ?1", shared::table_of(resource.kind));
            let text: String = conn
                .prepare_cached(&sql)
                .and_then(|mut s| s.query_row([resource.id.as_str()], |row| row.get(0)))
                .map_err(backend)?;
            serde_json::from_str(&text).map_err(|e| StoreError::Backend(e.to_string()))
        })
    }

    async fn set_access_tags(&self, resource: &Ref, tags: Vec<String>, subtree: bool) -> StoreResult<Vec<String>> {
        let resource = resource.clone();
        let is_account = resource.kind == Kind::Account;
        let updated = self
            .write(move |conn| {
                require(conn, &resource)?;
                let table = shared::table_of(resource.kind);
                let change = rows::next_change_id(conn)?;
                set_row_tags(conn, table, resource.kind != Kind::Log, resource.id.as_str(), &tags, change)?;
                if subtree {
                    for below in shared::below(resource.kind) {
                        let sql = format!(
                            "SELECT id, access_tags FROM {} WHERE {}",
                            below.table,
                            below.condition.replace("{id}", "?1")
                        );
                        for (id, row_tags) in row_tags(conn, &sql, &resource.id)? {
                            if let Some(new) = shared::cascade_tags(&tags, &row_tags, below.private) {
                                set_row_tags(conn, below.table, below.has_change_id, &id, &new, change)?;
                            }
                        }
                    }
                }
                Ok(tags)
            })
            .await;
        if is_account {
            self.accounts_changed();
        }
        updated
    }

    async fn delete(&self, resource: &Ref) -> StoreResult<()> {
        let resource = resource.clone();
        let is_account = resource.kind == Kind::Account;
        let deleted = self
            .write(move |conn| {
                require(conn, &resource)?;
                let change = rows::next_change_id(conn)?;
                // The parents whose collections change, for their change identifiers.
                match resource.kind {
                    Kind::Dependency => {
                        let view = rows::load_view(conn, Kind::Dependency, &resource.id)?;
                        if let Some(parent) = view.parent {
                            rows::touch_view(conn, &parent.id, change)?;
                        }
                    }
                    Kind::Asset => {
                        let asset = rows::load_asset(conn, &resource.id)?;
                        rows::touch_view(conn, &asset.view_id, change)?;
                    }
                    Kind::Attribute => {
                        let attribute = rows::load_attribute(conn, &resource.id)?;
                        rows::touch_asset(conn, &rows::load_asset(conn, &attribute.asset_id)?, change)?;
                    }
                    Kind::Measurement => {
                        let measurement = rows::load_measurement(conn, &resource.id)?;
                        rows::touch_attribute(conn, &rows::load_attribute(conn, &measurement.attribute_id)?, change)?;
                    }
                    Kind::Trigger => {
                        let trigger = rows::load_trigger(conn, &resource.id)?;
                        rows::touch_view(conn, &trigger.view_id, change)?;
                    }
                    Kind::Metric => {
                        let users: i64 = conn
                            .query_row(
                                "SELECT COUNT(*) FROM measurements WHERE metric_id = ?1",
                                [resource.id.as_str()],
                                |r| r.get(0),
                            )
                            .map_err(backend)?;
                        shared::metric_unused(&resource.id, users)?;
                    }
                    Kind::ServiceView | Kind::Log | Kind::Account | Kind::Delivery => {}
                }
                // Cascades (assets, attributes, measurements, triggers, logs, dependencies)
                // follow from the schema's foreign keys.
                conn.execute(
                    &format!("DELETE FROM {} WHERE id = ?1", shared::table_of(resource.kind)),
                    [resource.id.as_str()],
                )
                .map_err(backend)?;
                Ok(())
            })
            .await;
        if is_account {
            self.accounts_changed();
        }
        deleted
    }

    async fn set_webhook_secret(&self, account_id: &ResourceId, secret: String) -> StoreResult<Account> {
        let account_id = account_id.clone();
        let updated = self
            .write(move |conn| {
                let change = rows::next_change_id(conn)?;
                let changed = conn
                    .execute(
                        "UPDATE accounts SET webhook_secret = ?1, change_id = ?2 WHERE id = ?3",
                        params![secret, change, account_id.as_str()],
                    )
                    .map_err(backend)?;
                if changed == 0 {
                    return Err(StoreError::NotFound(Kind::Account, account_id));
                }
                rows::load_account(conn, &account_id)
            })
            .await;
        self.accounts_changed();
        updated
    }

    async fn claim_deliveries(
        &self,
        now: Timestamp,
        lease_until: Timestamp,
        limit: usize,
    ) -> StoreResult<Vec<DueDelivery>> {
        self.write(move |conn| {
            let due = rows::deliveries_where(
                conn,
                "WHERE state = 'pending' AND next_attempt <= ?1 ORDER BY next_attempt, seq LIMIT ?2",
                params![now.millis(), limit as i64],
            )?;
            let mut claimed = Vec::with_capacity(due.len());
            for mut delivery in due {
                conn.prepare_cached("UPDATE deliveries SET next_attempt = ?1, claimed = 1 WHERE id = ?2")
                    .and_then(|mut s| s.execute(params![lease_until.millis(), delivery.id.as_str()]))
                    .map_err(backend)?;
                delivery.next_attempt = lease_until;
                let log = rows::load_log(conn, &delivery.log_id)?;
                let webhook_secret = match &delivery.owner_id {
                    Some(owner) => rows::load_account(conn, owner).ok().and_then(|a| a.webhook_secret),
                    None => None,
                };
                claimed.push(DueDelivery { delivery, log, webhook_secret });
            }
            Ok(claimed)
        })
        .await
    }

    async fn finish_delivery(&self, id: &ResourceId, outcome: DeliveryOutcome, now: Timestamp) -> StoreResult<()> {
        let id = id.clone();
        self.write(move |conn| {
            let statement = |sql: &str, values: &[&dyn rusqlite::ToSql]| {
                conn.prepare_cached(sql).and_then(|mut s| s.execute(values)).map_err(backend)
            };
            // A job deleted meanwhile (with its service view) has nothing left to record.
            match outcome {
                DeliveryOutcome::Delivered => statement(
                    "UPDATE deliveries SET state = 'delivered', attempts = attempts + 1, claimed = 0, \
                         delivery_time = ?1, last_error = NULL WHERE id = ?2",
                    params![now.millis(), id.as_str()],
                )?,
                DeliveryOutcome::Retry { at, error } => statement(
                    "UPDATE deliveries SET attempts = attempts + 1, claimed = 0, next_attempt = ?1, \
                         last_error = ?2 WHERE id = ?3",
                    params![at.millis(), error, id.as_str()],
                )?,
                DeliveryOutcome::Failed { error } => statement(
                    "UPDATE deliveries SET state = 'failed', attempts = attempts + 1, claimed = 0, \
                         last_error = ?1 WHERE id = ?2",
                    params![error, id.as_str()],
                )?,
                DeliveryOutcome::Deferred { at } => statement(
                    "UPDATE deliveries SET claimed = 0, next_attempt = ?1 WHERE id = ?2 AND state = 'pending'",
                    params![at.millis(), id.as_str()],
                )?,
            };
            Ok(())
        })
        .await
    }

    async fn release_claims(&self, now: Timestamp) -> StoreResult<()> {
        self.write(move |conn| {
            conn.execute(
                "UPDATE deliveries SET next_attempt = ?1, claimed = 0 WHERE state = 'pending' AND claimed = 1",
                [now.millis()],
            )
            .map_err(backend)?;
            Ok(())
        })
        .await
    }

    async fn next_delivery_time(&self) -> StoreResult<Option<Timestamp>> {
        self.read(|conn| {
            let millis: Option<i64> = conn
                .prepare_cached("SELECT MIN(next_attempt) FROM deliveries WHERE state = 'pending'")
                .and_then(|mut s| s.query_row([], |r| r.get(0)))
                .map_err(backend)?;
            Ok(millis.and_then(Timestamp::from_millis))
        })
    }

    async fn deliveries(&self, state: Option<DeliveryState>) -> StoreResult<Vec<Delivery>> {
        self.read(|conn| match state {
            Some(state) => rows::deliveries_where(conn, "WHERE state = ?1 ORDER BY seq", [state.as_str()]),
            None => rows::deliveries_where(conn, "ORDER BY seq", []),
        })
    }

    async fn delivery(&self, id: &ResourceId) -> StoreResult<Delivery> {
        self.read(|conn| rows::load_delivery(conn, id))
    }

    async fn retry_delivery(&self, id: &ResourceId, now: Timestamp) -> StoreResult<Delivery> {
        let id = id.clone();
        self.write(move |conn| {
            shared::retriable(&rows::load_delivery(conn, &id)?)?;
            conn.execute(
                "UPDATE deliveries SET state = 'pending', attempts = 0, claimed = 0, next_attempt = ?1 WHERE id = ?2",
                params![now.millis(), id.as_str()],
            )
            .map_err(backend)?;
            rows::load_delivery(conn, &id)
        })
        .await
    }

    async fn export(&self) -> StoreResult<Dump> {
        self.read(|conn| {
            let change_counter: i64 =
                conn.query_row("SELECT value FROM change_counter", [], |r| r.get(0)).map_err(backend)?;
            let mut tables = Vec::new();
            for (name, columns) in dump::TABLES {
                let sql = format!("SELECT {} FROM {name} ORDER BY seq", dump::column_list(columns));
                let mut statement = conn.prepare(&sql).map_err(backend)?;
                let rows = statement
                    .query_map([], |row| {
                        let cell = |(i, (_, column_type)): (usize, &(&str, ColumnType))| -> rusqlite::Result<_> {
                            Ok(match column_type {
                                ColumnType::Text => row.get::<_, Option<String>>(i)?.map_or(Cell::Null, Cell::Text),
                                ColumnType::BigInt | ColumnType::Int => {
                                    row.get::<_, Option<i64>>(i)?.map_or(Cell::Null, Cell::Int)
                                }
                                ColumnType::Real => row.get::<_, Option<f64>>(i)?.map_or(Cell::Null, Cell::Real),
                                ColumnType::Bool => row.get::<_, Option<bool>>(i)?.map_or(Cell::Null, Cell::Bool),
                            }
                            .into_json())
                        };
                        columns.iter().enumerate().map(cell).collect::<rusqlite::Result<Vec<_>>>()
                    })
                    .map_err(backend)?
                    .collect::<rusqlite::Result<Vec<_>>>()
                    .map_err(backend)?;
                let columns = columns.iter().map(|(c, _)| (*c).to_owned()).collect();
                tables.push(dump::Table { name: (*name).to_owned(), columns, rows });
            }
            Ok(Dump { format: dump::FORMAT.into(), version: dump::VERSION, change_counter, tables })
        })
    }

    async fn import(&self, dump: Dump) -> StoreResult<()> {
        dump.check().map_err(StoreError::Invalid)?;
        let imported = self
            .write(move |conn| {
                let used: i64 = conn.query_row(shared::USED_SQL, [], |r| r.get(0)).map_err(backend)?;
                shared::empty_for_import(used)?;
                for (table, (name, columns)) in dump.tables.iter().zip(dump::TABLES) {
                    let placeholders = (1..=columns.len()).map(|i| format!("?{i}")).collect::<Vec<_>>().join(", ");
                    let sql = format!("INSERT INTO {name} ({}) VALUES ({placeholders})", dump::column_list(columns));
                    let mut statement = conn.prepare(&sql).map_err(backend)?;
                    for row in &table.rows {
                        let values = row
                            .iter()
                            .zip(columns.iter())
                            .map(|(value, (_, column_type))| {
                                Ok(match Cell::from_json(value, *column_type).map_err(StoreError::Invalid)? {
                                    Cell::Null => rusqlite::types::Value::Null,
                                    Cell::Text(s) => rusqlite::types::Value::Text(s),
                                    Cell::Int(i) => rusqlite::types::Value::Integer(i),
                                    Cell::Real(f) => rusqlite::types::Value::Real(f),
                                    Cell::Bool(b) => rusqlite::types::Value::Integer(i64::from(b)),
                                })
                            })
                            .collect::<StoreResult<Vec<_>>>()?;
                        statement.execute(rusqlite::params_from_iter(values)).map_err(backend)?;
                    }
                }
                conn.execute("UPDATE change_counter SET value = ?1", [dump.change_counter]).map_err(backend)?;
                conn.execute_batch(schema::COMPLETE_RESULTS).map_err(backend)
            })
            .await;
        self.accounts_changed();
        imported
    }

    async fn prune_deliveries(&self, before: Timestamp) -> StoreResult<u64> {
        self.write(move |conn| {
            let deleted = conn
                .execute("DELETE FROM deliveries WHERE state = 'delivered' AND delivery_time < ?1", [before.millis()])
                .map_err(backend)?;
            Ok(deleted as u64)
        })
        .await
    }
}

fn insert_account(conn: &Connection, account: &NewAccount) -> StoreResult<()> {
    let change = rows::next_change_id(conn)?;
    let (name, annotation) = header_params(&account.header);
    conn.execute(
        "INSERT INTO accounts (id, name, annotation, account_tags, access_tags, token_hash, change_id, webhook_secret) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
        params![
            account.id.as_str(),
            name,
            annotation,
            tags_to_text(&account.account_tags),
            tags_to_text(&account.access_tags),
            account.token_hash,
            change,
            account.webhook_secret
        ],
    )
    .map_err(backend)?;
    Ok(())
}
