//! Idempotent creates and actions (AIP-155, `idempotency_key`): the first result of each key is
//! remembered in the service's database, in the transaction of the change itself, so a retry
//! returns it instead of doing the work again. The same key with another request is refused.
//!
//! ```ignore
//! let key = IdempotencyKey::new("CreatePlacementRequest", &request.idempotency_key,
//!     "idempotency_key", &ctx.keyring, &request_bytes_without_the_key)?;
//! let txn = ctx.begin().await?;
//! if let Some(first) = key.find(&txn).await? { return answer(first.resource_id) }
//! … the change …
//! key.remember(&txn, &id, "created", now).await?;
//! txn.commit().await?;
//! ```

use chrono::{DateTime, Utc};
use hearth_privacy::Keyring;
use sea_orm::{ActiveValue, ConnectionTrait, EntityTrait};
use sea_orm_migration::prelude::*;
use sha2::{Digest, Sha256};

use crate::ServiceError;

/// A checked idempotency key of one operation, with the keyed digest of its request.
#[derive(Debug, Clone)]
pub struct IdempotencyKey {
    key: String,
    digest: String,
    field: String,
}

/// The first result of a key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FirstResult {
    pub resource_id: String,
    /// What the operation did, in its own words (e.g. `created`, `linked`).
    pub outcome: String,
}

impl IdempotencyKey {
    /// Checks `key` (a UUID, from `field`) for `operation`. `request` is the request's encoded
    /// bytes without the key; its digest is keyed with the county's blind-index key, so that a
    /// stored digest reveals nothing about personal data in the request.
    pub fn new(
        operation: &str,
        key: &str,
        field: &str,
        keyring: &Keyring,
        request: &[u8],
    ) -> Result<Self, ServiceError> {
        let key = key.trim();
        if key.is_empty() {
            return Err(ServiceError::invalid(
                field,
                "is required: a UUID chosen by the client",
            ));
        }
        let uuid = uuid::Uuid::parse_str(key)
            .map_err(|_| ServiceError::invalid(field, "must be a UUID"))?;
        let digest = hex(&Sha256::digest(request));
        Ok(Self {
            key: format!("{operation}:{}", uuid.hyphenated()),
            digest: keyring.blind_index("idempotency_request", &digest),
            field: field.to_owned(),
        })
    }

    /// The first result of this key, if the operation ran before. The same key with another
    /// request is `InvalidArgument`.
    pub async fn find<C: ConnectionTrait>(
        &self,
        conn: &C,
    ) -> Result<Option<FirstResult>, ServiceError> {
        let Some(row) = entity::Entity::find_by_id(self.key.clone())
            .one(conn)
            .await?
        else {
            return Ok(None);
        };
        if row.request_digest != self.digest {
            return Err(ServiceError::invalid(
                self.field.clone(),
                "was used before with a different request: use a new key for a new request",
            ));
        }
        Ok(Some(FirstResult {
            resource_id: row.resource_id,
            outcome: row.outcome,
        }))
    }

    /// Remembers the result, in the transaction of the change. A concurrent call with the same
    /// key makes one of the two fail on the primary key: that one answers `Aborted`, and its
    /// retry finds the first result.
    pub async fn remember<C: ConnectionTrait>(
        &self,
        conn: &C,
        resource_id: &str,
        outcome: &str,
        now: DateTime<Utc>,
    ) -> Result<(), ServiceError> {
        let row = entity::ActiveModel {
            key: ActiveValue::Set(self.key.clone()),
            request_digest: ActiveValue::Set(self.digest.clone()),
            resource_id: ActiveValue::Set(resource_id.to_owned()),
            outcome: ActiveValue::Set(outcome.to_owned()),
            created_at: ActiveValue::Set(now),
        };
        match entity::Entity::insert(row)
            .exec_without_returning(conn)
            .await
        {
            Ok(_) => Ok(()),
            Err(error)
                if matches!(
                    error.sql_err(),
                    Some(sea_orm::SqlErr::UniqueConstraintViolation(_))
                ) =>
            {
                Err(ServiceError::Aborted {
                    reason: "CONCURRENT_RETRY",
                    message: "another call with the same idempotency key is in progress; retry it"
                        .to_owned(),
                })
            }
            Err(error) => Err(error.into()),
        }
    }
}

/// Deletes keys older than `before` (housekeeping): a retry after that is a new request.
pub async fn purge_before<C: ConnectionTrait>(
    conn: &C,
    before: DateTime<Utc>,
) -> Result<u64, sea_orm::DbErr> {
    use sea_orm::{ColumnTrait, QueryFilter};
    let result = entity::Entity::delete_many()
        .filter(entity::Column::CreatedAt.lt(before))
        .exec(conn)
        .await?;
    Ok(result.rows_affected)
}

fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write;
    bytes
        .iter()
        .fold(String::with_capacity(bytes.len() * 2), |mut text, byte| {
            let _ = write!(text, "{byte:02x}");
            text
        })
}

mod entity {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "hearth_idempotency_key")]
    pub struct Model {
        /// `<operation>:<uuid>`.
        #[sea_orm(primary_key, auto_increment = false)]
        pub key: String,
        pub request_digest: String,
        pub resource_id: String,
        pub outcome: String,
        pub created_at: DateTimeUtc,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

#[derive(DeriveIden)]
enum HearthIdempotencyKey {
    Table,
    Key,
    RequestDigest,
    ResourceId,
    Outcome,
    CreatedAt,
}

/// `hearth_idempotency_key`: the first result of each idempotency key.
pub(crate) struct CreateIdempotencyKeys;

impl MigrationName for CreateIdempotencyKeys {
    fn name(&self) -> &str {
        "m20261125_000201_create_idempotency_key"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for CreateIdempotencyKeys {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        use HearthIdempotencyKey as K;
        manager
            .create_table(
                Table::create()
                    .table(K::Table)
                    .if_not_exists()
                    .col(
                        ColumnDef::new(K::Key)
                            .string_len(100)
                            .not_null()
                            .primary_key(),
                    )
                    .col(ColumnDef::new(K::RequestDigest).string_len(64).not_null())
                    .col(ColumnDef::new(K::ResourceId).string_len(64).not_null())
                    .col(ColumnDef::new(K::Outcome).string_len(32).not_null())
                    .col(
                        ColumnDef::new(K::CreatedAt)
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .if_not_exists()
                    .name("hearth_idempotency_key_created")
                    .table(K::Table)
                    .col(K::CreatedAt)
                    .to_owned(),
            )
            .await
    }
}
