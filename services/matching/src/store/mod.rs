//! The matching service's data: its migrations and entities — the read models of the pool
//! (`matching_family`, from `family.*` and `training.completed`) and of the open placement
//! requests (`matching_request`, from `request.*`).

pub mod entities;
mod migrations;

use sea_orm_migration::{MigrationTrait, MigratorTrait};

/// Every migration of the matching database, in order: the platform's tables (outbox, inbox,
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
