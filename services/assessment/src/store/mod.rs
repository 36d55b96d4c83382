//! The assessment service's data: its migrations (and, as the service grows, entities and queries).

use sea_orm_migration::{MigrationTrait, MigratorTrait};

/// Every migration of the assessment database, in order: the platform's tables (outbox, inbox,
/// audit log) first, then the service's own.
pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        // The service's own migrations go after the platform's.
        hearth_rpc::platform_migrations()
    }
}
