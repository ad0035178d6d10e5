//! Single sign-on records: an association's own OpenID Connect provider,
//! sign-ins under way (kept server-side, single use, 10 minutes) and the
//! links from a provider's subject to one of our people. The protocol
//! itself (discovery, PKCE, token checks) lives in the HTTP crate.

use crate::db::{Db, TenantTx};
use crate::entity::{sso_identity, sso_pending, sso_provider};
use crate::sessions::hash_token;
use aqueduct_core::{Clock, Secret, TenantId, UserId};
use chrono::Duration;
use sea_orm::{
    ActiveValue::Set, ColumnTrait, DbErr, EntityTrait, QueryFilter, sea_query::OnConflict,
};

/// How long a started sign-in may take at the provider.
pub const PENDING_TTL: Duration = Duration::minutes(10);

/// An OpenID Connect provider (its `Debug` leaves the secret out).
#[derive(Clone)]
pub struct ProviderSettings {
    /// Issuer URL, exactly as in the provider's discovery document.
    pub issuer: String,
    /// Our client id there.
    pub client_id: String,
    /// Our client secret there.
    pub client_secret: Secret,
    /// Button text, e.g. "Sign in with Google Workspace".
    pub label: String,
}

impl std::fmt::Debug for ProviderSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ProviderSettings")
            .field("issuer", &self.issuer)
            .field("client_id", &self.client_id)
            .field("label", &self.label)
            .finish_non_exhaustive()
    }
}

/// The client secret as stored: sealed (AES-256-GCM, the association's
/// id as associated data) when the handle has a sealing key.
fn seal_secret(
    key: Option<&crate::sealed::SealKey>,
    tenant: uuid::Uuid,
    plain: &str,
) -> Result<String, DbErr> {
    match key {
        Some(k) => k.seal(plain, tenant.as_bytes()).map_err(DbErr::Custom),
        None => Ok(plain.to_owned()),
    }
}

/// The client secret from its stored form; `None` when it is sealed and
/// does not open (another key, or copied from another association).
fn open_secret(
    key: Option<&crate::sealed::SealKey>,
    tenant: uuid::Uuid,
    stored: &str,
) -> Option<String> {
    if !crate::sealed::is_sealed(stored) {
        return Some(stored.to_owned());
    }
    let plain = key.and_then(|k| k.open(stored, tenant.as_bytes()));
    if plain.is_none() {
        tracing::error!("a sealed SSO client secret does not open: is auth.totp_key right?");
    }
    plain
}

/// The association's own provider, if it set one (a sealed secret that
/// does not open counts as none: sign-in through it is unavailable).
pub async fn provider(tx: &TenantTx) -> Result<Option<ProviderSettings>, DbErr> {
    let key = tx.seal_key();
    Ok(crate::scoped::<sso_provider::Entity>(tx)
        .one(tx.conn())
        .await?
        .and_then(|m| {
            let secret = open_secret(key, m.tenant_id, &m.client_secret)?;
            Some(ProviderSettings {
                issuer: m.issuer,
                client_id: m.client_id,
                client_secret: Secret::new(secret),
                label: m.label,
            })
        }))
}

/// Seals every SSO client secret and TOTP key still stored in the clear
/// (rows written before a sealing key was configured, or before sealing
/// existed). Run at start-up when `auth.totp_key` is set; idempotent.
/// Returns how many rows it sealed.
pub async fn seal_stored_secrets(db: &Db) -> Result<u64, DbErr> {
    use crate::entity::user_totp;
    let Some(key) = db.seal_key() else {
        return Ok(0);
    };
    let mut n = 0;
    let tx = db.system("seal stored secrets").await?;
    let providers = sso_provider::Entity::find().all(tx.conn()).await?;
    tx.commit().await?;
    for m in providers {
        if crate::sealed::is_sealed(&m.client_secret) {
            continue;
        }
        // Written in the association's own transaction (row-level
        // security lets the platform path read, not change, its rows).
        let Some(ctx) = crate::directory::by_id(db, TenantId::from_uuid(m.tenant_id)).await? else {
            continue;
        };
        let ttx = db.tenant(&ctx).await?;
        let sealed = seal_secret(Some(key), m.tenant_id, &m.client_secret)?;
        let res = sso_provider::Entity::update_many()
            .col_expr(
                sso_provider::Column::ClientSecret,
                sea_orm::sea_query::Expr::value(sealed),
            )
            .filter(sso_provider::Column::TenantId.eq(m.tenant_id))
            .filter(sso_provider::Column::Id.eq(m.id))
            .filter(sso_provider::Column::ClientSecret.eq(m.client_secret.clone()))
            .exec(ttx.conn())
            .await?;
        ttx.commit().await?;
        n += res.rows_affected;
    }
    let tx = db.system("seal stored secrets").await?;
    for m in user_totp::Entity::find().all(tx.conn()).await? {
        if crate::sealed::is_sealed(&m.secret) {
            continue;
        }
        let sealed = key
            .seal(&m.secret, m.user_id.as_bytes())
            .map_err(DbErr::Custom)?;
        let res = user_totp::Entity::update_many()
            .col_expr(
                user_totp::Column::Secret,
                sea_orm::sea_query::Expr::value(sealed),
            )
            .filter(user_totp::Column::UserId.eq(m.user_id))
            .filter(user_totp::Column::Secret.eq(m.secret.clone()))
            .exec(tx.conn())
            .await?;
        n += res.rows_affected;
    }
    tx.commit().await?;
    Ok(n)
}

/// Sets (or replaces) the association's provider.
pub async fn set_provider(
    tx: &TenantTx,
    clock: &dyn Clock,
    p: &ProviderSettings,
) -> Result<(), DbErr> {
    let tenant = tx.tenant_id().uuid();
    sso_provider::Entity::insert(sso_provider::ActiveModel {
        tenant_id: Set(tenant),
        id: Set(tenant),
        issuer: Set(p.issuer.clone()),
        client_id: Set(p.client_id.clone()),
        client_secret: Set(seal_secret(
            tx.seal_key(),
            tenant,
            p.client_secret.expose(),
        )?),
        label: Set(p.label.clone()),
        updated_at: Set(clock.now()),
    })
    .on_conflict(
        OnConflict::columns([sso_provider::Column::TenantId, sso_provider::Column::Id])
            .update_columns([
                sso_provider::Column::Issuer,
                sso_provider::Column::ClientId,
                sso_provider::Column::ClientSecret,
                sso_provider::Column::Label,
                sso_provider::Column::UpdatedAt,
            ])
            .to_owned(),
    )
    .exec_without_returning(tx.conn())
    .await?;
    Ok(())
}

/// Removes the association's provider; whether there was one.
pub async fn remove_provider(tx: &TenantTx) -> Result<bool, DbErr> {
    let res = sso_provider::Entity::delete_many()
        .filter(sso_provider::Column::TenantId.eq(tx.tenant_id().uuid()))
        .exec(tx.conn())
        .await?;
    Ok(res.rows_affected > 0)
}

/// A sign-in under way (its `Debug` leaves the verifier out).
#[derive(Clone)]
pub struct Pending {
    /// The association whose provider is used; `None` for the platform's.
    pub tenant: Option<TenantId>,
    /// The nonce the ID token must carry.
    pub nonce: String,
    /// The PKCE code verifier.
    pub pkce_verifier: Secret,
    /// Our own path to go to afterwards.
    pub return_to: String,
}

impl std::fmt::Debug for Pending {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pending")
            .field("tenant", &self.tenant)
            .field("return_to", &self.return_to)
            .finish_non_exhaustive()
    }
}

/// Stores a started sign-in under the hash of its `state`, bound to the
/// hash of the browser's binding cookie. Drops expired ones on the way.
pub async fn start(
    db: &Db,
    clock: &dyn Clock,
    state: &Secret,
    browser: &Secret,
    p: &Pending,
) -> Result<(), DbErr> {
    let now = clock.now();
    sso_pending::Entity::delete_many()
        .filter(sso_pending::Column::ExpiresAt.lt(now))
        .exec(db.maintenance())
        .await?;
    sso_pending::Entity::insert(sso_pending::ActiveModel {
        state_hash: Set(hash_token(state.expose())),
        browser_hash: Set(hash_token(browser.expose())),
        provider_tenant: Set(p.tenant.map(TenantId::uuid)),
        nonce: Set(p.nonce.clone()),
        pkce_verifier: Set(p.pkce_verifier.expose().to_owned()),
        return_to: Set(p.return_to.clone()),
        created_at: Set(now),
        expires_at: Set(now + PENDING_TTL),
    })
    .exec_without_returning(db.maintenance())
    .await?;
    Ok(())
}

/// Takes the sign-in started with `state` (at most once): `None` when the
/// state is unknown, already used, expired, or was started by another
/// browser.
pub async fn take(
    db: &Db,
    clock: &dyn Clock,
    state: &str,
    browser: Option<&str>,
) -> Result<Option<Pending>, DbErr> {
    let hash = hash_token(state);
    let Some(row) = sso_pending::Entity::find_by_id(hash.clone())
        .one(db.maintenance())
        .await?
    else {
        return Ok(None);
    };
    let deleted = sso_pending::Entity::delete_many()
        .filter(sso_pending::Column::StateHash.eq(hash))
        .exec(db.maintenance())
        .await?;
    if deleted.rows_affected != 1
        || row.expires_at <= clock.now()
        || browser.map(hash_token).as_deref() != Some(row.browser_hash.as_str())
    {
        return Ok(None);
    }
    Ok(Some(Pending {
        tenant: row.provider_tenant.map(TenantId::from_uuid),
        nonce: row.nonce,
        pkce_verifier: Secret::new(row.pkce_verifier),
        return_to: row.return_to,
    }))
}

/// The person a provider's subject was linked to.
pub async fn linked_user(db: &Db, issuer: &str, subject: &str) -> Result<Option<UserId>, DbErr> {
    Ok(
        sso_identity::Entity::find_by_id((issuer.to_owned(), subject.to_owned()))
            .one(db.maintenance())
            .await?
            .map(|m| UserId::from_uuid(m.user_id)),
    )
}

/// Links a provider's subject to a person (first SSO sign-in).
pub async fn link(
    db: &Db,
    clock: &dyn Clock,
    issuer: &str,
    subject: &str,
    user: UserId,
) -> Result<(), DbErr> {
    sso_identity::Entity::insert(sso_identity::ActiveModel {
        issuer: Set(issuer.to_owned()),
        subject: Set(subject.to_owned()),
        user_id: Set(user.uuid()),
        created_at: Set(clock.now()),
    })
    .on_conflict(
        OnConflict::columns([sso_identity::Column::Issuer, sso_identity::Column::Subject])
            .do_nothing()
            .to_owned(),
    )
    .exec_without_returning(db.maintenance())
    .await?;
    Ok(())
}
