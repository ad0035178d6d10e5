//! A short-lived, in-process cache of what every signed-in request asks
//! the database first: the session, the association, the person's role
//! there, whether they have a second factor and, for a customer login,
//! the accounts it holds. On PostgreSQL only.
//!
//! Why it is safe to cache, and for how long an answer can be stale:
//! - **Other processes** (replicas, workers, the CLI): triggers on
//!   `sessions`, `users`, `memberships`, `user_totp`, `customer_links`
//!   and `tenants` send a `NOTIFY aqueduct_auth` when a row changes (sent
//!   at commit; migrations `m20261130_01_auth_notify` and
//!   `m20261201_01_customer_links_notify`). Every process listens and
//!   evicts what the message names. Staleness is the delivery delay
//!   (milliseconds).
//! - **This process**: the HTTP layer calls [`AuthCache::flush`] after
//!   every state-changing request it served, before the response leaves,
//!   so a sign-out or a role change is seen by this process's very next
//!   request.
//! - **Races**: an answer read from the database is kept only if no
//!   eviction or flush happened while it was being read (a generation
//!   counter), so a read that started before a change and finished after
//!   its notification is never cached.
//! - **No listener, no cache**: while the listening connection is down
//!   (or before it first connects) nothing is served from the cache; when
//!   it drops, the cache is emptied.
//! - **Time limits still hold**: a cached session is served only while it
//!   is inside its idle and absolute limits and its last touch is recent
//!   ([`crate::sessions::TOUCH_AFTER`]); otherwise the request takes the
//!   database path, which ends or touches the session as before.
//! - **Belt and braces**: every entry also expires after `ttl`.

use crate::db::{Backend, Db};
use crate::sessions::{self, Session, SessionPolicy};
use crate::{Role, TenantCtx, credentials, customers, directory, second_factor};
use aqueduct_core::{AccountId, Clock, TenantId, UserId};
use chrono::{DateTime, Utc};
use sea_orm::DbErr;
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

/// The channel the triggers notify.
pub const CHANNEL: &str = "aqueduct_auth";

/// Entries kept at most; beyond it the cache starts again empty (a
/// flood of distinct sessions must not grow memory without bound).
const MAX_ENTRIES: usize = 50_000;

#[derive(Debug, Default)]
struct Maps {
    /// id hash → (session, last seen as the database knows it, cached at).
    sessions: HashMap<String, (Session, DateTime<Utc>, Instant)>,
    tenants: HashMap<TenantId, (TenantCtx, Instant)>,
    /// Slug → association (found ones only; evicted with the association).
    slugs: HashMap<String, (TenantCtx, Instant)>,
    roles: HashMap<(TenantId, UserId), (Option<Role>, Instant)>,
    second_factor: HashMap<UserId, (bool, Instant)>,
    /// A customer login's linked accounts in one association.
    customer_accounts: HashMap<(TenantId, UserId), (Vec<AccountId>, Instant)>,
}

impl Maps {
    fn len(&self) -> usize {
        self.sessions.len()
            + self.tenants.len()
            + self.slugs.len()
            + self.roles.len()
            + self.second_factor.len()
            + self.customer_accounts.len()
    }
    fn clear(&mut self) {
        *self = Self::default();
    }
}

/// Counters for `/metrics`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CacheStats {
    /// Answers served from memory.
    pub hits: u64,
    /// Answers read from the database.
    pub misses: u64,
    /// Notifications received from the database.
    pub notifications: u64,
    /// Whether the cache is serving (the listener is connected).
    pub live: bool,
}

/// See the module documentation.
#[derive(Debug)]
pub struct AuthCache {
    ttl: Duration,
    live: AtomicBool,
    generation: AtomicU64,
    maps: Mutex<Maps>,
    hits: AtomicU64,
    misses: AtomicU64,
    notifications: AtomicU64,
}

impl AuthCache {
    /// A cache whose entries live at most `ttl`. It serves nothing until
    /// [`AuthCache::listen`] has connected.
    pub fn new(ttl: Duration) -> Arc<Self> {
        Arc::new(Self {
            ttl,
            live: AtomicBool::new(false),
            generation: AtomicU64::new(0),
            maps: Mutex::default(),
            hits: AtomicU64::new(0),
            misses: AtomicU64::new(0),
            notifications: AtomicU64::new(0),
        })
    }

    fn maps(&self) -> MutexGuard<'_, Maps> {
        // A panic while holding the lock leaves plain maps behind: usable.
        self.maps
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// The counters.
    pub fn stats(&self) -> CacheStats {
        CacheStats {
            hits: self.hits.load(Ordering::Relaxed),
            misses: self.misses.load(Ordering::Relaxed),
            notifications: self.notifications.load(Ordering::Relaxed),
            live: self.live.load(Ordering::Acquire),
        }
    }

    /// Forgets everything (after a change this process made, or when the
    /// listener's connection dropped).
    pub fn flush(&self) {
        let mut maps = self.maps();
        self.generation.fetch_add(1, Ordering::AcqRel);
        maps.clear();
    }

    /// Evicts what one notification names: `s:<id hash>` a session,
    /// `u:<user id>` everything about that person, `t:<tenant id>` an
    /// association. Anything else empties the cache.
    pub fn evict(&self, payload: &str) {
        let mut maps = self.maps();
        self.generation.fetch_add(1, Ordering::AcqRel);
        let parse = |v: &str| uuid::Uuid::parse_str(v).ok();
        match payload.split_once(':') {
            Some(("s", hash)) => {
                maps.sessions.remove(hash);
            }
            Some(("u", id)) if parse(id).is_some() => {
                let user = UserId::from_uuid(parse(id).unwrap_or_default());
                maps.sessions.retain(|_, (s, _, _)| s.user != user);
                maps.roles.retain(|(_, u), _| *u != user);
                maps.second_factor.remove(&user);
                maps.customer_accounts.retain(|(_, u), _| *u != user);
            }
            Some(("t", id)) if parse(id).is_some() => {
                let tenant = TenantId::from_uuid(parse(id).unwrap_or_default());
                maps.tenants.remove(&tenant);
                maps.slugs.retain(|_, (t, _)| t.id() != tenant);
                maps.roles.retain(|(t, _), _| *t != tenant);
                maps.customer_accounts.retain(|(t, _), _| *t != tenant);
            }
            _ => maps.clear(),
        }
    }

    fn serving(&self) -> bool {
        self.live.load(Ordering::Acquire)
    }

    fn fresh(&self, at: Instant) -> bool {
        at.elapsed() < self.ttl
    }

    fn generation(&self) -> u64 {
        self.generation.load(Ordering::Acquire)
    }

    /// The fresh entry `pick` finds, counted as a hit; otherwise `None`,
    /// counted as a miss (the caller reads the database).
    fn recall<V: Clone>(&self, pick: impl FnOnce(&Maps) -> Option<&(V, Instant)>) -> Option<V> {
        if self.serving() {
            let found = pick(&self.maps())
                .filter(|(_, at)| self.fresh(*at))
                .map(|(v, _)| v.clone());
            if found.is_some() {
                self.hits.fetch_add(1, Ordering::Relaxed);
                return found;
            }
        }
        self.misses.fetch_add(1, Ordering::Relaxed);
        None
    }

    /// Stores under the lock, only if nothing was evicted since `before`
    /// and the cache is serving.
    fn keep(&self, before: u64, put: impl FnOnce(&mut Maps)) {
        let mut maps = self.maps();
        if !self.serving() || self.generation() != before {
            return;
        }
        if maps.len() >= MAX_ENTRIES {
            maps.clear();
        }
        put(&mut maps);
    }

    /// [`sessions::lookup`], from memory when possible.
    pub async fn session(
        &self,
        db: &Db,
        clock: &dyn Clock,
        policy: SessionPolicy,
        token: &str,
    ) -> Result<Option<Session>, DbErr> {
        if !sessions::well_formed(token) {
            return Ok(None);
        }
        let id_hash = sessions::hash_token(token);
        if self.serving() {
            let now = clock.now();
            let cached = self
                .maps()
                .sessions
                .get(&id_hash)
                .and_then(|(s, seen, at)| {
                    let inside = now < s.expires_at
                        && now - *seen < policy.idle
                        && now - *seen < sessions::TOUCH_AFTER
                        && self.fresh(*at);
                    inside.then(|| s.clone())
                });
            if let Some(s) = cached {
                self.hits.fetch_add(1, Ordering::Relaxed);
                return Ok(Some(s));
            }
        }
        self.misses.fetch_add(1, Ordering::Relaxed);
        let before = self.generation();
        let found = sessions::lookup_hashed(db, clock, policy, id_hash.clone()).await?;
        if let Some((s, seen)) = &found {
            self.keep(before, |m| {
                m.sessions
                    .insert(id_hash, (s.clone(), *seen, Instant::now()));
            });
        }
        Ok(found.map(|(s, _)| s))
    }

    /// [`directory::by_id`], from memory when possible.
    pub async fn tenant(&self, db: &Db, id: TenantId) -> Result<Option<TenantCtx>, DbErr> {
        if let Some(t) = self.recall(|m| m.tenants.get(&id)) {
            return Ok(Some(t));
        }
        let before = self.generation();
        let found = directory::by_id(db, id).await?;
        if let Some(t) = &found {
            self.keep(before, |m| {
                m.tenants.insert(id, (t.clone(), Instant::now()));
            });
        }
        Ok(found)
    }

    /// [`directory::by_slug`], from memory when possible (an unknown slug
    /// is not remembered: a flood of them must not fill the cache).
    pub async fn tenant_by_slug(&self, db: &Db, slug: &str) -> Result<Option<TenantCtx>, DbErr> {
        if let Some(t) = self.recall(|m| m.slugs.get(slug)) {
            return Ok(Some(t));
        }
        let before = self.generation();
        let found = directory::by_slug(db, slug).await?;
        if let Some(t) = &found {
            self.keep(before, |m| {
                m.slugs.insert(slug.to_owned(), (t.clone(), Instant::now()));
            });
        }
        Ok(found)
    }

    /// [`credentials::role_of`], from memory when possible (a missing
    /// membership is remembered too).
    pub async fn role(
        &self,
        db: &Db,
        tenant: TenantId,
        user: UserId,
    ) -> Result<Option<Role>, DbErr> {
        if let Some(r) = self.recall(|m| m.roles.get(&(tenant, user))) {
            return Ok(r);
        }
        let before = self.generation();
        let found = credentials::role_of(db, tenant, user).await?;
        self.keep(before, |m| {
            m.roles.insert((tenant, user), (found, Instant::now()));
        });
        Ok(found)
    }

    /// [`customers::accounts_of_once`], from memory when possible.
    pub async fn customer_accounts(
        &self,
        db: &Db,
        tenant: &TenantCtx,
        user: UserId,
    ) -> Result<Vec<AccountId>, DbErr> {
        if let Some(a) = self.recall(|m| m.customer_accounts.get(&(tenant.id(), user))) {
            return Ok(a);
        }
        let before = self.generation();
        let found = customers::accounts_of_once(db, tenant, user).await?;
        self.keep(before, |m| {
            m.customer_accounts
                .insert((tenant.id(), user), (found.clone(), Instant::now()));
        });
        Ok(found)
    }

    /// [`second_factor::is_enabled`], from memory when possible.
    pub async fn second_factor(&self, db: &Db, user: UserId) -> Result<bool, DbErr> {
        if let Some(b) = self.recall(|m| m.second_factor.get(&user)) {
            return Ok(b);
        }
        let before = self.generation();
        let found = second_factor::is_enabled(db, user).await?;
        self.keep(before, |m| {
            m.second_factor.insert(user, (found, Instant::now()));
        });
        Ok(found)
    }

    /// Listens for the triggers' notifications until `stop` resolves,
    /// reconnecting after a lost connection (the cache serves nothing
    /// while disconnected). Returns at once on SQLite: there the cache
    /// never serves.
    pub async fn listen(self: Arc<Self>, db: Db, stop: impl std::future::Future<Output = ()>) {
        if db.backend() != Backend::Postgres {
            return;
        }
        tokio::pin!(stop);
        loop {
            tokio::select! {
                () = &mut stop => break,
                () = self.listen_once(&db) => {}
            }
            self.live.store(false, Ordering::Release);
            self.flush();
            tokio::select! {
                () = &mut stop => break,
                () = tokio::time::sleep(Duration::from_secs(1)) => {}
            }
        }
        self.live.store(false, Ordering::Release);
        self.flush();
    }

    /// One connection's life: connect, listen, serve until it drops.
    async fn listen_once(&self, db: &Db) {
        use sea_orm::sqlx::postgres::PgListener;
        let pool = db.maintenance().get_postgres_connection_pool();
        let mut listener = match PgListener::connect_with(pool).await {
            Ok(l) => l,
            Err(e) => {
                tracing::warn!(error = %e, "auth cache: cannot connect its listener");
                return;
            }
        };
        if let Err(e) = listener.listen(CHANNEL).await {
            tracing::warn!(error = %e, "auth cache: LISTEN failed");
            return;
        }
        // Anything cached before this point may have missed a message.
        self.flush();
        self.live.store(true, Ordering::Release);
        tracing::debug!("auth cache: listening");
        loop {
            match listener.try_recv().await {
                Ok(Some(n)) => {
                    self.notifications.fetch_add(1, Ordering::Relaxed);
                    self.evict(n.payload());
                }
                // The connection dropped: messages may have been lost.
                Ok(None) => {
                    tracing::warn!(
                        "auth cache: listener connection lost; cache off until it is back"
                    );
                    return;
                }
                Err(e) => {
                    tracing::warn!(error = %e, "auth cache: listener failed; cache off until it is back");
                    return;
                }
            }
        }
    }

    /// Marks the cache serving without a listener: for unit tests of the
    /// eviction rules only.
    #[cfg(test)]
    fn force_live(&self) {
        self.live.store(true, Ordering::Release);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn session(user: UserId) -> Session {
        Session {
            id_hash: "h".into(),
            user,
            is_operator: false,
            active_tenant: None,
            csrf_token: "c".into(),
            second_factor_pending: false,
            expires_at: DateTime::<Utc>::UNIX_EPOCH,
            customer_tenant: None,
        }
    }

    #[test]
    fn notifications_evict_what_they_name_and_bump_the_generation() {
        let cache = AuthCache::new(Duration::from_secs(60));
        cache.force_live();
        let (u1, u2) = (UserId::new(), UserId::new());
        let t = TenantId::new();
        let g0 = cache.generation();
        cache.keep(g0, |m| {
            m.sessions.insert(
                "a".into(),
                (session(u1), DateTime::<Utc>::UNIX_EPOCH, Instant::now()),
            );
            m.sessions.insert(
                "b".into(),
                (session(u2), DateTime::<Utc>::UNIX_EPOCH, Instant::now()),
            );
            m.roles.insert((t, u1), (Some(Role::Clerk), Instant::now()));
            m.roles.insert((t, u2), (Some(Role::Admin), Instant::now()));
            m.second_factor.insert(u1, (true, Instant::now()));
        });
        assert_eq!(cache.maps().len(), 5);
        cache.evict(&format!("u:{}", u1.uuid()));
        assert!(cache.generation() > g0);
        {
            let m = cache.maps();
            assert!(!m.sessions.contains_key("a") && m.sessions.contains_key("b"));
            assert!(!m.roles.contains_key(&(t, u1)) && m.roles.contains_key(&(t, u2)));
            assert!(m.second_factor.is_empty());
        }
        cache.evict("s:b");
        assert!(cache.maps().sessions.is_empty());
        cache.evict(&format!("t:{}", t.uuid()));
        assert!(cache.maps().roles.is_empty());
        // Something unknown empties the cache.
        let g1 = cache.generation();
        cache.keep(g1, |m| {
            m.second_factor.insert(u2, (false, Instant::now()));
        });
        cache.evict("nonsense");
        assert_eq!(cache.maps().len(), 0);
    }

    #[test]
    fn an_answer_read_across_an_eviction_is_not_kept() {
        let cache = AuthCache::new(Duration::from_secs(60));
        cache.force_live();
        let u = UserId::new();
        let before = cache.generation();
        cache.evict("s:whatever");
        cache.keep(before, |m| {
            m.second_factor.insert(u, (true, Instant::now()));
        });
        assert_eq!(cache.maps().len(), 0);
        // Not serving: nothing is kept either.
        let idle = AuthCache::new(Duration::from_secs(60));
        let g = idle.generation();
        idle.keep(g, |m| {
            m.second_factor.insert(u, (true, Instant::now()));
        });
        assert_eq!(idle.maps().len(), 0);
    }
}
