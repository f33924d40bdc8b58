//! The OSSEC/Wazuh feed's state: where each followed alert file stands (`feed_positions`),
//! written in the transaction of the results its alerts produced.

use ctp_model::Timestamp;
use ctp_store::{FeedPosition, StoreError, StoreResult};
use rusqlite::{params, Connection};

use crate::rows::backend;

/// Records where sources stand (one row per source, replaced).
pub(crate) fn save_positions(conn: &Connection, positions: &[FeedPosition]) -> StoreResult<()> {
    let mut statement = conn
        .prepare_cached(
            "INSERT INTO feed_positions (id, path, fingerprint, byte_offset, line, update_time) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6) ON CONFLICT (id) DO UPDATE SET path = excluded.path, \
             fingerprint = excluded.fingerprint, byte_offset = excluded.byte_offset, line = excluded.line, \
             update_time = excluded.update_time",
        )
        .map_err(backend)?;
    for position in positions {
        statement
            .execute(params![
                position.source,
                position.path,
                position.fingerprint,
                i64::try_from(position.offset).unwrap_or(i64::MAX),
                i64::try_from(position.line).unwrap_or(i64::MAX),
                position.update_time.millis(),
            ])
            .map_err(backend)?;
    }
    Ok(())
}

/// Every stored position, by source name.
pub(crate) fn positions(conn: &Connection) -> StoreResult<Vec<FeedPosition>> {
    let mut statement = conn
        .prepare_cached("SELECT id, path, fingerprint, byte_offset, line, update_time FROM feed_positions ORDER BY id")
        .map_err(backend)?;
    let rows = statement
        .query_map([], |row| {
            Ok((
                row.get::<_, String>(0)?,
                row.get::<_, String>(1)?,
                row.get::<_, String>(2)?,
                row.get::<_, i64>(3)?,
                row.get::<_, i64>(4)?,
                row.get::<_, i64>(5)?,
            ))
        })
        .map_err(backend)?;
    rows.map(|row| {
        let (source, path, fingerprint, offset, line, time) = row.map_err(backend)?;
        Ok(FeedPosition {
            source,
            path,
            fingerprint,
            offset: u64::try_from(offset).unwrap_or(0),
            line: u64::try_from(line).unwrap_or(0),
            update_time: Timestamp::from_millis(time)
                .ok_or_else(|| StoreError::broken(format!("reading a stored time: {time}")))?,
        })
    })
    .collect()
}
