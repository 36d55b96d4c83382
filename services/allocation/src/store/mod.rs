//! The allocation service's data: its migrations, entities and the stored forms of keys,
//! budgets, runs and invoices, and the placements that use-based keys count.
//!
//! Keys, budgets and runs keep their structured parts (a key's values and splits, a budget's
//! lines, a run's snapshot of members, key, budget and shares) as JSON text beside the columns
//! that queries filter and order by; JSON text works the same on SQLite and PostgreSQL, and a
//! run's inputs are read back exactly as they were written (runs are records).

pub mod entities;
mod migrations;
pub mod placements;
pub mod records;

use sea_orm_migration::{MigrationTrait, MigratorTrait};

/// Every migration of the allocation database, in order: the platform's tables (outbox, inbox,
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
