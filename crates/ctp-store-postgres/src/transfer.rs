//! Moving a store: `export` writes every table (`ctp_store::dump::TABLES`) from one
//! snapshot, `import` loads a dump into an empty store and completes results an earlier
//! version stored (`schema::COMPLETE_RESULTS`).

use ctp_store::dump::{self, Cell, ColumnType, Dump};
use ctp_store::{checks, StoreError, StoreResult};
use ctp_store_sql::{column_list, USED};
use tokio_postgres::types::ToSql;
use tokio_postgres::Row;

use crate::rows::get;
use crate::{schema, Context, Tx};

/// Everything in the store, from one snapshot.
pub(crate) async fn export(tx: &Tx<'_>) -> StoreResult<Dump> {
    tx.batch("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY").await.context("taking a snapshot")?;
    let counter = tx
        .query_one("SELECT last_value, is_called FROM change_ids", &[])
        .await
        .context("reading the change counter")?;
    let change_counter: i64 = if get::<bool>(&counter, 1)? { get(&counter, 0)? } else { 0 };
    let mut tables = Vec::new();
    for (name, columns) in dump::TABLES {
        let sql = format!("SELECT {} FROM {name} ORDER BY seq", column_list(columns));
        let mut rows = Vec::new();
        for row in tx.query(&sql, &[]).await.context("exporting a table")? {
            let values = columns.iter().enumerate().map(|(i, (_, column_type))| cell(&row, i, *column_type));
            rows.push(values.map(|value| value.map(Cell::into_json)).collect::<StoreResult<_>>()?);
        }
        let columns = columns.iter().map(|(c, _)| (*c).to_owned()).collect();
        tables.push(dump::Table { name: (*name).to_owned(), columns, rows });
    }
    Ok(Dump { format: dump::FORMAT.into(), version: dump::VERSION, change_counter, tables })
}

/// One value of a row, as its column's type.
fn cell(row: &Row, column: usize, column_type: ColumnType) -> StoreResult<Cell> {
    Ok(match column_type {
        ColumnType::Text => get::<Option<String>>(row, column)?.map_or(Cell::Null, Cell::Text),
        ColumnType::BigInt => get::<Option<i64>>(row, column)?.map_or(Cell::Null, Cell::Int),
        ColumnType::Int => get::<Option<i32>>(row, column)?.map_or(Cell::Null, |v| Cell::Int(v.into())),
        ColumnType::Real => get::<Option<f64>>(row, column)?.map_or(Cell::Null, Cell::Real),
        ColumnType::Bool => get::<Option<bool>>(row, column)?.map_or(Cell::Null, Cell::Bool),
    })
}

/// Loads a (checked) dump into this store, which must be empty.
pub(crate) async fn import(tx: &Tx<'_>, dump: &Dump) -> StoreResult<()> {
    let used = tx.query_one(USED, &[]).await.context("counting what the store holds")?;
    checks::empty_for_import(get(&used, 0)?)?;
    for (table, (name, columns)) in dump.tables.iter().zip(dump::TABLES) {
        let placeholders = (1..=columns.len()).map(|i| format!("${i}")).collect::<Vec<_>>().join(", ");
        let sql = format!("INSERT INTO {name} ({}) VALUES ({placeholders})", column_list(columns));
        for row in &table.rows {
            let mut values: Vec<Box<dyn ToSql + Sync + Send>> = Vec::new();
            for (value, (_, column_type)) in row.iter().zip(columns.iter()) {
                let cell = Cell::from_json(value, *column_type).map_err(StoreError::Invalid)?;
                values.push(parameter(cell, *column_type));
            }
            let params: Vec<&(dyn ToSql + Sync)> = values.iter().map(|v| v.as_ref() as &(dyn ToSql + Sync)).collect();
            tx.execute(&sql, &params).await.context("importing a row")?;
        }
    }
    tx.execute("SELECT setval('change_ids', GREATEST($1::BIGINT, 1), $1::BIGINT > 0)", &[&dump.change_counter])
        .await
        .context("setting the change counter")?;
    tx.batch(schema::COMPLETE_RESULTS).await.context("completing imported results")?;
    tx.batch(schema::WATCH_ALL).await.context("watching imported conditions")
}

/// A value of a dump as a statement parameter of its column's type.
fn parameter(cell: Cell, column_type: ColumnType) -> Box<dyn ToSql + Sync + Send> {
    match (cell, column_type) {
        (Cell::Text(s), _) => Box::new(Some(s)),
        (Cell::Int(i), ColumnType::Int) => Box::new(Some(i as i32)),
        (Cell::Int(i), _) => Box::new(Some(i)),
        (Cell::Real(f), _) => Box::new(Some(f)),
        (Cell::Bool(b), _) => Box::new(Some(b)),
        (Cell::Null, ColumnType::Text) => Box::new(None::<String>),
        (Cell::Null, ColumnType::BigInt) => Box::new(None::<i64>),
        (Cell::Null, ColumnType::Int) => Box::new(None::<i32>),
        (Cell::Null, ColumnType::Real) => Box::new(None::<f64>),
        (Cell::Null, ColumnType::Bool) => Box::new(None::<bool>),
    }
}
