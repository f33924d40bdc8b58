//! The schema of the PostgreSQL store. `ctpd_schema` records how many migrations a
//! database has had; each runs once, in a transaction, under an advisory lock so that
//! instances starting together do not race (advisory locks are PostgreSQL's own: see
//! ARCHITECTURE.md on compatible engines).

use ctp_store::{StoreError, StoreResult};
use deadpool_postgres::Pool;

use crate::Context;

/// Migration 3 (SQLite) / 2 (PostgreSQL), also run after an import (an export of an
/// earlier version may hold incomplete results): a result always has `authorityId` and
/// `signature` (4.2.6 types them as nullable strings); those a stored result lacks are
/// appended as `null`, after the pushed members, the rest of the text untouched.
/// Idempotent.
pub(crate) const COMPLETE_RESULTS: &str = r#"
UPDATE measurements SET result = left(result, -1) || ',"authorityId":null}'
    WHERE result IS NOT NULL AND NOT (result::jsonb ? 'authorityId');
UPDATE measurements SET result = left(result, -1) || ',"signature":null}'
    WHERE result IS NOT NULL AND NOT (result::jsonb ? 'signature');
UPDATE logs SET result = left(result, -1) || ',"authorityId":null}'
    WHERE result IS NOT NULL AND NOT (result::jsonb ? 'authorityId');
UPDATE logs SET result = left(result, -1) || ',"signature":null}'
    WHERE result IS NOT NULL AND NOT (result::jsonb ? 'signature');
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
CREATE SEQUENCE change_ids;

CREATE TABLE accounts (
    seq BIGSERIAL PRIMARY KEY,
    id TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL,
    annotation TEXT NOT NULL,
    account_tags TEXT NOT NULL,
    access_tags TEXT NOT NULL,
    token_hash TEXT NOT NULL UNIQUE,
    change_id BIGINT NOT NULL,
    webhook_secret TEXT
);

CREATE TABLE views (
    seq BIGSERIAL PRIMARY KEY,
    id TEXT NOT NULL UNIQUE,
    parent_kind TEXT,
    parent_id TEXT REFERENCES views(id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    annotation TEXT NOT NULL,
    provider TEXT NOT NULL,
    service_class TEXT,
    change_id BIGINT NOT NULL,
    access_tags TEXT NOT NULL
);
CREATE INDEX views_by_parent ON views(parent_id);

CREATE TABLE assets (
    seq BIGSERIAL PRIMARY KEY,
    id TEXT NOT NULL UNIQUE,
    view_id TEXT NOT NULL REFERENCES views(id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    annotation TEXT NOT NULL,
    asset_class TEXT,
    change_id BIGINT NOT NULL,
    access_tags TEXT NOT NULL
);
CREATE INDEX assets_by_view ON assets(view_id);

CREATE TABLE attributes (
    seq BIGSERIAL PRIMARY KEY,
    id TEXT NOT NULL UNIQUE,
    asset_id TEXT NOT NULL REFERENCES assets(id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    annotation TEXT NOT NULL,
    change_id BIGINT NOT NULL,
    access_tags TEXT NOT NULL
);
CREATE INDEX attributes_by_asset ON attributes(asset_id);

CREATE TABLE metrics (
    seq BIGSERIAL PRIMARY KEY,
    id TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL,
    annotation TEXT NOT NULL,
    base_metric TEXT NOT NULL,
    parameters TEXT NOT NULL,
    result_format TEXT NOT NULL,
    change_id BIGINT NOT NULL,
    access_tags TEXT NOT NULL
);

CREATE TABLE measurements (
    seq BIGSERIAL PRIMARY KEY,
    id TEXT NOT NULL UNIQUE,
    attribute_id TEXT NOT NULL REFERENCES attributes(id) ON DELETE CASCADE,
    view_id TEXT NOT NULL,
    metric_id TEXT NOT NULL REFERENCES metrics(id),
    name TEXT NOT NULL,
    annotation TEXT NOT NULL,
    result TEXT,
    objective_condition TEXT,
    objective_status TEXT,
    objective_time BIGINT,
    triggers_allowed BOOLEAN NOT NULL,
    user_activated BOOLEAN NOT NULL,
    state TEXT NOT NULL,
    change_id BIGINT NOT NULL,
    access_tags TEXT NOT NULL
);
CREATE INDEX measurements_by_attribute ON measurements(attribute_id);
CREATE INDEX measurements_by_metric ON measurements(metric_id);

CREATE TABLE triggers (
    seq BIGSERIAL PRIMARY KEY,
    id TEXT NOT NULL UNIQUE,
    view_id TEXT NOT NULL REFERENCES views(id) ON DELETE CASCADE,
    measurement_id TEXT NOT NULL REFERENCES measurements(id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    annotation TEXT NOT NULL,
    condition TEXT NOT NULL,
    status TEXT NOT NULL,
    status_time BIGINT NOT NULL,
    notification TEXT NOT NULL,
    guard_time DOUBLE PRECISION NOT NULL,
    tags TEXT NOT NULL,
    change_id BIGINT NOT NULL,
    access_tags TEXT NOT NULL,
    owner_id TEXT
);
CREATE INDEX triggers_by_view ON triggers(view_id);
CREATE INDEX triggers_by_measurement ON triggers(measurement_id);

CREATE TABLE logs (
    seq BIGSERIAL PRIMARY KEY,
    id TEXT NOT NULL UNIQUE,
    view_id TEXT NOT NULL REFERENCES views(id) ON DELETE CASCADE,
    trigger_id TEXT NOT NULL,
    creation_time BIGINT NOT NULL,
    result TEXT,
    error TEXT,
    tags TEXT NOT NULL,
    access_tags TEXT NOT NULL
);
CREATE INDEX logs_by_view_and_time ON logs(view_id, creation_time, seq);
CREATE INDEX logs_by_time ON logs(creation_time, seq);

CREATE TABLE deliveries (
    seq BIGSERIAL PRIMARY KEY,
    id TEXT NOT NULL UNIQUE,
    log_id TEXT NOT NULL REFERENCES logs(id) ON DELETE CASCADE,
    trigger_id TEXT NOT NULL,
    view_id TEXT NOT NULL,
    owner_id TEXT,
    target TEXT NOT NULL,
    state TEXT NOT NULL,
    attempts INTEGER NOT NULL,
    next_attempt BIGINT NOT NULL,
    claimed BOOLEAN NOT NULL,
    last_error TEXT,
    creation_time BIGINT NOT NULL,
    delivery_time BIGINT,
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
    seq BIGSERIAL PRIMARY KEY,
    id TEXT NOT NULL UNIQUE,
    path TEXT NOT NULL,
    fingerprint TEXT NOT NULL,
    byte_offset BIGINT NOT NULL,
    line BIGINT NOT NULL,
    update_time BIGINT NOT NULL
);
"#,
    r#"
-- Measurements whose objective or triggers may read the clock (issue 13), each with the
-- time (ms) its next clock round is due. Rows come and go with those conditions.
CREATE TABLE clock_watch (
    seq BIGSERIAL PRIMARY KEY,
    id TEXT NOT NULL UNIQUE REFERENCES measurements(id) ON DELETE CASCADE,
    due BIGINT NOT NULL
);
CREATE INDEX clock_watch_by_due ON clock_watch(due);
"#,
    WATCH_ALL,
    r#"
-- Drills (issue 13): see the SQLite schema's migration 7.
CREATE TABLE drills (
    seq BIGSERIAL PRIMARY KEY,
    id TEXT NOT NULL UNIQUE,
    view_id TEXT NOT NULL REFERENCES views(id) ON DELETE CASCADE,
    creation_time BIGINT NOT NULL,
    started_by TEXT NOT NULL,
    annotation TEXT NOT NULL
);
CREATE INDEX drills_by_view ON drills(view_id);
CREATE TABLE drill_messages (
    seq BIGSERIAL PRIMARY KEY,
    id TEXT NOT NULL UNIQUE,
    drill_id TEXT NOT NULL REFERENCES drills(id) ON DELETE CASCADE,
    trigger_id TEXT NOT NULL,
    trigger_name TEXT NOT NULL,
    target TEXT NOT NULL,
    log_id TEXT NOT NULL,
    token TEXT NOT NULL,
    handed_over_time BIGINT,
    ack_time BIGINT,
    ack_by TEXT
);
CREATE INDEX drill_messages_by_drill ON drill_messages(drill_id);
"#,
    r#"
-- Authorities and signed results (issue 14): see the SQLite schema's migration 8.
CREATE TABLE authorities (
    seq BIGSERIAL PRIMARY KEY,
    id TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL,
    annotation TEXT NOT NULL,
    keys TEXT NOT NULL,
    retired_time BIGINT
);
CREATE TABLE signing_required (
    seq BIGSERIAL PRIMARY KEY,
    id TEXT NOT NULL UNIQUE
);
CREATE TABLE result_verifications (
    seq BIGSERIAL PRIMARY KEY,
    id TEXT NOT NULL UNIQUE REFERENCES measurements(id) ON DELETE CASCADE,
    verification TEXT NOT NULL
);
"#,
    r#"
-- The transparency log (issue 14): see the SQLite schema's migration 9.
CREATE TABLE ledger_key (
    seq BIGSERIAL PRIMARY KEY,
    id TEXT NOT NULL UNIQUE,
    origin TEXT NOT NULL,
    signer TEXT NOT NULL
);
CREATE TABLE ledger_leaves (
    seq BIGSERIAL PRIMARY KEY,
    idx BIGINT NOT NULL UNIQUE,
    kind TEXT NOT NULL,
    record_id TEXT NOT NULL,
    leaf TEXT NOT NULL
);
CREATE INDEX ledger_leaves_by_record ON ledger_leaves(kind, record_id, idx);
CREATE TABLE ledger_hashes (
    seq BIGSERIAL PRIMARY KEY,
    idx BIGINT NOT NULL UNIQUE,
    hash TEXT NOT NULL
);
"#,
    r#"
-- The audit trail (issue 14): see the SQLite schema's migration 10.
CREATE TABLE audit (
    seq BIGSERIAL PRIMARY KEY,
    id TEXT NOT NULL UNIQUE,
    account_id TEXT,
    method TEXT NOT NULL,
    resource TEXT NOT NULL,
    body_sha256 TEXT NOT NULL,
    status INTEGER NOT NULL,
    time BIGINT NOT NULL
);
CREATE INDEX audit_by_time ON audit(time, seq);
CREATE INDEX audit_by_account ON audit(account_id, time);
"#,
    r#"
-- Result history (issue 15): see the SQLite schema's migration 11.
CREATE TABLE result_history (
    seq BIGSERIAL PRIMARY KEY,
    measurement_id TEXT NOT NULL REFERENCES measurements(id) ON DELETE CASCADE,
    time BIGINT NOT NULL,
    result TEXT,
    objective_status TEXT,
    standing TEXT NOT NULL,
    status_changed BOOLEAN NOT NULL
);
CREATE INDEX result_history_by_time ON result_history(measurement_id, time, seq);
CREATE INDEX result_history_changes ON result_history(measurement_id, time, seq) WHERE status_changed;
"#,
];

/// An arbitrary, fixed key of the advisory lock taken while migrating.
const MIGRATION_LOCK: i64 = 0x6374_7064; // "ctpd"

/// Brings the database up to the latest migration; returns how many were applied.
pub(crate) async fn migrate(pool: &Pool) -> StoreResult<usize> {
    let mut client = pool.get().await.map_err(|e| StoreError::backend("connecting to PostgreSQL", e))?;
    let tx = client.transaction().await.context("beginning the migration")?;
    tx.execute("SELECT pg_advisory_xact_lock($1)", &[&MIGRATION_LOCK]).await.context("locking the schema")?;
    tx.batch_execute("CREATE TABLE IF NOT EXISTS ctpd_schema (version INTEGER NOT NULL)")
        .await
        .context("creating the schema version table")?;
    let applied: i64 = tx
        .query_one("SELECT COALESCE(MAX(version), 0)::BIGINT FROM ctpd_schema", &[])
        .await
        .context("reading the schema version")?
        .get(0);
    let mut count = 0;
    for (index, migration) in MIGRATIONS.iter().enumerate().skip(applied as usize) {
        let version = index as i32 + 1;
        tx.batch_execute(migration).await.context(&format!("applying migration {version}"))?;
        tx.execute("INSERT INTO ctpd_schema (version) VALUES ($1)", &[&version])
            .await
            .context("recording the schema version")?;
        count += 1;
    }
    tx.commit().await.context("committing the migrations")?;
    Ok(count)
}

#[cfg(test)]
mod tests {
    use ctp_store::dump::TABLES;
    use ctp_store_sql::column_list;

    use super::MIGRATIONS;
    use crate::tests::{connect, fresh_database};
    use crate::PostgresStore;

    #[tokio::test]
    async fn every_migration_applies_to_an_empty_database_and_the_last_version_is_recorded() {
        let url = fresh_database().await;
        assert_eq!(PostgresStore::migrate(&url).await.unwrap(), MIGRATIONS.len());
        let client = connect(&url).await;
        let version: i32 = client.query_one("SELECT MAX(version) FROM ctpd_schema", &[]).await.unwrap().get(0);
        assert_eq!(version as usize, MIGRATIONS.len());
        for (table, columns) in TABLES {
            let sql = format!("SELECT {} FROM {table} LIMIT 0", column_list(columns));
            client.query(&sql, &[]).await.unwrap_or_else(|e| panic!("{table} has every column: {e}"));
        }
        assert_eq!(PostgresStore::migrate(&url).await.unwrap(), 0, "nothing left to apply");
    }

    #[tokio::test]
    async fn results_stored_before_migration_2_are_completed() {
        let url = fresh_database().await;
        let client = connect(&url).await;
        client.batch_execute(MIGRATIONS[0]).await.unwrap();
        client
            .batch_execute(
                r#"CREATE TABLE ctpd_schema (version INTEGER NOT NULL);
                   INSERT INTO ctpd_schema VALUES (1);
                   INSERT INTO views (id, name, annotation, provider, change_id, access_tags)
                   VALUES ('v', '', '', '', 1, '[]');
                   INSERT INTO assets (id, view_id, name, annotation, change_id, access_tags)
                   VALUES ('s', 'v', '', '', 1, '[]');
                   INSERT INTO attributes (id, asset_id, name, annotation, change_id, access_tags)
                   VALUES ('t', 's', '', '', 1, '[]');
                   INSERT INTO metrics (id, name, annotation, base_metric, parameters, result_format, change_id,
                       access_tags)
                   VALUES ('k', '', '', '', '[]', '[]', 1, '[]');
                   INSERT INTO measurements (id, attribute_id, view_id, metric_id, name, annotation, result,
                       triggers_allowed, user_activated, state, change_id, access_tags)
                   VALUES ('m', 't', 'v', 'k', '', '', '{"value":[],"updateTime":"2026-01-01T00:00:00Z"}', TRUE,
                       FALSE, 'activated', 1, '[]');
                   INSERT INTO logs (id, view_id, trigger_id, creation_time, result, tags, access_tags)
                   VALUES ('a', 'v', 't', 0, '{"value":[ {"x": 1.50} ],"updateTime":"2026-01-01T00:00:00Z"}',
                              '[]', '[]'),
                          ('b', 'v', 't', 0, '{"value":[],"authorityId":"q","updateTime":"2026-01-01T00:00:00Z"}',
                              '[]', '[]'),
                          ('c', 'v', 't', 0, NULL, '[]', '[]');"#,
            )
            .await
            .unwrap();
        PostgresStore::open(&url).await.unwrap();
        let results = |sql| {
            let client = &client;
            async move {
                let rows = client.query(sql, &[]).await.unwrap();
                rows.iter().map(|row| row.get(0)).collect::<Vec<Option<String>>>()
            }
        };
        assert_eq!(
            results("SELECT result FROM logs ORDER BY id").await,
            [
                Some(
                    r#"{"value":[ {"x": 1.50} ],"updateTime":"2026-01-01T00:00:00Z","authorityId":null,"signature":null}"#
                        .into()
                ),
                Some(r#"{"value":[],"authorityId":"q","updateTime":"2026-01-01T00:00:00Z","signature":null}"#.into()),
                None
            ]
        );
        assert_eq!(
            results("SELECT result FROM measurements").await,
            [Some(r#"{"value":[],"updateTime":"2026-01-01T00:00:00Z","authorityId":null,"signature":null}"#.into())]
        );
        let version: i32 = client.query_one("SELECT MAX(version) FROM ctpd_schema", &[]).await.unwrap().get(0);
        assert_eq!(version as usize, MIGRATIONS.len());
    }
}
