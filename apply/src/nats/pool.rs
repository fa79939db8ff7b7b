//! The connections of all NatsClusters, one per cluster, shared by every reconciler.

use std::collections::HashMap;
use std::sync::Arc;

use tokio::sync::Mutex;

use super::config::ClusterConfig;
use super::connection::Connection;
use super::error::NatsError;

/// One [`Connection`] per NatsCluster, opened on first use and reused by every later call
/// until the cluster's config changes or the cluster is removed.
#[derive(Default)]
pub struct Connections {
    open: Mutex<HashMap<String, Arc<Connection>>>,
}

impl Connections {
    /// An empty set.
    pub fn new() -> Self {
        Self::default()
    }

    /// The connection of the cluster `key` (e.g. the NatsCluster's namespace/name), opened with
    /// `config`. An open connection with the same config is reused; one with another config
    /// (new URL or creds) is replaced. Connecting holds the set's lock, so calls for other
    /// clusters wait at most [`Timeouts::connect`](super::Timeouts::connect) meanwhile.
    pub async fn get(
        &self,
        key: &str,
        config: &ClusterConfig,
    ) -> Result<Arc<Connection>, NatsError> {
        let mut open = self.open.lock().await;
        if let Some(conn) = open.get(key).filter(|c| c.config() == config) {
            return Ok(conn.clone());
        }
        let conn = Arc::new(Connection::connect(config.clone()).await?);
        open.insert(key.to_string(), conn.clone());
        Ok(conn)
    }

    /// The clusters (keys) whose connection is down now (the client reconnects on its own).
    /// Does not wait while a connection is being opened (that holds the set for up to the
    /// connect timeout, longer than a probe waits): then none is reported down.
    pub fn down(&self) -> Vec<String> {
        let Ok(open) = self.open.try_lock() else {
            return Vec::new();
        };
        let mut down: Vec<String> = (open.iter())
            .filter(|(_, c)| !c.is_connected())
            .map(|(key, _)| key.clone())
            .collect();
        down.sort();
        down
    }

    /// Forgets the cluster `key`; its connection closes once the last user drops it.
    pub async fn remove(&self, key: &str) {
        self.open.lock().await.remove(key);
    }
}
