//! Reading the audit log in tests.

use super::app::TestApp;
use super::seed::Seeded;
use aqueduct_tenant::entity::audit_log;
use aqueduct_tenant::{Access, audit};
use sea_orm::{EntityTrait, QueryOrder};

/// Every entry, platform-level ones included (read as the schema owner).
pub async fn all_audit(app: &TestApp) -> Vec<audit_log::Model> {
    let owner = app.db.owner().await;
    audit_log::Entity::find()
        .order_by_asc(audit_log::Column::Id)
        .all(&owner)
        .await
        .unwrap()
}

/// The association's own log, newest first.
pub async fn tenant_audit(app: &TestApp, a: &Seeded) -> Vec<audit_log::Model> {
    let tx = app.pool.tenant_with(&a.tenant, Access::Read).await.unwrap();
    audit::recent(&tx, 1000).await.unwrap()
}

/// Whether `log` has an entry with this action and outcome.
pub fn has(log: &[audit_log::Model], action: &str, outcome: &str) -> bool {
    log.iter()
        .any(|e| e.action == action && e.outcome == outcome)
}
