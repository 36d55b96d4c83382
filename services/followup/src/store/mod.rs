//! The followup service's data: its migrations (and, as the service grows, entities and queries).

use sea_orm_migration::{MigrationTrait, MigratorTrait};

/// Every migration of the followup database, in order: the bus's outbox and inbox and the
/// audit log first, then the service's own.
pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        let mut migrations = hearth_bus::migrations();
        migrations.extend(hearth_audit::migrations());
        migrations
    }
}
