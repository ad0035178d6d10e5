//! The throttle counts every attempt, also when they arrive at once: one
//! upsert statement per hit, so two "first" attempts cannot both insert
//! and one overwrite the other.

use crate::db_test;
use crate::support::TestApp;
use aqueduct_tenant::entity::throttle_bucket;
use aqueduct_tenant::throttle::{self, Limit};
use chrono::Duration;
use sea_orm::EntityTrait;

const LIMIT: Limit = Limit {
    max: 1_000,
    window: Duration::minutes(15),
};

async fn attempts(app: &TestApp, key: &str) -> i32 {
    throttle_bucket::Entity::find_by_id(key.to_owned())
        .one(app.pool.maintenance())
        .await
        .unwrap()
        .map_or(0, |b| b.attempts)
}

db_test!(concurrent_hits_on_a_new_key_all_count, |db| {
    let app = TestApp::new(db).await;
    const N: i32 = 24;
    for round in 0..3 {
        let key = format!("race:{round}");
        let mut tasks = Vec::new();
        for _ in 0..N {
            let (pool, clock, key) = (app.pool.clone(), app.clock.clone(), key.clone());
            tasks.push(tokio::spawn(async move {
                throttle::hit(&pool, clock.as_ref(), &key, LIMIT)
                    .await
                    .unwrap();
            }));
        }
        for t in tasks {
            t.await.unwrap();
        }
        assert_eq!(attempts(&app, &key).await, N, "round {round}");
    }
    // A window that is over starts again at one.
    app.clock.advance(Duration::minutes(16));
    throttle::hit(&app.pool, app.clock.as_ref(), "race:0", LIMIT)
        .await
        .unwrap();
    assert_eq!(attempts(&app, "race:0").await, 1);
    // And blocks once the limit is reached within the window.
    let small = Limit {
        max: 2,
        window: Duration::minutes(15),
    };
    throttle::hit(&app.pool, app.clock.as_ref(), "race:0", small)
        .await
        .unwrap();
    assert!(
        throttle::blocked_for(&app.pool, app.clock.as_ref(), "race:0", small)
            .await
            .unwrap()
            .is_some()
    );
});
