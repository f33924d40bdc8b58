//! The database URL of ctpd and the store it names: the one place where a URL chooses a
//! backend. `ctpd` (serve, migrate, export, import) and the test harness open stores only
//! through [`open`].
//!
//! Accepted, as the README documents: `sqlite:PATH` and `sqlite://PATH` (the embedded
//! SQLite store in the file `PATH`), `postgres://...` and `postgresql://...` (a PostgreSQL
//! connection URL). Anything else is refused with a message that says what is accepted.

use std::fmt;
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::sync::Arc;

use ctp_store::{Store, StoreError};
use ctp_store_postgres::PostgresStore;
use ctp_store_sqlite::SqliteStore;

/// A database URL, parsed: which backend, and where.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DatabaseUrl {
    /// The embedded SQLite store in this file (`sqlite:PATH`, `sqlite://PATH`).
    Sqlite(PathBuf),
    /// A PostgreSQL database, by its connection URL as given (`postgres://...`,
    /// `postgresql://...`).
    Postgres(String),
}

/// A URL that names no backend.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unsupported database URL {0:?}: use sqlite:PATH or postgres://USER@HOST/DB")]
pub struct UnsupportedUrl(pub String);

/// Why a store did not open.
#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    /// The URL names no backend.
    #[error(transparent)]
    Unsupported(#[from] UnsupportedUrl),
    /// The backend did not open (or migrate) the store.
    #[error("{0}")]
    Store(StoreError),
}

impl DatabaseUrl {
    /// Parses a database URL.
    pub fn parse(url: &str) -> Result<DatabaseUrl, UnsupportedUrl> {
        if let Some(path) = url.strip_prefix("sqlite://").or_else(|| url.strip_prefix("sqlite:")) {
            return Ok(DatabaseUrl::Sqlite(PathBuf::from(path)));
        }
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            return Ok(DatabaseUrl::Postgres(url.to_owned()));
        }
        Err(UnsupportedUrl(url.to_owned()))
    }

    /// Opens the store, applying its schema migrations.
    pub async fn open(&self) -> Result<Arc<dyn Store>, OpenError> {
        let store: Arc<dyn Store> = match self {
            DatabaseUrl::Sqlite(path) => SqliteStore::open(Path::new(path)).map_err(OpenError::Store)?,
            DatabaseUrl::Postgres(url) => PostgresStore::open(url).await.map_err(OpenError::Store)?,
        };
        Ok(store)
    }
}

impl FromStr for DatabaseUrl {
    type Err = UnsupportedUrl;

    fn from_str(url: &str) -> Result<DatabaseUrl, UnsupportedUrl> {
        DatabaseUrl::parse(url)
    }
}

impl fmt::Display for DatabaseUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DatabaseUrl::Sqlite(path) => write!(f, "sqlite:{}", path.display()),
            DatabaseUrl::Postgres(url) => f.write_str(url),
        }
    }
}

/// Opens the store a database URL names, applying its schema migrations.
pub async fn open(url: &str) -> Result<Arc<dyn Store>, OpenError> {
    DatabaseUrl::parse(url)?.open().await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sqlite(path: &str) -> Result<DatabaseUrl, UnsupportedUrl> {
        Ok(DatabaseUrl::Sqlite(PathBuf::from(path)))
    }

    #[test]
    fn sqlite_urls_name_a_file() {
        assert_eq!(DatabaseUrl::parse("sqlite:ctpd-data/ctpd.db"), sqlite("ctpd-data/ctpd.db"));
        assert_eq!(DatabaseUrl::parse("sqlite:/var/lib/ctpd/ctpd.db"), sqlite("/var/lib/ctpd/ctpd.db"));
        assert_eq!(DatabaseUrl::parse("sqlite://ctpd.db"), sqlite("ctpd.db"));
        assert_eq!(DatabaseUrl::parse("sqlite:///var/lib/ctpd/ctpd.db"), sqlite("/var/lib/ctpd/ctpd.db"));
    }

    #[test]
    fn postgres_urls_are_kept_whole() {
        for url in ["postgres://ctpd@db.example/ctpd", "postgresql://ctpd:secret@127.0.0.1:5432/ctpd?sslmode=disable"] {
            assert_eq!(DatabaseUrl::parse(url), Ok(DatabaseUrl::Postgres(url.to_owned())));
            assert_eq!(url.parse::<DatabaseUrl>().unwrap().to_string(), url);
        }
    }

    #[test]
    fn anything_else_is_refused_saying_what_is_accepted() {
        for url in ["mysql://nobody@localhost/ctpd", "", "ctpd.db", "postgres:ctpd", "SQLITE:ctpd.db", "postgres//x"] {
            let error = DatabaseUrl::parse(url).unwrap_err();
            assert_eq!(
                error.to_string(),
                format!("unsupported database URL {url:?}: use sqlite:PATH or postgres://USER@HOST/DB")
            );
        }
    }

    #[test]
    fn a_sqlite_url_is_written_back_as_parsed() {
        assert_eq!(DatabaseUrl::parse("sqlite://ctpd.db").unwrap().to_string(), "sqlite:ctpd.db");
    }
}
