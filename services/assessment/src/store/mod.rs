//! The assessment service's data: migrations and entities.

pub mod entities;
mod migrations;

use sea_orm_migration::{MigrationTrait, MigratorTrait};

/// Every migration of the assessment database, in order: the platform's tables (outbox, inbox,
/// audit log) first, then the service's own.
pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        let mut migrations = hearth_rpc::platform_migrations();
        migrations.extend(migrations::migrations());
        migrations
    }
}
