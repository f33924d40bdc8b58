//! Why a store operation failed.

use ctp_model::resources::Kind;
use ctp_model::ResourceId;

/// The cause of a backend failure: the driver's error (or any other), kept whole so that
/// a log line can show the chain down to the database's own message.
pub type Cause = Box<dyn std::error::Error + Send + Sync + 'static>;

/// Why a store operation failed.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// No such resource (404).
    #[error("no {noun} with id {id}", noun = .0.noun(), id = .1)]
    NotFound(Kind, ResourceId),
    /// Something that is not a CTP resource (a drill, an acknowledgement link) does not
    /// exist (404).
    #[error("{0}")]
    Missing(String),
    /// The operation contradicts the state of the store (409), for example deleting a
    /// metric still in use.
    #[error("{0}")]
    Conflict(String),
    /// The request names something that cannot be used this way (400), for example a
    /// trigger on a measurement of another service view.
    #[error("{0}")]
    Invalid(String),
    /// The backend failed (500): what the store was doing, and the error that stopped it.
    /// For the server's log, not for clients.
    #[error("storage failure: {context}")]
    Backend {
        /// What the store was doing.
        context: String,
        /// The driver's (or another library's) error, when there is one.
        #[source]
        cause: Option<Cause>,
    },
}

impl StoreError {
    /// A backend failure caused by `cause` while doing `context`.
    pub fn backend(context: impl Into<String>, cause: impl Into<Cause>) -> StoreError {
        StoreError::Backend { context: context.into(), cause: Some(cause.into()) }
    }

    /// A backend failure without an underlying error (the store found something it cannot
    /// read, or a worker it relies on is gone).
    pub fn broken(context: impl Into<String>) -> StoreError {
        StoreError::Backend { context: context.into(), cause: None }
    }

    /// The message and every cause below it, joined by `": "`: what a log line should show.
    pub fn chain(&self) -> String {
        let mut text = self.to_string();
        let mut source = std::error::Error::source(self);
        while let Some(cause) = source {
            text.push_str(": ");
            text.push_str(&cause.to_string());
            source = cause.source();
        }
        text
    }
}

/// A store result.
pub type StoreResult<T> = Result<T, StoreError>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_backend_failure_keeps_its_cause_and_shows_the_chain() {
        let io = std::io::Error::other("disk I/O error");
        let error = StoreError::backend("committing a push", io);
        assert_eq!(error.to_string(), "storage failure: committing a push");
        assert_eq!(error.chain(), "storage failure: committing a push: disk I/O error");
        let source = std::error::Error::source(&error).expect("the cause is kept");
        assert_eq!(source.to_string(), "disk I/O error");
        assert_eq!(
            StoreError::broken("the writer thread has stopped").chain(),
            "storage failure: the writer thread has stopped"
        );
    }
}
