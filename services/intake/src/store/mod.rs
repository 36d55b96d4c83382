//! The intake service's data: its migrations (and, as the service grows, entities and queries).

use sea_orm_migration::{MigrationTrait, MigratorTrait};

/// Every migration of the intake database, in order: the bus's outbox and inbox first.
pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        hearth_bus::migrations()
    }
}
