//! One long-lived connection to one NATS cluster, as its system user, and what it knows about
//! the cluster's servers.
//!
//! Membership (which servers exist, which of them run a resolver, which operators each trusts)
//! is discovered on first use and again after a reconnect or when a reply shows it is out of
//! date; every operation then knows how many replies to wait for.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use async_nats::{ConnectErrorKind, ConnectOptions, Event, Message};
use tokio::sync::Mutex;

use super::config::ClusterConfig;
use super::error::NatsError;
use super::gather::{Gathered, gather};
use super::reply::{ListResponse, ServerId, StatszResponse, VarzResponse, parse_json, sender_id};
use super::trust::TrustAnchors;

pub(crate) const STATSZ: &str = "$SYS.REQ.SERVER.PING.STATSZ";
pub(crate) const VARZ: &str = "$SYS.REQ.SERVER.PING.VARZ";
pub(crate) const CLAIMS_LIST: &str = "$SYS.REQ.CLAIMS.LIST";

/// Why nobody would answer a `$SYS.REQ.SERVER.PING` request.
const NOT_SYSTEM_USER: &str = "the credentials must belong to a user of the system account";
/// Why nobody would answer a resolver request.
pub(crate) const NO_RESOLVER: &str =
    "the servers must run the NATS account resolver (`resolver: {type: full}`)";

/// What the controller knows about a cluster's servers.
#[derive(Clone, Debug, PartialEq)]
pub struct Membership {
    /// Every server that answered the discovery ping, sorted by name.
    pub servers: Vec<ServerId>,
    /// The servers that answer resolver requests (`$SYS.REQ.CLAIMS.LIST`), sorted by name: every
    /// update, delete, list and lookup waits for exactly these.
    pub resolvers: Vec<ServerId>,
    /// The operators each server trusts.
    pub trust: TrustAnchors,
    /// The system account's public key, as the servers report it.
    pub system_account: String,
}

impl Membership {
    /// True when `reply_servers` (ids of servers that answered) covers every resolver.
    pub(crate) fn all_resolvers_in(&self, reply_servers: &BTreeSet<String>) -> bool {
        self.resolvers.iter().all(|s| reply_servers.contains(&s.id))
    }

    /// Names of the resolvers not in `reply_servers`.
    pub(crate) fn missing(&self, reply_servers: &BTreeSet<String>) -> Vec<String> {
        self.resolvers
            .iter()
            .filter(|s| !reply_servers.contains(&s.id))
            .map(ToString::to_string)
            .collect()
    }

    /// True when a server outside the known set answered: membership changed.
    pub(crate) fn is_stranger(&self, id: &str) -> bool {
        !self.servers.iter().any(|s| s.id == id)
    }
}

/// How long a discovered membership is used: a server that was down when it was discovered
/// and comes back says nothing to this connection, yet must get the JWTs it missed.
const MEMBERSHIP_TTL: std::time::Duration = std::time::Duration::from_secs(10);

/// A connection to one NATS cluster as its system user. Cheap to share (`Arc`); every method
/// takes `&self` and may run concurrently with the others.
pub struct Connection {
    pub(crate) client: async_nats::Client,
    pub(crate) config: ClusterConfig,
    /// The membership, and when it was discovered.
    membership: Mutex<Option<(Arc<Membership>, std::time::Instant)>>,
    stale: Arc<AtomicBool>,
}

impl Connection {
    /// Connects to the cluster. Fails fast when no server accepts the connection; once
    /// connected, the client reconnects on its own for as long as the connection lives.
    pub async fn connect(config: ClusterConfig) -> Result<Self, NatsError> {
        let (jwt, key) = config.system_creds.parts();
        let key = Arc::new(key);
        let stale = Arc::new(AtomicBool::new(true));
        let (on_event, disconnected) = (stale.clone(), Arc::new(AtomicBool::new(false)));
        let options = ConnectOptions::with_jwt(jwt, move |nonce| {
            let key = key.clone();
            async move { key.sign(&nonce).map_err(async_nats::AuthError::new) }
        })
        .name(&config.name)
        .connection_timeout(config.timeouts.connect)
        .max_reconnects(None)
        .event_callback(move |event| {
            let (stale, disconnected) = (on_event.clone(), disconnected.clone());
            async move {
                // After a reconnect the servers may be other processes (new ids, new config);
                // the first `Connected` is the initial connection, which changes nothing.
                match event {
                    Event::Disconnected => disconnected.store(true, Ordering::SeqCst),
                    Event::Connected if disconnected.swap(false, Ordering::SeqCst) => {
                        stale.store(true, Ordering::SeqCst);
                    }
                    _ => {}
                }
            }
        });
        let client = options
            .connect(config.servers())
            .await
            .map_err(|e| match e.kind() {
                ConnectErrorKind::AuthorizationViolation | ConnectErrorKind::Authentication => {
                    NatsError::Unauthorized {
                        url: config.url.clone(),
                        reason: e.to_string(),
                    }
                }
                _ => NatsError::Unreachable {
                    url: config.url.clone(),
                    reason: e.to_string(),
                },
            })?;
        Ok(Connection {
            client,
            config,
            membership: Mutex::new(None),
            stale,
        })
    }

    /// The config this connection was opened with.
    pub fn config(&self) -> &ClusterConfig {
        &self.config
    }

    /// True while the client holds a live connection to a server.
    pub fn is_connected(&self) -> bool {
        self.client.connection_state() == async_nats::connection::State::Connected
    }

    /// The cluster's membership, discovered if unknown, out of date or older than
    /// [`MEMBERSHIP_TTL`].
    pub async fn membership(&self) -> Result<Arc<Membership>, NatsError> {
        let mut known = self.membership.lock().await;
        match known.as_ref() {
            Some((m, at))
                if !self.stale.load(Ordering::SeqCst) && at.elapsed() < MEMBERSHIP_TTL =>
            {
                Ok(m.clone())
            }
            _ => {
                self.stale.store(false, Ordering::SeqCst);
                let found = Arc::new(self.discover().await.inspect_err(|_| {
                    self.stale.store(true, Ordering::SeqCst);
                })?);
                *known = Some((found.clone(), std::time::Instant::now()));
                Ok(found)
            }
        }
    }

    /// Forgets the membership, so the next operation discovers it again.
    pub fn invalidate_membership(&self) {
        self.stale.store(true, Ordering::SeqCst);
    }

    /// Publishes a request and gathers replies with this connection's URL and reply window.
    pub(crate) async fn gather(
        &self,
        subject: &str,
        payload: Vec<u8>,
        hint: &'static str,
        enough: impl FnMut(&[Message]) -> bool,
    ) -> Result<Gathered, NatsError> {
        gather(
            &self.client,
            &self.config.url,
            subject,
            payload,
            self.config.timeouts.reply,
            hint,
            enough,
        )
        .await
    }

    /// Asks every server for its stats (to learn how many servers there are), then, in
    /// parallel, who runs a resolver and which operators each server trusts.
    async fn discover(&self) -> Result<Membership, NatsError> {
        let mut expected = 1;
        let statsz = self
            .gather(STATSZ, Vec::new(), NOT_SYSTEM_USER, |replies| {
                if let Some(Ok(last)) = replies
                    .last()
                    .map(|m| parse_json::<StatszResponse>(&m.payload))
                {
                    expected = expected.max(last.statsz.active_servers);
                }
                distinct_senders(replies).len() >= expected
            })
            .await?;
        let mut servers: Vec<ServerId> = parsed::<StatszResponse>(&statsz, "server discovery")?
            .into_iter()
            .map(|r| r.server)
            .collect();
        if servers.is_empty() {
            return Err(self.timeout("server discovery", &statsz, expected, Vec::new()));
        }
        sort_dedup(&mut servers);
        let all = servers.len();
        let every_server = |replies: &[Message]| distinct_senders(replies).len() >= all;
        let (list, varz) = tokio::join!(
            self.gather(CLAIMS_LIST, Vec::new(), NO_RESOLVER, every_server),
            self.gather(VARZ, Vec::new(), NOT_SYSTEM_USER, every_server),
        );
        let mut resolvers: Vec<ServerId> = parsed::<ListResponse>(&list?, "resolver discovery")?
            .into_iter()
            .map(|r| r.server)
            .collect();
        sort_dedup(&mut resolvers);
        let varz = parsed::<VarzResponse>(&varz?, "trust discovery")?;
        let system_account = varz
            .iter()
            .map(|v| v.data.system_account.clone())
            .find(|a| !a.is_empty())
            .unwrap_or_default();
        let trust = TrustAnchors::from_operator_jwts(
            varz.iter()
                .map(|v| (v.server.clone(), v.data.trusted_operators_jwt.as_slice())),
        )
        .map_err(|reason| NatsError::Malformed {
            operation: "trust discovery".into(),
            server: "a server".into(),
            reason,
        })?;
        Ok(Membership {
            servers,
            resolvers,
            trust,
            system_account,
        })
    }

    /// A [`NatsError::Timeout`] for a gather that did not complete. The membership is
    /// rediscovered before the next request, in case a server left the cluster for good.
    pub(crate) fn timeout(
        &self,
        operation: &str,
        gathered: &Gathered,
        expected: usize,
        missing: Vec<String>,
    ) -> NatsError {
        self.invalidate_membership();
        NatsError::Timeout {
            operation: operation.to_string(),
            after: self.config.timeouts.reply,
            expected,
            answered: gathered.messages.len(),
            missing,
        }
    }
}

/// Ids of the servers that sent `replies`.
pub(crate) fn distinct_senders(replies: &[Message]) -> BTreeSet<String> {
    replies
        .iter()
        .filter_map(|m| sender_id(&m.payload))
        .collect()
}

/// Every reply parsed as `T`, or the first that is not.
pub(crate) fn parsed<T: for<'a> serde::Deserialize<'a>>(
    gathered: &Gathered,
    operation: &str,
) -> Result<Vec<T>, NatsError> {
    gathered
        .messages
        .iter()
        .map(|m| {
            parse_json(&m.payload).map_err(|reason| NatsError::Malformed {
                operation: operation.to_string(),
                server: sender_id(&m.payload).unwrap_or_else(|| "a server".into()),
                reason,
            })
        })
        .collect()
}

fn sort_dedup(servers: &mut Vec<ServerId>) {
    servers.sort_by(|a, b| (&a.name, &a.id).cmp(&(&b.name, &b.id)));
    servers.dedup_by(|a, b| a.id == b.id);
}

/// Now, in unix seconds, for JWT time checks and request `iat`s.
pub(crate) fn unix_now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}
