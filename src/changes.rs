//! Per-node caches that agree across nodes within a second. A change to a cached row (a
//! tenant's settings, a tenant's signing keys) is announced with PostgreSQL `NOTIFY` on the
//! channel `gatehouse_changes`, carrying what changed (`tenant:{slug}`, `keys:{tenant id}`);
//! every node `LISTEN`s and drops that entry at once (or re-reads the keys). The announcement is
//! sent by the service that made the change, on any node or from the CLI, after its commit.
//!
//! A node that loses its listening connection may miss announcements: when the listener is
//! back it forgets every cached tenant and re-reads the keys, and the cache lifetime
//! (`server.cache_ttl_secs`, the key poll `server.keys_reload_secs`) stays the bound in any
//! case. SQLite is one node: nothing to announce, nothing to hear.

use std::sync::Arc;
use std::time::Duration;

use crate::cache::TtlCache;
use crate::crypto::keyring::KeyRing;
use crate::store::Db;
use crate::store::tenants::Tenant;

pub const CHANNEL: &str = "gatehouse_changes";

/// What changed, as announced.
#[derive(Debug, PartialEq, Eq)]
pub enum Change<'a> {
    Tenant(&'a str),
    Keys(&'a str),
}

impl Change<'_> {
    fn payload(&self) -> String {
        match self {
            Change::Tenant(slug) => format!("tenant:{slug}"),
            Change::Keys(tenant_id) => format!("keys:{tenant_id}"),
        }
    }

    pub fn parse(payload: &str) -> Option<Change<'_>> {
        match payload.split_once(':')? {
            ("tenant", slug) => Some(Change::Tenant(slug)),
            ("keys", id) => Some(Change::Keys(id)),
            _ => None,
        }
    }
}

/// Tells every node (best effort: a failure is logged, and the cache lifetime still bounds how
/// long a node may serve the old row).
pub async fn announce(db: &Db, change: Change<'_>) {
    let Db::Postgres(pool) = db else {
        return;
    };
    let sent = sqlx::query("SELECT pg_notify($1, $2)")
        .bind(CHANNEL)
        .bind(change.payload())
        .execute(pool)
        .await;
    if let Err(e) = sent {
        tracing::warn!(error = %e, "announcing a change to the other nodes failed");
    }
}

/// Listens for announcements until aborted; on PostgreSQL only.
pub fn spawn_listener(
    db: &Db,
    tenants: Arc<TtlCache<Arc<Tenant>>>,
    keys: Arc<KeyRing>,
) -> Option<tokio::task::JoinHandle<()>> {
    let Db::Postgres(pool) = db else {
        return None;
    };
    let pool = pool.clone();
    Some(tokio::spawn(async move {
        loop {
            let mut listener = match sqlx::postgres::PgListener::connect_with(&pool).await {
                Ok(l) => l,
                Err(e) => {
                    tracing::warn!(error = %e, "change listener: cannot connect; retrying");
                    tokio::time::sleep(Duration::from_secs(1)).await;
                    continue;
                }
            };
            if let Err(e) = listener.listen(CHANNEL).await {
                tracing::warn!(error = %e, "change listener: LISTEN failed; retrying");
                tokio::time::sleep(Duration::from_secs(1)).await;
                continue;
            }
            // Whatever changed before this LISTEN went unheard.
            tenants.clear();
            reload_keys(&keys).await;
            loop {
                match listener.try_recv().await {
                    Ok(Some(n)) => match Change::parse(n.payload()) {
                        Some(Change::Tenant(slug)) => tenants.remove(slug),
                        Some(Change::Keys(_)) => reload_keys(&keys).await,
                        None => {}
                    },
                    // The connection dropped and was made again: announcements may be lost.
                    Ok(None) => {
                        tenants.clear();
                        reload_keys(&keys).await;
                    }
                    Err(e) => {
                        tracing::warn!(error = %e, "change listener failed; reconnecting");
                        tokio::time::sleep(Duration::from_secs(1)).await;
                        break;
                    }
                }
            }
        }
    }))
}

async fn reload_keys(keys: &KeyRing) {
    if let Err(e) = keys.reload(crate::model::now()).await {
        tracing::warn!(error = %e, "reloading signing keys after a change failed");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn payloads_round_trip() {
        for c in [Change::Tenant("acme"), Change::Keys("t-1")] {
            assert_eq!(Change::parse(&c.payload()), Some(c));
        }
        assert_eq!(Change::parse("nonsense"), None);
        assert_eq!(Change::parse("other:x"), None);
    }
}
