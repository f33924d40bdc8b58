//! The schema of the embedded store, applied at start. `PRAGMA user_version` records how
//! many migrations a database has had; each migration runs once, in a transaction.

use rusqlite::Connection;

/// Migration 3 (SQLite) / 2 (PostgreSQL), also run after an import (an export of an
/// earlier version may hold incomplete results): a result always has `authorityId` and
/// `signature` (4.2.6 types them as nullable strings); those a stored result lacks are
/// appended as `null`, after the pushed members, the rest of the text untouched.
/// Idempotent.
pub(crate) const COMPLETE_RESULTS: &str = r#"
UPDATE measurements SET result = substr(result, 1, length(result) - 1) || ',"authorityId":null}'
    WHERE result IS NOT NULL AND json_type(result, '$.authorityId') IS NULL;
UPDATE measurements SET result = substr(result, 1, length(result) - 1) || ',"signature":null}'
    WHERE result IS NOT NULL AND json_type(result, '$.signature') IS NULL;
UPDATE logs SET result = substr(result, 1, length(result) - 1) || ',"authorityId":null}'
    WHERE result IS NOT NULL AND json_type(result, '$.authorityId') IS NULL;
UPDATE logs SET result = substr(result, 1, length(result) - 1) || ',"signature":null}'
    WHERE result IS NOT NULL AND json_type(result, '$.signature') IS NULL;
"#;

/// Watches every measurement with an objective or a trigger (due at once: the next clock
/// round finds out which read the clock). Run by the migration that made `clock_watch` and
/// after an import (an export made before it has no such table). Idempotent.
pub(crate) const WATCH_ALL: &str = r#"
INSERT INTO clock_watch (id, due)
    SELECT id, 0 FROM measurements
    WHERE objective_condition IS NOT NULL OR id IN (SELECT measurement_id FROM triggers)
    ON CONFLICT (id) DO NOTHING;
"#;

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
    COMPLETE_RESULTS,
    r#"
-- Where each followed alert file stands (issue 12): written in the transaction that stores
-- the results its alerts produced, so that a restart resumes exactly there. `id` is the
-- source's name in the configuration.
CREATE TABLE feed_positions (
    seq INTEGER PRIMARY KEY,
    id TEXT NOT NULL UNIQUE,
    path TEXT NOT NULL,
    fingerprint TEXT NOT NULL,
    byte_offset INTEGER NOT NULL,
    line INTEGER NOT NULL,
    update_time INTEGER NOT NULL
);
"#,
    r#"
-- Measurements whose objective or triggers may read the clock (issue 13), each with the
-- time (ms) its next clock round is due. Rows come and go with those conditions.
CREATE TABLE clock_watch (
    seq INTEGER PRIMARY KEY,
    id TEXT NOT NULL UNIQUE REFERENCES measurements(id) ON DELETE CASCADE,
    due INTEGER NOT NULL
);
CREATE INDEX clock_watch_by_due ON clock_watch(due);
"#,
    WATCH_ALL,
    r#"
-- Drills (issue 13): each message a drill sent is a log entry tagged 'drill' and a delivery
-- job; its row here (id = the delivery job's) keeps what the report needs: the trigger as
-- it was, the acknowledgement link's token, and when a person acknowledged it. A drill
-- goes with its service view.
CREATE TABLE drills (
    seq INTEGER PRIMARY KEY,
    id TEXT NOT NULL UNIQUE,
    view_id TEXT NOT NULL REFERENCES views(id) ON DELETE CASCADE,
    creation_time INTEGER NOT NULL,
    started_by TEXT NOT NULL,
    annotation TEXT NOT NULL
);
CREATE INDEX drills_by_view ON drills(view_id);
CREATE TABLE drill_messages (
    seq INTEGER PRIMARY KEY,
    id TEXT NOT NULL UNIQUE,
    drill_id TEXT NOT NULL REFERENCES drills(id) ON DELETE CASCADE,
    trigger_id TEXT NOT NULL,
    trigger_name TEXT NOT NULL,
    target TEXT NOT NULL,
    log_id TEXT NOT NULL,
    token TEXT NOT NULL,
    handed_over_time INTEGER,
    ack_time INTEGER,
    ack_by TEXT
);
CREATE INDEX drill_messages_by_drill ON drill_messages(drill_id);
"#,
    r#"
-- Authorities and signed results (issue 14): the authorities that sign results, with their
-- keys (a JSON array; a retired key keeps its place); the measurements and metrics that
-- require signed results; whose signature was verified on each measurement's current
-- result (replaced by each push).
CREATE TABLE authorities (
    seq INTEGER PRIMARY KEY,
    id TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL,
    annotation TEXT NOT NULL,
    keys TEXT NOT NULL,
    retired_time INTEGER
);
CREATE TABLE signing_required (
    seq INTEGER PRIMARY KEY,
    id TEXT NOT NULL UNIQUE
);
CREATE TABLE result_verifications (
    seq INTEGER PRIMARY KEY,
    id TEXT NOT NULL UNIQUE REFERENCES measurements(id) ON DELETE CASCADE,
    verification TEXT NOT NULL
);
"#,
    r#"
-- The transparency log (issue 14): its key (one row), its leaves (each with the record it
-- is of, to find the proof of a result or a log entry) and the tree's stored hashes (the
-- layout of ctp_ledger: index stored_hash_index(level, n)), in hex. Never deleted.
CREATE TABLE ledger_key (
    seq INTEGER PRIMARY KEY,
    id TEXT NOT NULL UNIQUE,
    origin TEXT NOT NULL,
    signer TEXT NOT NULL
);
CREATE TABLE ledger_leaves (
    seq INTEGER PRIMARY KEY,
    idx INTEGER NOT NULL UNIQUE,
    kind TEXT NOT NULL,
    record_id TEXT NOT NULL,
    leaf TEXT NOT NULL
);
CREATE INDEX ledger_leaves_by_record ON ledger_leaves(kind, record_id, idx);
CREATE TABLE ledger_hashes (
    seq INTEGER PRIMARY KEY,
    idx INTEGER NOT NULL UNIQUE,
    hash TEXT NOT NULL
);
"#,
    r#"
-- The audit trail (issue 14): every change attempted through the API, with its outcome;
-- each record is also a leaf of the transparency log. Never updated or deleted.
CREATE TABLE audit (
    seq INTEGER PRIMARY KEY,
    id TEXT NOT NULL UNIQUE,
    account_id TEXT,
    method TEXT NOT NULL,
    resource TEXT NOT NULL,
    body_sha256 TEXT NOT NULL,
    status INTEGER NOT NULL,
    time INTEGER NOT NULL
);
CREATE INDEX audit_by_time ON audit(time, seq);
CREATE INDEX audit_by_account ON audit(account_id, time);
"#,
    r#"
-- Result history (issue 15): each pushed result of a measurement, and each change of its
-- standing (its objective's status on a result, or no objective, or no result yet), in
-- the write's transaction; the changes alone feed the dashboard's day bars and shares.
-- Pruned by age and by count per measurement (ctp_server::history), both through the
-- per-measurement index: an index on time alone would cost every push a third index write.
CREATE TABLE result_history (
    seq INTEGER PRIMARY KEY,
    measurement_id TEXT NOT NULL REFERENCES measurements(id) ON DELETE CASCADE,
    time INTEGER NOT NULL,
    result TEXT,
    objective_status TEXT,
    standing TEXT NOT NULL,
    status_changed INTEGER NOT NULL
);
CREATE INDEX result_history_by_time ON result_history(measurement_id, time, seq);
CREATE INDEX result_history_changes ON result_history(measurement_id, time, seq) WHERE status_changed;
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

#[cfg(test)]
mod tests {
    use super::*;

    /// From an empty database every migration applies, once, and the schema has exactly
    /// the tables and columns of the export catalogue (`dump::TABLES`), besides `seq`.
    #[test]
    fn an_empty_database_gets_every_migration_and_the_catalogues_tables() {
        let mut conn = Connection::open_in_memory().unwrap();
        migrate(&mut conn).unwrap();
        let version: i64 = conn.query_row("PRAGMA user_version", [], |row| row.get(0)).unwrap();
        assert_eq!(version, MIGRATIONS.len() as i64);
        migrate(&mut conn).unwrap();
        let again: i64 = conn.query_row("PRAGMA user_version", [], |row| row.get(0)).unwrap();
        assert_eq!(again, version, "a second start applies nothing");
        for (table, columns) in ctp_store::dump::TABLES {
            let found: Vec<String> = conn
                .prepare(&format!("SELECT name FROM pragma_table_info('{table}') WHERE name <> 'seq' ORDER BY cid"))
                .unwrap()
                .query_map([], |row| row.get(0))
                .unwrap()
                .collect::<Result<_, _>>()
                .unwrap();
            let catalogued: Vec<&str> = columns.iter().map(|(name, _)| *name).collect();
            assert_eq!(found, catalogued, "table {table}");
        }
    }

    /// Migration 3 completes the results stored by earlier versions.
    #[test]
    fn results_stored_before_migration_3_are_completed() {
        let mut conn = Connection::open_in_memory().unwrap();
        for migration in &MIGRATIONS[..2] {
            conn.execute_batch(migration).unwrap();
        }
        conn.pragma_update(None, "user_version", 2).unwrap();
        conn.execute_batch(
            r#"INSERT INTO views (id, name, annotation, provider, change_id, access_tags) VALUES ('v', '', '', '', 1, '[]');
               INSERT INTO logs (id, view_id, trigger_id, creation_time, result, tags, access_tags)
               VALUES ('a', 'v', 't', 0, '{"value":[ {"x": 1.50} ],"updateTime":"2026-01-01T00:00:00Z"}', '[]', '[]'),
                      ('b', 'v', 't', 0, '{"value":[],"authorityId":"q","updateTime":"2026-01-01T00:00:00Z"}', '[]', '[]'),
                      ('c', 'v', 't', 0, NULL, '[]', '[]');"#,
        )
        .unwrap();
        migrate(&mut conn).unwrap();
        let results: Vec<Option<String>> = conn
            .prepare("SELECT result FROM logs ORDER BY id")
            .unwrap()
            .query_map([], |row| row.get(0))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        assert_eq!(
            results,
            [
                Some(r#"{"value":[ {"x": 1.50} ],"updateTime":"2026-01-01T00:00:00Z","authorityId":null,"signature":null}"#.into()),
                Some(r#"{"value":[],"authorityId":"q","updateTime":"2026-01-01T00:00:00Z","signature":null}"#.into()),
                None
            ]
        );
    }
}
