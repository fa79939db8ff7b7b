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

    /// Forgets the cluster `key`; its connection closes once the last user drops it.
    pub async fn remove(&self, key: &str) {
        self.open.lock().await.remove(key);
    }
}
