//! Each node's copy of the OAuth clients it serves: the token, introspection and revocation
//! endpoints authenticate a client on every request, and the sign-in pages read the client of
//! the transaction on every step, so a database round trip each time was most of the token
//! endpoint's cost on SQLite (a hand-off to sqlx's SQLite thread and back).
//!
//! A copy is good while nothing changed any client since it was read:
//! - **a change made by this process** bumps [`clients::local_writes`], checked on every hit,
//!   so the node that rotates a secret or deletes a client never serves the old row;
//! - **a change made elsewhere** (another node, the CLI in another process, SQL) bumps the
//!   database's change counter (a trigger, migration 0024), which every node polls every
//!   `server.keys_reload_secs` (1 s) beside the signing keys: a changed counter drops every
//!   copy. That poll interval is how long a node may still accept a rotated secret or a deleted
//!   client after a change made elsewhere;
//! - and no copy is older than `server.cache_ttl_secs` (10 s), the bound when the poll fails.
//!
//! Unknown client ids are not kept (whoever guesses ids must not fill the map), and `0` for
//! `server.cache_ttl_secs` turns the cache off.

use std::collections::HashMap;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::ids::{ClientId, TenantId};
use crate::store::clients::{self, Client};
use crate::store::{Db, StoreResult};

/// Past this many copies the expired ones are dropped before another is added.
const MAX_ENTRIES: usize = 10_000;

pub struct ClientCache {
    ttl: Duration,
    /// The database's change counter as last polled (`-1`: not polled yet).
    epoch: AtomicI64,
    entries: Mutex<HashMap<(TenantId, ClientId), Entry>>,
}

struct Entry {
    read_at: Instant,
    /// The counters seen before the row was read: a change after them invalidates it.
    epoch: i64,
    local: u64,
    client: Arc<Client>,
}

impl ClientCache {
    pub fn new(ttl: Duration) -> Self {
        Self {
            ttl,
            epoch: AtomicI64::new(-1),
            entries: Mutex::new(HashMap::new()),
        }
    }

    /// The client `client_id` of the tenant, from this node's copy while it is good, else read.
    pub async fn find(
        &self,
        db: &Db,
        tenant_id: &TenantId,
        client_id: &ClientId,
    ) -> StoreResult<Option<Arc<Client>>> {
        if self.ttl.is_zero() {
            return Ok(clients::find(db, tenant_id, client_id).await?.map(Arc::new));
        }
        // Read before the row, so a change racing the read leaves the copy already outdated.
        let epoch = self.epoch.load(Ordering::Acquire);
        let local = clients::local_writes();
        let key = (tenant_id.clone(), client_id.clone());
        if let Some(hit) = self
            .lock()
            .get(&key)
            .filter(|e| e.epoch == epoch && e.local == local && e.read_at.elapsed() < self.ttl)
        {
            return Ok(Some(hit.client.clone()));
        }
        let Some(client) = clients::find(db, tenant_id, client_id).await?.map(Arc::new) else {
            self.lock().remove(&key);
            return Ok(None);
        };
        let mut map = self.lock();
        if map.len() >= MAX_ENTRIES {
            let ttl = self.ttl;
            map.retain(|_, e| e.read_at.elapsed() < ttl && e.epoch == epoch && e.local == local);
        }
        map.insert(
            key,
            Entry {
                read_at: Instant::now(),
                epoch,
                local,
                client: client.clone(),
            },
        );
        Ok(Some(client))
    }

    /// Reads the database's change counter; a moved one drops every copy.
    pub async fn poll(&self, db: &Db) -> StoreResult<()> {
        let now = clients::epoch(db).await?;
        if self.epoch.swap(now, Ordering::AcqRel) != now {
            self.lock().clear();
        }
        Ok(())
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<(TenantId, ClientId), Entry>> {
        self.entries.lock().unwrap_or_else(|p| p.into_inner())
    }
}
