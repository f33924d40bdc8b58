//! The schema of the embedded store, applied at start. `PRAGMA user_version` records how
//! many migrations a database has had; each migration runs once, in a transaction.

use rusqlite::Connection;

/// The migrations, in order. Never edit one that has shipped: add the next.
const MIGRATIONS: &[&str] = &[
    r#"
CREATE TABLE change_counter (value INTEGER NOT NULL);
INSERT INTO change_counter (value) VALUES (0);

CREATE TABLE accounts (
    seq INTEGER PRIMARY KEY,
    id TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL,
    annotation TEXT NOT NULL,
    account_tags TEXT NOT NULL,
    access_tags TEXT NOT NULL,
    token_hash TEXT NOT NULL UNIQUE,
    change_id INTEGER NOT NULL
);

-- Service views (parent_kind NULL) and dependencies (parent_kind 'serviceViews' or
-- 'dependencies'), which CTP encodes alike.
CREATE TABLE views (
    seq INTEGER PRIMARY KEY,
    id TEXT NOT NULL UNIQUE,
    parent_kind TEXT,
    parent_id TEXT REFERENCES views(id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    annotation TEXT NOT NULL,
    provider TEXT NOT NULL,
    service_class TEXT,
    change_id INTEGER NOT NULL,
    access_tags TEXT NOT NULL
);
CREATE INDEX views_by_parent ON views(parent_id);

CREATE TABLE assets (
    seq INTEGER PRIMARY KEY,
    id TEXT NOT NULL UNIQUE,
    view_id TEXT NOT NULL REFERENCES views(id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    annotation TEXT NOT NULL,
    asset_class TEXT,
    change_id INTEGER NOT NULL,
    access_tags TEXT NOT NULL
);
CREATE INDEX assets_by_view ON assets(view_id);

CREATE TABLE attributes (
    seq INTEGER PRIMARY KEY,
    id TEXT NOT NULL UNIQUE,
    asset_id TEXT NOT NULL REFERENCES assets(id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    annotation TEXT NOT NULL,
    change_id INTEGER NOT NULL,
    access_tags TEXT NOT NULL
);
CREATE INDEX attributes_by_asset ON attributes(asset_id);

CREATE TABLE metrics (
    seq INTEGER PRIMARY KEY,
    id TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL,
    annotation TEXT NOT NULL,
    base_metric TEXT NOT NULL,
    parameters TEXT NOT NULL,
    result_format TEXT NOT NULL,
    change_id INTEGER NOT NULL,
    access_tags TEXT NOT NULL
);

CREATE TABLE measurements (
    seq INTEGER PRIMARY KEY,
    id TEXT NOT NULL UNIQUE,
    attribute_id TEXT NOT NULL REFERENCES attributes(id) ON DELETE CASCADE,
    view_id TEXT NOT NULL,
    metric_id TEXT NOT NULL REFERENCES metrics(id),
    name TEXT NOT NULL,
    annotation TEXT NOT NULL,
    result TEXT,
    objective_condition TEXT,
    objective_status TEXT,
    objective_time INTEGER,
    triggers_allowed INTEGER NOT NULL,
    user_activated INTEGER NOT NULL,
    state TEXT NOT NULL,
    change_id INTEGER NOT NULL,
    access_tags TEXT NOT NULL
);
CREATE INDEX measurements_by_attribute ON measurements(attribute_id);
CREATE INDEX measurements_by_metric ON measurements(metric_id);

CREATE TABLE triggers (
    seq INTEGER PRIMARY KEY,
    id TEXT NOT NULL UNIQUE,
    view_id TEXT NOT NULL REFERENCES views(id) ON DELETE CASCADE,
    measurement_id TEXT NOT NULL REFERENCES measurements(id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    annotation TEXT NOT NULL,
    condition TEXT NOT NULL,
    status TEXT NOT NULL,
    status_time INTEGER NOT NULL,
    notification TEXT NOT NULL,
    guard_time REAL NOT NULL,
    tags TEXT NOT NULL,
    change_id INTEGER NOT NULL,
    access_tags TEXT NOT NULL
);
CREATE INDEX triggers_by_view ON triggers(view_id);
CREATE INDEX triggers_by_measurement ON triggers(measurement_id);

-- Log entries outlive their trigger (they are the record of what happened) but not their
-- service view.
CREATE TABLE logs (
    seq INTEGER PRIMARY KEY,
    id TEXT NOT NULL UNIQUE,
    view_id TEXT NOT NULL REFERENCES views(id) ON DELETE CASCADE,
    trigger_id TEXT NOT NULL,
    creation_time INTEGER NOT NULL,
    result TEXT,
    error TEXT,
    tags TEXT NOT NULL,
    access_tags TEXT NOT NULL
);
CREATE INDEX logs_by_view_and_time ON logs(view_id, creation_time, seq);
CREATE INDEX logs_by_time ON logs(creation_time, seq);
"#,
    r#"
-- Notifications (issue 4): who created a trigger (whose webhook secret signs its
-- notifications), the secrets, and the outbox of delivery jobs. A job goes with its log
-- entry (and so with its service view).
ALTER TABLE accounts ADD COLUMN webhook_secret TEXT;
ALTER TABLE triggers ADD COLUMN owner_id TEXT;

CREATE TABLE deliveries (
    seq INTEGER PRIMARY KEY,
    id TEXT NOT NULL UNIQUE,
    log_id TEXT NOT NULL REFERENCES logs(id) ON DELETE CASCADE,
    trigger_id TEXT NOT NULL,
    view_id TEXT NOT NULL,
    owner_id TEXT,
    target TEXT NOT NULL,
    state TEXT NOT NULL,
    attempts INTEGER NOT NULL,
    next_attempt INTEGER NOT NULL,
    claimed INTEGER NOT NULL,
    last_error TEXT,
    creation_time INTEGER NOT NULL,
    delivery_time INTEGER,
    access_tags TEXT NOT NULL
);
CREATE INDEX deliveries_due ON deliveries(state, next_attempt);
CREATE INDEX deliveries_by_log ON deliveries(log_id);
"#,
];

/// Brings the database up to the latest migration.
pub(crate) fn migrate(conn: &mut Connection) -> rusqlite::Result<()> {
    let applied: i64 = conn.query_row("PRAGMA user_version", [], |row| row.get(0))?;
    for (index, migration) in MIGRATIONS.iter().enumerate().skip(applied as usize) {
        let tx = conn.transaction()?;
        tx.execute_batch(migration)?;
        tx.pragma_update(None, "user_version", index as i64 + 1)?;
        tx.commit()?;
    }
    Ok(())
}

/// The settings of every connection: WAL so that readers never wait for the writer,
/// `synchronous = FULL` so that a committed transaction survives a crash or power loss,
/// foreign keys for the cascades.
pub(crate) fn configure(conn: &Connection) -> rusqlite::Result<()> {
    conn.pragma_update(None, "journal_mode", "WAL")?;
    conn.pragma_update(None, "synchronous", "FULL")?;
    conn.pragma_update(None, "foreign_keys", "ON")?;
    conn.busy_timeout(std::time::Duration::from_secs(10))?;
    conn.set_prepared_statement_cache_capacity(128);
    Ok(())
}
