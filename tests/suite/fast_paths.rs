//! The signed-in request's fast path (docs/benchmarks.md): the session and
//! its person in one query, the session touched at most once a minute, the
//! membership in one round trip — with the same answers as before.

use crate::db_test;
use crate::support::browser::{self, Browser, PASSWORD};
use crate::support::seed;
use aqueduct_core::UserId;
use aqueduct_tenant::entity::{session, user};
use aqueduct_tenant::{Role, credentials};
use chrono::Duration;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};

async fn last_seen(app: &crate::support::TestApp) -> chrono::DateTime<chrono::Utc> {
    let owner = app.db.owner().await;
    let rows = session::Entity::find().all(&owner).await.unwrap();
    assert_eq!(rows.len(), 1);
    rows[0].last_seen_at
}

db_test!(a_busy_session_is_touched_once_a_minute, |db| {
    let (app, _a) = browser::alpha_with(db, "clerk@alpha.test", Role::Clerk).await;
    let mut b = Browser::default();
    b.sign_in(&app, "clerk@alpha.test", PASSWORD).await;
    let signed_in = last_seen(&app).await;
    app.clock.advance(Duration::seconds(59));
    assert_eq!(b.get(&app, "/api/v1/accounts").await.status, 200);
    assert_eq!(
        last_seen(&app).await,
        signed_in,
        "no write within the minute"
    );
    app.clock.advance(Duration::seconds(2));
    assert_eq!(b.get(&app, "/api/v1/accounts").await.status, 200);
    let touched = last_seen(&app).await;
    assert!(
        touched > signed_in + Duration::seconds(60),
        "touched after a minute: {signed_in} → {touched}"
    );
});

db_test!(
    the_door_reads_the_role_of_the_selected_association_only,
    |db| {
        let (app, a) = browser::alpha_with(db, "clerk@alpha.test", Role::Clerk).await;
        let beta = seed::tenant(&app.pool, app.clock.as_ref(), "beta").await;
        let owner = app.db.owner().await;
        let clerk = user::Entity::find()
            .filter(user::Column::Email.eq("clerk@alpha.test"))
            .one(&owner)
            .await
            .unwrap()
            .unwrap();
        let id = UserId::from_uuid(clerk.id);
        assert_eq!(
            credentials::role_of(&app.pool, a.tenant.id(), id)
                .await
                .unwrap(),
            Some(Role::Clerk)
        );
        assert_eq!(
            credentials::role_of(&app.pool, beta.tenant.id(), id)
                .await
                .unwrap(),
            None,
            "not a member of beta"
        );
        // The pool is still usable afterwards (the one-message transaction
        // closed itself), and sessions still resolve.
        let mut b = Browser::default();
        b.sign_in(&app, "clerk@alpha.test", PASSWORD).await;
        for _ in 0..12 {
            assert_eq!(b.get(&app, "/api/v1/accounts").await.status, 200);
        }
    }
);
