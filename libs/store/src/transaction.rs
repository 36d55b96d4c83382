//! A transaction that is a span of its own: `BEGIN`, every statement and `COMMIT` run inside
//! one `db.transaction` span, so a trace shows each transaction of a call as a unit, with its
//! statements beneath it.

use async_trait::async_trait;
use sea_orm::{
    ConnectionTrait, DatabaseConnection, DatabaseTransaction, DbBackend, DbErr, ExecResult,
    QueryResult, Statement, TransactionTrait,
};
use tracing::{Instrument as _, Span};

/// A `DatabaseTransaction` in its span. Use it wherever a connection is wanted (it is a
/// [`ConnectionTrait`]); [`Transaction::commit`] ends it, and dropping it rolls back.
pub struct Transaction {
    txn: DatabaseTransaction,
    span: Span,
}

impl std::fmt::Debug for Transaction {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Transaction").finish_non_exhaustive()
    }
}

impl Transaction {
    /// `BEGIN` in a new `db.transaction` span, a child of the current span.
    pub async fn begin(db: &DatabaseConnection) -> Result<Self, DbErr> {
        let system = match db.get_database_backend() {
            DbBackend::Postgres => "postgresql",
            DbBackend::Sqlite => "sqlite",
            _ => "other_sql",
        };
        let span = tracing::info_span!(
            "db.transaction",
            otel.name = "transaction",
            db.system = system,
            otel.status_code = tracing::field::Empty,
        );
        let txn = db.begin().instrument(span.clone()).await?;
        Ok(Transaction { txn, span })
    }

    /// `COMMIT`; a failed commit marks the span as an error.
    pub async fn commit(self) -> Result<(), DbErr> {
        let Transaction { txn, span } = self;
        let committed = txn.commit().instrument(span.clone()).await;
        if committed.is_err() {
            span.record("otel.status_code", "ERROR");
        }
        committed
    }

    /// `ROLLBACK`, explicitly (dropping the transaction does the same).
    pub async fn rollback(self) -> Result<(), DbErr> {
        let Transaction { txn, span } = self;
        txn.rollback().instrument(span).await
    }
}

#[async_trait]
impl ConnectionTrait for Transaction {
    fn get_database_backend(&self) -> DbBackend {
        self.txn.get_database_backend()
    }

    async fn execute_raw(&self, stmt: Statement) -> Result<ExecResult, DbErr> {
        self.txn
            .execute_raw(stmt)
            .instrument(self.span.clone())
            .await
    }

    async fn execute_unprepared(&self, sql: &str) -> Result<ExecResult, DbErr> {
        self.txn
            .execute_unprepared(sql)
            .instrument(self.span.clone())
            .await
    }

    async fn query_one_raw(&self, stmt: Statement) -> Result<Option<QueryResult>, DbErr> {
        self.txn
            .query_one_raw(stmt)
            .instrument(self.span.clone())
            .await
    }

    async fn query_all_raw(&self, stmt: Statement) -> Result<Vec<QueryResult>, DbErr> {
        self.txn
            .query_all_raw(stmt)
            .instrument(self.span.clone())
            .await
    }

    fn support_returning(&self) -> bool {
        self.txn.support_returning()
    }

    fn is_mock_connection(&self) -> bool {
        self.txn.is_mock_connection()
    }
}
