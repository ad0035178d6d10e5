//! TOTP keys are sealed at rest (AES-256-GCM, key from `auth.totp_key`):
//! the stored value is not the key, and a database handle without the
//! right sealing key cannot verify codes with it.

use crate::db_test;
use crate::support::app::TOTP_KEY;
use crate::support::browser::{self, Browser, PASSWORD};
use aqueduct_core::Clock;
use aqueduct_tenant::entity::user_totp;
use aqueduct_tenant::sealed::{self, SealKey};
use aqueduct_tenant::second_factor::{self, Verified};
use aqueduct_tenant::{Role, otp};
use sea_orm::EntityTrait;

db_test!(totp_keys_are_sealed_at_rest, |db| {
    let (app, _a) = browser::alpha_with(db, "clerk@alpha.test", Role::Clerk).await;
    let mut b = Browser::default();
    b.sign_in(&app, "clerk@alpha.test", PASSWORD).await;
    let (key, _codes) = b.enrol_totp(&app).await;
    let secret = otp::base32_encode(&key);
    let rows = user_totp::Entity::find()
        .all(&app.db.owner().await)
        .await
        .unwrap();
    assert_eq!(rows.len(), 1);
    assert!(sealed::is_sealed(&rows[0].secret), "{}", rows[0].secret);
    assert!(!rows[0].secret.contains(&secret));
    let user = aqueduct_core::UserId::from_uuid(rows[0].user_id);
    assert_eq!(
        SealKey::from_bytes(&TOTP_KEY)
            .open(&rows[0].secret, rows[0].user_id.as_bytes())
            .as_deref(),
        Some(secret.as_str())
    );

    // A later step's code, checked through handles with other keys.
    app.clock.advance(chrono::Duration::seconds(60));
    let code = otp::code_at_step(&key, otp::step_at(app.clock.now().timestamp()), otp::DIGITS);
    let unkeyed = app.db.app_pool(1).await;
    assert_eq!(
        second_factor::verify(&unkeyed, app.clock.as_ref(), user, &code)
            .await
            .unwrap(),
        Verified::Refused
    );
    let wrong = app
        .db
        .app_pool(1)
        .await
        .with_seal_key(SealKey::from_bytes(&[1; 32]));
    assert_eq!(
        second_factor::verify(&wrong, app.clock.as_ref(), user, &code)
            .await
            .unwrap(),
        Verified::Refused
    );
    // The configured key opens it: the same code passes.
    assert_eq!(
        second_factor::verify(&app.pool, app.clock.as_ref(), user, &code)
            .await
            .unwrap(),
        Verified::Totp
    );
});
