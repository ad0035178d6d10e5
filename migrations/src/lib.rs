#![doc = include_str!("../README.md")]

pub use sea_orm_migration::prelude::*;

pub mod app_role;
mod m20261126_000001_foundation;
mod m20261126_000002_jobs;
mod m20261126_000301_identity;
mod m20261126_000302_second_factor;
mod m20261126_000303_staff;
pub mod rls;
pub mod schema;

/// Every migration, in order.
#[derive(Debug)]
pub struct Migrator;

#[sea_orm_migration::async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(m20261126_000001_foundation::Migration),
            Box::new(m20261126_000002_jobs::Migration),
            Box::new(m20261126_000301_identity::Migration),
            Box::new(m20261126_000302_second_factor::Migration),
            Box::new(m20261126_000303_staff::Migration),
        ]
    }
}

/// Names of all migrations this build knows, in order.
pub fn known_migrations() -> Vec<String> {
    Migrator::migrations()
        .iter()
        .map(|m| m.name().to_owned())
        .collect()
}
