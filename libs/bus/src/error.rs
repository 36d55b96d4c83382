//! The one error type of the bus.

/// What went wrong on the bus, told apart by what the caller should do about it.
#[derive(Debug, thiserror::Error)]
pub enum BusError {
    /// The bus (or its store) cannot be reached now: retry later with back-off. Nothing was
    /// lost; a publish that failed this way may or may not have been stored, so retry it with
    /// the same message id.
    #[error("event bus unavailable: {0}")]
    Unavailable(String),
    /// The caller asked for something malformed: a bad subject, event type, name or header.
    /// Retrying the same request fails again.
    #[error("invalid request to the event bus: {0}")]
    Invalid(String),
    /// The bus understood the request and refused it: no stream for the subject, a permission
    /// the credentials lack, a consumer whose configuration conflicts. Needs an operator.
    #[error("event bus refused the request: {0}")]
    Rejected(String),
    /// What the caller named is not there (a dead letter already redriven or removed, an event
    /// id no dead letter has). Retrying the same request fails again.
    #[error("not found: {0}")]
    NotFound(String),
    /// A message on the bus could not be decoded (not an `EventEnvelope`, not a `DeadLetter`).
    #[error("malformed message: {0}")]
    Decode(String),
    /// The database behind the outbox, the inbox or the in-process bus failed.
    #[error("database: {0}")]
    Database(sea_orm::DbErr),
    /// A bounded wait ended before the work was done (for example a flush at shutdown).
    #[error("timed out: {0}")]
    Timeout(String),
}

impl From<sea_orm::DbErr> for BusError {
    fn from(error: sea_orm::DbErr) -> Self {
        Self::Database(error)
    }
}

impl BusError {
    /// Whether retrying later may succeed (the bus or the database was unavailable, or a
    /// bounded wait ran out).
    pub fn is_retryable(&self) -> bool {
        matches!(
            self,
            Self::Unavailable(_) | Self::Timeout(_) | Self::Database(_)
        )
    }

    /// Whether the bus itself could not be reached.
    pub fn is_unavailable(&self) -> bool {
        matches!(self, Self::Unavailable(_))
    }
}
