//! The sea-orm entity of `hearth_audit_log` (see [`crate::migrations`]). Private: rows are
//! written only through [`crate::AuditLog`], so that every row passed the entry types' checks.

use sea_orm::entity::prelude::*;

/// A row of `hearth_audit_log`.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "hearth_audit_log")]
pub struct Model {
    /// Order of writing; the tie-breaker of the newest-first order.
    #[sea_orm(primary_key)]
    pub id: i64,
    /// When the access happened (microseconds).
    pub occurred_at: DateTimeUtc,
    /// The principal's `sub`.
    pub subject: String,
    /// The principal's roles, comma-separated.
    pub roles: String,
    /// Municipality staff's municipality code.
    pub municipality: Option<String>,
    /// `read`, `list`, `export`, `update` or `erase`.
    pub action: String,
    /// The resource's type.
    pub resource_type: String,
    /// The resource's id.
    pub resource_id: String,
    /// The RPC or job.
    pub purpose: String,
    /// The request's trace or request id.
    pub correlation_id: Option<String>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
