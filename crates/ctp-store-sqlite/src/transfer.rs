//! `ctpd export` and `ctpd import`: the whole store as `ctp_store::dump::Dump`, table by
//! table in the catalogue's order (`dump::TABLES`).

use ctp_store::dump::{self, Cell, ColumnType, Dump};
use ctp_store::{checks, StoreError, StoreResult};
use ctp_store_sql::column_list;
use rusqlite::types::Value;
use rusqlite::Connection;

use crate::rows::backend;
use crate::schema;

/// Every table, row by row in creation order, and the change counter.
pub(crate) fn export(conn: &Connection) -> StoreResult<Dump> {
    let change_counter: i64 = conn.query_row("SELECT value FROM change_counter", [], |r| r.get(0)).map_err(backend)?;
    let mut tables = Vec::new();
    for (name, columns) in dump::TABLES {
        let sql = format!("SELECT {} FROM {name} ORDER BY seq", column_list(columns));
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
}

/// Loads a checked dump into an empty store, then completes its results as the last
/// migration does.
pub(crate) fn import(conn: &Connection, dump: &Dump) -> StoreResult<()> {
    let used: i64 = conn.query_row(ctp_store_sql::USED, [], |r| r.get(0)).map_err(backend)?;
    checks::empty_for_import(used)?;
    for (table, (name, columns)) in dump.tables.iter().zip(dump::TABLES) {
        let placeholders = (1..=columns.len()).map(|i| format!("?{i}")).collect::<Vec<_>>().join(", ");
        let sql = format!("INSERT INTO {name} ({}) VALUES ({placeholders})", column_list(columns));
        let mut statement = conn.prepare(&sql).map_err(backend)?;
        for row in &table.rows {
            let values = row
                .iter()
                .zip(columns.iter())
                .map(|(value, (_, column_type))| {
                    Ok(match Cell::from_json(value, *column_type).map_err(StoreError::Invalid)? {
                        Cell::Null => Value::Null,
                        Cell::Text(s) => Value::Text(s),
                        Cell::Int(i) => Value::Integer(i),
                        Cell::Real(f) => Value::Real(f),
                        Cell::Bool(b) => Value::Integer(i64::from(b)),
                    })
                })
                .collect::<StoreResult<Vec<_>>>()?;
            statement.execute(rusqlite::params_from_iter(values)).map_err(backend)?;
        }
    }
    conn.execute("UPDATE change_counter SET value = ?1", [dump.change_counter]).map_err(backend)?;
    conn.execute_batch(schema::COMPLETE_RESULTS).map_err(backend)?;
    conn.execute_batch(schema::WATCH_ALL).map_err(backend)
}
