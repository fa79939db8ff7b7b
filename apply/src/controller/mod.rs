//! The six controllers, the state they share and the pieces every reconcile uses.
//!
//! Each kind has one file with ONE `reconcile` and ONE `error_policy`. Reconciles read what they
//! need from the API server, ask `nauth_render` what to write, and write it through
//! [`crate::writes`]. A failing object gets `Ready=False` with a reason and a message and a
//! Warning event; it never blocks another object.

mod account;
mod account_export;
mod account_import;
mod account_signing_key;
mod changes;
pub(crate) mod conditions;
mod echoes;
mod nats_cluster;
mod pre_rendered;
mod user;
mod watch;

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use futures_util::{FutureExt, StreamExt};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{Condition, Time};
use k8s_openapi::jiff::Timestamp;
use kube::api::Api;
use kube::runtime::controller::Action;
use kube::runtime::events::{Event, EventType, Recorder, Reporter};
use kube::runtime::finalizer::{Event as FinalizerEvent, finalizer};
use kube::runtime::reflector::{self, ObjectRef, Store};
use kube::runtime::{WatchStreamExt, watcher};
use kube::{Client, Resource, ResourceExt};
use nauth_render::api;
use nauth_render::input::nats_url;
use serde::de::DeserializeOwned;

use changes::Seen;
use k8s_openapi::api::core::v1::{ConfigMap, Secret};
use nats_cluster::Source;

use crate::leader::Elector;
use crate::nats::{Connections, NatsError};

/// Field manager of every write, and the events' reporting controller.
pub const MANAGER: &str = "nauth-apply";

/// How often a Ready Account, User or NatsCluster is reconciled again by default (NAuth: 5 min):
/// the period of the Account's drift check.
pub const DEFAULT_RESYNC: Duration = Duration::from_secs(300);
/// Backoff after a failed reconcile, doubled at each failure in a row up to [`MAX_RETRY`].
const RETRY: Duration = Duration::from_secs(5);
/// The longest backoff after failed reconciles.
const MAX_RETRY: Duration = Duration::from_secs(30);
/// How long in-flight reconciles may finish after SIGTERM/SIGINT before they are abandoned.
const GRACE: Duration = Duration::from_secs(5);

/// What the process was started with.
#[derive(Clone, Debug)]
pub struct Config {
    /// Watch one namespace only; all namespaces when `None`.
    pub namespace: Option<String>,
    /// NAuth's `NATS_CLUSTER_REF` (`namespace`, `name`).
    pub default_cluster: Option<(String, String)>,
    /// NAuth's `NATS_CLUSTER_REF_OPTIONAL`.
    pub cluster_optional: bool,
    /// NAuth's deprecated NATS_URL mode, for Accounts without `spec.natsClusterRef` when
    /// `default_cluster` is unset.
    pub nats_url: Option<crate::closure::NatsUrl>,
    /// Version written into statuses (`status.operatorVersion`).
    pub version: String,
    /// How often a Ready object is reconciled again; for an Account, how often the resolvers'
    /// copies are compared with the rendered JWT (drift repair).
    pub resync: Duration,
    /// Where `/healthz` and `/readyz` are served (NAuth's `--health-probe-bind-address`).
    pub probe_address: Option<SocketAddr>,
    /// Where `/metrics` is served (NAuth's `--metrics-bind-address`).
    pub metrics_address: Option<SocketAddr>,
    /// Leader election (NAuth's `--leader-elect`): the namespace of the Lease and this
    /// replica's identity; `None`: this replica leads alone.
    pub leader_election: Option<(String, String)>,
    /// Pre-rendered mode (`--pre-rendered`): the JWT ConfigMaps, creds Secrets and deletion
    /// requests come from nauth-render (GitOps); no seed is generated or read, no Secret
    /// written (see [`pre_rendered`]).
    pub pre_rendered: bool,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            namespace: None,
            default_cluster: None,
            cluster_optional: false,
            nats_url: None,
            version: String::new(),
            resync: DEFAULT_RESYNC,
            probe_address: None,
            metrics_address: None,
            leader_election: None,
            pre_rendered: false,
        }
    }
}

impl Config {
    /// The render options these settings mean. In NAuth's NATS_URL mode the operator cluster is
    /// its stand-in (see [`crate::closure::account_cluster`]), which Accounts naming a
    /// NatsCluster do not use.
    pub(crate) fn render_options(&self) -> nauth_render::render::Options {
        let stand_in = match (&self.default_cluster, &self.nats_url) {
            (None, Some(mode)) => Some((mode.namespace.clone(), nats_url::STAND_IN_NAME.into())),
            _ => None,
        };
        nauth_render::render::Options {
            cluster_optional: self.cluster_optional || stand_in.is_some(),
            default_cluster: stand_in.or_else(|| self.default_cluster.clone()),
            default_cluster_from_env: true,
            ..Default::default()
        }
    }
}

/// The watches' caches that reconciles read instead of the API server where a copy that lags
/// behind can only delay a decision, never make a wrong one: the watch event that brings the
/// change reconciles the object again. Without them every reconcile listed Secrets, and a
/// namespace of N users cost O(N²) to create.
pub(crate) struct Caches {
    /// Accounts.
    pub accounts: Store<api::Account>,
    /// Users.
    pub users: Store<api::User>,
    /// AccountExports.
    pub exports: Store<api::AccountExport>,
    /// AccountImports.
    pub imports: Store<api::AccountImport>,
    /// Secrets labelled `nauth.io/managed: "true"` (account keys, user creds), without their
    /// `managedFields`.
    pub secrets: Store<Secret>,
    /// Whether each of the above holds its first full list.
    listed: [watch::Listed; 5],
}

impl Caches {
    /// Resolves once every cache holds its first full list: before, an empty cache would say
    /// an Account has no exports or users. Immediate afterwards.
    pub(crate) async fn ready(&self) -> Result<(), Error> {
        futures_util::future::try_join_all(self.listed.iter().map(watch::Listed::wait))
            .await
            .map(drop)
    }
}

/// What every reconcile shares.
pub struct Context {
    /// The API client.
    pub client: Client,
    /// The watches' caches.
    pub(crate) caches: Caches,
    /// One NATS connection per NatsCluster.
    pub nats: Connections,
    /// NatsClusters as last read, for Accounts.
    pub(crate) clusters: crate::closure::Clusters,
    /// Our writes whose events need no reconcile.
    echoes: Arc<echoes::Echoes>,
    /// Process settings.
    pub config: Config,
    recorder: Recorder,
    /// Failed reconciles in a row, by object (`ObjectRef` as text), for the backoff.
    failures: std::sync::Mutex<HashMap<String, u32>>,
    /// Set once every controller's cache holds the objects it watches.
    synced: AtomicBool,
    /// Set while this replica waits for the leader Lease.
    standby: AtomicBool,
}

impl Context {
    /// What `/readyz` says: ready once every controller's cache is synced and while every
    /// NATS connection in use is up; else why not. A standby replica (leader election) is
    /// ready: it runs no controllers, and a rolling update must not wait for it.
    pub(crate) fn readiness(&self) -> Result<(), String> {
        if self.standby.load(Ordering::Acquire) {
            return Ok(());
        }
        if !self.synced.load(Ordering::Acquire) {
            return Err("the controllers' caches are not synced yet".into());
        }
        let down = self.nats.down();
        if down.is_empty() {
            Ok(())
        } else {
            Err(format!(
                "the NATS connection of {} is down",
                down.join(", ")
            ))
        }
    }

    /// Writes `labels` on `o`, with `finalizer` if given (see [`crate::writes::labels`]); the
    /// event of that write does not reconcile `o` again (see [`echoes`]).
    pub(crate) async fn write_labels<K>(
        &self,
        api: &Api<K>,
        o: &K,
        labels: &std::collections::BTreeMap<String, String>,
        finalizer: Option<&str>,
    ) -> Result<(), Error>
    where
        K: Resource<DynamicType = ()> + Clone + DeserializeOwned + std::fmt::Debug,
    {
        if let Some(written) = crate::writes::labels(api, o, labels, finalizer).await? {
            self.echoes.expect(&written);
        }
        Ok(())
    }

    /// An API for `K` in `namespace`.
    pub(crate) fn api<K>(&self, namespace: &str) -> Api<K>
    where
        K: Resource<Scope = k8s_openapi::NamespaceResourceScope>,
        K::DynamicType: Default,
    {
        Api::namespaced(self.client.clone(), namespace)
    }

    /// A Warning event on `o` saying why its reconcile failed. Failing to publish is logged.
    pub(crate) async fn warn<K: Resource<DynamicType = ()>>(
        &self,
        o: &K,
        reason: &str,
        note: &str,
    ) {
        self.event(o, EventType::Warning, reason, note).await;
    }

    /// An event on `o`. Failing to publish is logged.
    pub(crate) async fn event<K: Resource<DynamicType = ()>>(
        &self,
        o: &K,
        type_: EventType,
        reason: &str,
        note: &str,
    ) {
        let event = Event {
            type_,
            reason: reason.to_string(),
            note: Some(note.chars().take(1000).collect()),
            action: event_action(note),
            secondary: None,
        };
        if let Err(e) = self.recorder.publish(&event, &o.object_ref(&())).await {
            tracing::warn!(error = %e, "publishing an event");
        }
    }
}

/// The action of an event with `note`. kube's `Recorder` counts a repeated event (same object,
/// type, reason, action) as a series of the first one and keeps that one's note; a hash of the
/// note in the action makes a new message a new event, and a repeated one a series.
fn event_action(note: &str) -> String {
    use std::hash::{Hash, Hasher};
    let mut hasher = std::hash::DefaultHasher::new();
    note.hash(&mut hasher);
    format!("Reconciled-{:08x}", hasher.finish() as u32)
}

/// Why a reconcile failed. Messages never hold a seed: render's diagnostics and the NATS side's
/// errors never quote one, and Kubernetes errors name objects only.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A Kubernetes API call failed.
    #[error("Kubernetes API: {}", api_message(.0))]
    Kube(#[from] kube::Error),
    /// A NATS request failed.
    #[error("{0}")]
    Nats(#[from] NatsError),
    /// The object, or one it depends on, cannot be reconciled as it is; `reason` is the
    /// condition reason.
    #[error("{message}")]
    Invalid {
        /// Condition reason.
        reason: &'static str,
        /// What is wrong, naming the field and the rule.
        message: String,
    },
    /// Adding or removing a finalizer failed.
    #[error("finalizer: {0}")]
    Finalizer(String),
}

/// What the API server said, in its words: kube's own text repeats it as a Rust debug struct,
/// which statuses and events must not show.
fn api_message(e: &kube::Error) -> String {
    match e {
        kube::Error::Api(s) => format!("{} {}: {}", s.code, s.reason, s.message),
        e => e.to_string(),
    }
}

impl Error {
    /// The reason of a failure, as conditions and metrics name it: the condition reason of an
    /// invalid object, else where the failure came from.
    pub(crate) fn reason(&self) -> &'static str {
        match self {
            Error::Invalid { reason, .. } => reason,
            Error::Kube(_) => "KubernetesAPI",
            Error::Nats(_) => "NATS",
            Error::Finalizer(_) => "Finalizer",
        }
    }

    /// An [`Error::Invalid`] with NAuth's generic reason `Errored`.
    pub(crate) fn errored(message: impl Into<String>) -> Self {
        Error::Invalid {
            reason: "Errored",
            message: message.into(),
        }
    }
}

/// Converts kube's finalizer error, keeping the reconcile's own error when there is one.
pub(crate) fn from_finalizer(e: kube::runtime::finalizer::Error<Error>) -> Error {
    use kube::runtime::finalizer::Error as F;
    match e {
        F::ApplyFailed(e) | F::CleanupFailed(e) => e,
        other => Error::Finalizer(other.to_string()),
    }
}

/// Seconds since the epoch, the render's `epoch`.
pub(crate) fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}

/// `namespace` and `name` of an object read from the API server (both always set there).
pub(crate) fn ns_name<K: Resource>(o: &K) -> (String, String) {
    (o.namespace().unwrap_or_default(), o.name_any())
}

/// Writes `set` into `o`'s conditions, keeping the rest of its status as it is (the last good
/// claims stay when a reconcile fails).
pub(crate) async fn write_conditions<K>(
    api: &Api<K>,
    o: &K,
    set: &[conditions::Set<'_>],
) -> Result<(), Error>
where
    K: Resource<DynamicType = ()> + Clone + DeserializeOwned + serde::Serialize + std::fmt::Debug,
{
    let mut status = serde_json::to_value(o)
        .ok()
        .and_then(|v| v.get("status").cloned())
        .filter(serde_json::Value::is_object)
        .unwrap_or_else(|| serde_json::json!({}));
    let previous: Vec<Condition> = status
        .get("conditions")
        .and_then(|c| serde_json::from_value(c.clone()).ok())
        .unwrap_or_default();
    let generation = o.meta().generation;
    status["conditions"] = serde_json::json!(conditions::apply(&previous, set, generation));
    crate::writes::status(api, o, status).await
}

/// NAuth's message of `Ready=True/Reconciled`.
pub(crate) const RECONCILED: &str = "Successfully reconciled";

/// Writes the status of a successful reconcile, as NAuth does for Accounts, Users and
/// NatsClusters: the kind's own `fields`, then `Ready=True/Reconciled`, the generation seen,
/// the time and the operator version.
pub(crate) async fn write_reconciled<K>(
    cx: &Context,
    api: &Api<K>,
    o: &K,
    fields: serde_json::Value,
) -> Result<(), Error>
where
    K: Resource<DynamicType = ()> + Clone + DeserializeOwned + serde::Serialize + std::fmt::Debug,
{
    write_reconciled_saying(cx, api, o, fields, RECONCILED.to_string()).await
}

/// [`write_reconciled`] with another message than NAuth's [`RECONCILED`].
pub(crate) async fn write_reconciled_saying<K>(
    cx: &Context,
    api: &Api<K>,
    o: &K,
    mut fields: serde_json::Value,
    message: String,
) -> Result<(), Error>
where
    K: Resource<DynamicType = ()> + Clone + DeserializeOwned + serde::Serialize + std::fmt::Debug,
{
    let previous = conditions::current(o);
    let generation = o.meta().generation;
    let ready = conditions::Set {
        type_: conditions::READY,
        status: true,
        reason: "Reconciled",
        message,
    };
    fields["conditions"] = serde_json::json!(conditions::apply(&previous, &[ready], generation));
    fields["observedGeneration"] = serde_json::json!(generation);
    fields["operatorVersion"] = serde_json::json!(cx.config.version);
    let status = serde_json::to_value(o)
        .ok()
        .map(|v| v["status"].clone())
        .unwrap_or_default();
    fields["reconcileTimestamp"] = match status.get("reconcileTimestamp") {
        // Fields that say nothing new keep the old timestamp, so the write is skipped and wakes
        // no watcher: a reconcile that only re-confirms must not trigger the objects that
        // watch this one (an Account and its NatsCluster watch each other).
        Some(at) if crate::writes::holds_fields(Some(&status), &fields) => at.clone(),
        _ => serde_json::json!(Time(Timestamp::now())),
    };
    crate::writes::status(api, o, fields).await
}

/// One reconcile of a kind with a finalizer: `apply` while the object lives, `cleanup` once it
/// is being deleted; a failure is reported on the object (see [`fail`]).
pub(crate) async fn reconcile_finalized<K>(
    o: Arc<K>,
    cx: Arc<Context>,
    finalizer_name: &str,
    apply: impl AsyncFn(&K, &Context) -> Result<Action, Error>,
    cleanup: impl AsyncFn(&K, &Context) -> Result<Action, Error>,
) -> Result<Action, Error>
where
    K: Resource<DynamicType = (), Scope = k8s_openapi::NamespaceResourceScope>
        + Clone
        + DeserializeOwned
        + serde::Serialize
        + std::fmt::Debug,
{
    let (ns, name) = ns_name(&*o);
    let api = cx.api::<K>(&ns);
    let run = |o: Arc<K>| {
        finalizer(&api, finalizer_name, o, |event| async {
            match event {
                FinalizerEvent::Apply(o) => apply(&o, &cx).await,
                FinalizerEvent::Cleanup(o) => cleanup(&o, &cx).await,
            }
        })
    };
    // Adding the finalizer tests the finalizers the object had; a cached copy may lag behind
    // one that already has it (a 422 from the API server): then it is read afresh and tried once
    // more.
    let result = match run(o.clone()).await {
        Err(kube::runtime::finalizer::Error::AddFinalizer(kube::Error::Api(e)))
            if e.code == 422 =>
        {
            match api.get_opt(&name).await? {
                Some(fresh) => run(Arc::new(fresh)).await,
                None => return Ok(Action::await_change()),
            }
        }
        result => result,
    }
    .map_err(from_finalizer);
    if let Err(e) = &result {
        fail(&cx, &*o, e).await;
    }
    result
}

/// After a failed reconcile: `Ready=False` with the error's reason and message, and a Warning
/// event. An object deleted meanwhile is left alone.
pub(crate) async fn fail<K>(cx: &Context, o: &K, error: &Error)
where
    K: Resource<DynamicType = (), Scope = k8s_openapi::NamespaceResourceScope>
        + Clone
        + DeserializeOwned
        + serde::Serialize
        + std::fmt::Debug,
{
    let reason = match error {
        Error::Invalid { reason, .. } => reason,
        // A finalizer patch made from a cache that lags behind: retried, nothing to report.
        Error::Finalizer(_) => return,
        _ => "Errored",
    };
    let message = error.to_string();
    let api = cx.api::<K>(&o.namespace().unwrap_or_default());
    let set = conditions::Set {
        type_: conditions::READY,
        status: false,
        reason,
        message: message.clone(),
    };
    match write_conditions(&api, o, &[set]).await {
        Ok(()) | Err(Error::Kube(kube::Error::Api(_))) => {}
        Err(e) => tracing::warn!(error = %e, "writing a failed status"),
    }
    cx.warn(o, reason, &message).await;
}

/// A failed render as an error: its diagnostics, without the `cluster:` source prefix.
/// Fails with the spec's rule errors (`validate()` of its type) before any read they would
/// misdirect: a spec left out reads as empty, and a lookup of an empty name is no answer.
fn checked(errors: Vec<nauth_render::api::FieldError>) -> Result<(), Error> {
    match errors.is_empty() {
        true => Ok(()),
        false => Err(Error::errored(
            (errors.iter().map(|e| format!("{}: {}", e.path, e.rule)))
                .collect::<Vec<_>>()
                .join("; "),
        )),
    }
}

pub(crate) fn invalid(diagnostics: &[nauth_render::diagnostic::Diagnostic]) -> Error {
    let message = diagnostics
        .iter()
        .filter(|d| d.is_error())
        .map(|d| {
            let mut d = d.clone();
            d.file = None;
            // Remedies such as `--seed-root` are the CLI's: the controller has none.
            d.hint = None;
            d.to_string()
        })
        .collect::<Vec<_>>()
        .join("; ");
    Error::Invalid {
        reason: "Errored",
        message,
    }
}

/// The shared error policy: log, retry after a backoff that doubles at each failure in a row
/// (see [`backoff`]). A finalizer patch refused because the object changed meanwhile is benign:
/// retried soon, logged at debug.
fn retry<K: Resource<DynamicType = ()>>(o: Arc<K>, error: &Error, cx: Arc<Context>) -> Action {
    let name = o.meta().name.clone().unwrap_or_default();
    if let Error::Finalizer(_) = error {
        tracing::debug!(object = %name, error = %error, "finalizer patch raced a change; retrying");
        return Action::requeue(Duration::from_secs(1));
    }
    let key = ObjectRef::from(o.as_ref()).to_string();
    let failures = {
        let mut all = cx.failures.lock().unwrap_or_else(|e| e.into_inner());
        let n = all.entry(key).or_default();
        *n = n.saturating_add(1);
        *n
    };
    let delay = backoff(failures);
    tracing::warn!(object = %name, error = %error, retry_in = ?delay, "reconcile failed");
    Action::requeue(delay)
}

/// The wait after the `failures`-th failed reconcile in a row: [`RETRY`], doubled at each
/// further failure, at most [`MAX_RETRY`].
fn backoff(failures: u32) -> Duration {
    let doublings = failures.saturating_sub(1).min(16);
    (RETRY * 2u32.pow(doublings)).min(MAX_RETRY)
}

/// Logs and counts what a controller's stream reports: reconciles by outcome (see
/// [`crate::metrics`]), the API errors of its watches (rate-limited by the watches' own
/// backoff); forgets the failures of an object reconciled successfully.
fn report<K>(
    cx: &Context,
    outcome: Result<
        (ObjectRef<K>, Action),
        kube::runtime::controller::Error<Error, watcher::Error>,
    >,
) -> std::future::Ready<()>
where
    K: Resource<DynamicType = ()>,
{
    use kube::runtime::controller::Error as C;
    let kind = K::kind(&());
    match outcome {
        Ok((o, _)) => {
            tracing::debug!(kind = %kind, name = %o.name, namespace = ?o.namespace, "reconciled");
            crate::metrics::reconciled(&kind, None);
            let mut all = cx.failures.lock().unwrap_or_else(|e| e.into_inner());
            all.remove(&o.to_string());
        }
        Err(C::ReconcilerFailed(e, _)) => crate::metrics::reconciled(&kind, Some(e.reason())),
        Err(C::QueueError(e)) => {
            tracing::warn!(error = %e, "watching the Kubernetes API failed; retrying with backoff")
        }
        Err(C::RunnerError(e)) => tracing::warn!(error = %e, "controller runner"),
        Err(C::ObjectNotFound(_)) => {}
    }
    std::future::ready(())
}

/// Resolves at the first SIGINT or SIGTERM.
async fn stop_signal() {
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        .expect("installing the SIGTERM handler");
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = term.recv() => {}
    }
}

/// How many reconciles of one kind run at once. Unbounded (kube's default), a burst of
/// thousands of objects put thousands of requests on the API server at once, which answered
/// with timeouts, and held their inputs in memory together.
const CONCURRENCY: u16 = 24;

/// The settings of every controller: [`CONCURRENCY`].
fn controller_config() -> kube::runtime::controller::Config {
    kube::runtime::controller::Config::default().concurrency(CONCURRENCY)
}

/// An API for `K` over the configured namespace(s).
fn scoped<K>(client: &Client, config: &Config) -> Api<K>
where
    K: Resource<Scope = k8s_openapi::NamespaceResourceScope> + DeserializeOwned,
    K::DynamicType: Default,
{
    match &config.namespace {
        Some(ns) => Api::namespaced(client.clone(), ns),
        None => Api::all(client.clone()),
    }
}

/// Runs the HTTP endpoints and, once this replica leads (see [`crate::leader`]), every
/// controller, until the process is told to stop (SIGINT/SIGTERM). Fails when an endpoint's
/// address cannot be bound, or when leadership is lost (the process must exit then).
pub async fn run(client: Client, config: Config) -> std::io::Result<()> {
    let listeners = crate::endpoints::bind(config.probe_address, config.metrics_address).await?;
    let wc = watcher::Config::default;
    let echoes = Arc::new(echoes::Echoes::default());
    // Each kind is watched once; the taps hand its changes to the controllers that read it.
    let (
        accounts,
        [
            accounts_to_users,
            accounts_to_exports,
            accounts_to_imports,
            accounts_to_clusters,
        ],
        accounts_listed,
    ) = watch::controller::<api::Account, 4>(&client, &config, &echoes);
    let (users, [users_to_accounts], users_listed) =
        watch::controller::<api::User, 1>(&client, &config, &echoes);
    let (exports, [exports_to_accounts], exports_listed) =
        watch::controller::<api::AccountExport, 1>(&client, &config, &echoes);
    let (imports, [imports_to_accounts], imports_listed) =
        watch::controller::<api::AccountImport, 1>(&client, &config, &echoes);
    let (signing_keys, [signing_keys_to_accounts], signing_keys_listed) =
        watch::controller::<api::AccountSigningKey, 1>(&client, &config, &echoes);
    let (clusters, [clusters_to_accounts], clusters_listed) =
        watch::controller::<api::NatsCluster, 1>(&client, &config, &echoes);
    // Managed Secrets fill the cache before they trigger their Accounts and Users: the
    // reconcile a new creds Secret triggers finds it in the cache.
    let (secrets, secrets_writer) = reflector::store();
    let (managed_secrets, [secrets_to_users], secrets_listed) =
        watch::tapped(reflector::reflector(
            secrets_writer,
            watcher(
                scoped::<Secret>(&client, &config),
                wc().labels(&format!("{}=true", crate::writes::MANAGED_LABEL)),
            )
            .modify(|s| s.managed_fields_mut().clear())
            .default_backoff(),
        ));
    let cx = Arc::new(Context {
        recorder: Recorder::new(
            client.clone(),
            Reporter {
                controller: MANAGER.into(),
                instance: None,
            },
        ),
        nats: Connections::new(),
        clusters: Default::default(),
        echoes: echoes.clone(),
        client: client.clone(),
        caches: Caches {
            accounts: accounts.store(),
            users: users.store(),
            exports: exports.store(),
            imports: imports.store(),
            secrets,
            listed: [
                accounts_listed,
                users_listed,
                exports_listed,
                imports_listed,
                secrets_listed,
            ],
        },
        config: config.clone(),
        failures: Default::default(),
        synced: AtomicBool::new(false),
        standby: AtomicBool::new(config.leader_election.is_some()),
    });
    crate::endpoints::serve(listeners, cx.clone());
    let stop = stop_signal().boxed().shared();
    let elector = (config.leader_election.as_ref())
        .map(|(ns, identity)| Elector::new(client.clone(), ns, identity.clone()));
    if let Some(elector) = &elector {
        tokio::select! {
            () = elector.acquire() => cx.standby.store(false, Ordering::Release),
            _ = stop.clone() => {
                tracing::info!("stopped while waiting for the leader Lease");
                return Ok(());
            }
        }
    }
    let cluster_store = clusters.store();
    let account_store = accounts.store();
    let accounts = accounts
        .watches_shared_stream(exports_to_accounts, {
            let store = account_store.clone();
            move |e| account::of_child(&store, &*e, &e.spec.account_name)
        })
        .watches_shared_stream(imports_to_accounts, {
            let store = account_store.clone();
            move |i| account::of_child(&store, &*i, &i.spec.account_name)
        })
        .watches_shared_stream(clusters_to_accounts, {
            let (store, seen, cx) = (account_store.clone(), Seen::default(), cx.clone());
            move |c| match seen.changed(&*c, changes::read_by_accounts(&c)) {
                true => {
                    cx.clusters.changed();
                    account::of_cluster(&store, &c)
                }
                false => Vec::new(),
            }
        })
        .watches_shared_stream(signing_keys_to_accounts, {
            let store = account_store.clone();
            move |k| account::of_signing_key(&store, &k)
        })
        .watches_stream(managed_secrets.touched_objects(), {
            let store = account_store.clone();
            move |s| account::of_secret(&store, s)
        })
        .watches_shared_stream(users_to_accounts, |u| account::of_deleted_user(&u))
        // A Secret or ConfigMap a NatsCluster reads re-triggers the Accounts bound to it, and
        // so do a labelled Secret of NAuth's NATS_URL mode and an Account's own JWT ConfigMap.
        .watches(scoped::<Secret>(&client, &config), wc(), {
            let (clusters, accounts) = (cluster_store.clone(), account_store.clone());
            let (nats_url, cx) = (config.nats_url.clone(), cx.clone());
            move |s| {
                let mut of =
                    account::of_cluster_source(&cx, &clusters, &accounts, Source::Secret, &s);
                of.extend(account::of_nats_url_secret(
                    &accounts,
                    nats_url.as_ref(),
                    &s,
                ));
                of
            }
        })
        .watches(scoped::<ConfigMap>(&client, &config), wc(), {
            let (clusters, accounts) = (cluster_store.clone(), account_store.clone());
            let cx = cx.clone();
            move |m| {
                let mut of =
                    account::of_cluster_source(&cx, &clusters, &accounts, Source::ConfigMap, &m);
                of.extend(account::of_config_map(&m).filter(|_| !cx.echoes.is_echo(&m)));
                of
            }
        })
        .graceful_shutdown_on(stop.clone())
        .run(account::reconcile, account::error_policy, cx.clone())
        .for_each(|o| report(&cx, o));
    let user_store = users.store();
    let users = users
        .watches_shared_stream(secrets_to_users, {
            let cx = cx.clone();
            move |s| match cx.echoes.is_echo(&*s) {
                true => None,
                false => user::of_creds_secret(&s),
            }
        })
        .watches_shared_stream(accounts_to_users, {
            let (store, seen, claims) = (user_store.clone(), Seen::default(), Seen::default());
            let accounts = account_store.clone();
            move |a| {
                // Gone: its Users must say so (one created as it went may hold creds for it).
                let gone = accounts.get(&ObjectRef::from(&*a)).is_none();
                let read = seen.changed(&*a, changes::read_by_users(&a)) || gone;
                match (read, claims.changed(&*a, changes::claims_of(&a))) {
                    (true, _) => user::of_account(&store, &a),
                    (false, true) => user::waiting_of_account(&store, &a),
                    (false, false) => Vec::new(),
                }
            }
        })
        .graceful_shutdown_on(stop.clone())
        .run(user::reconcile, user::error_policy, cx.clone())
        .for_each(|o| report(&cx, o));
    let export_store = exports.store();
    let exports = exports
        .watches_shared_stream(accounts_to_exports, {
            let (store, seen) = (export_store.clone(), Seen::default());
            move |a| match seen.changed(&*a, changes::read_by_bindings(&a)) {
                true => account_export::of_account(&store, &a),
                false => Vec::new(),
            }
        })
        .graceful_shutdown_on(stop.clone())
        .run(
            account_export::reconcile,
            account_export::error_policy,
            cx.clone(),
        )
        .for_each(|o| report(&cx, o));
    let import_store = imports.store();
    let imports = imports
        .watches_shared_stream(accounts_to_imports, {
            let (store, seen) = (import_store.clone(), Seen::default());
            move |a| match seen.changed(&*a, changes::read_by_bindings(&a)) {
                true => account_import::of_account(&store, &a),
                false => Vec::new(),
            }
        })
        .graceful_shutdown_on(stop.clone())
        .run(
            account_import::reconcile,
            account_import::error_policy,
            cx.clone(),
        )
        .for_each(|o| report(&cx, o));
    let signing_keys = signing_keys
        .owns(scoped::<Secret>(&client, &config), wc())
        .graceful_shutdown_on(stop.clone())
        .run(
            account_signing_key::reconcile,
            account_signing_key::error_policy,
            cx.clone(),
        )
        .for_each(|o| report(&cx, o));
    let synced = {
        let cx = cx.clone();
        async move {
            let all = tokio::join!(
                cx.caches.ready(),
                signing_keys_listed.wait(),
                clusters_listed.wait()
            );
            if let (Ok(()), Ok(()), Ok(())) = all {
                cx.synced.store(true, Ordering::Release);
                tracing::info!("caches synced");
            }
        }
    };
    let clusters = clusters
        .watches(scoped::<Secret>(&client, &config), wc(), {
            let store = cluster_store.clone();
            move |s| nats_cluster::reading(&store, Source::Secret, &s)
        })
        .watches(scoped::<ConfigMap>(&client, &config), wc(), move |m| {
            nats_cluster::reading(&cluster_store, Source::ConfigMap, &m)
        })
        .watches_shared_stream(accounts_to_clusters, |a| nats_cluster::of_account(&a))
        .graceful_shutdown_on(stop.clone())
        .run(
            nats_cluster::reconcile,
            nats_cluster::error_policy,
            cx.clone(),
        )
        .for_each(|o| report(&cx, o));
    tracing::info!(namespace = ?config.namespace, "nauth-apply started");
    let all = async {
        tokio::join!(
            accounts,
            users,
            exports,
            imports,
            signing_keys,
            clusters,
            synced
        )
    };
    let abandon = async {
        stop.clone().await;
        tracing::info!("stopping: in-flight reconciles get {GRACE:?} to finish");
        tokio::time::sleep(GRACE).await;
    };
    let lost = async {
        match &elector {
            Some(elector) => elector.keep().await,
            None => std::future::pending().await,
        }
    };
    tokio::select! {
        _ = all => {}
        () = abandon => tracing::warn!("in-flight reconciles abandoned after {GRACE:?}"),
        () = lost => return Err(std::io::Error::other("lost the leader Lease")),
    }
    if let Some(elector) = &elector {
        elector.release().await;
    }
    tracing::info!("nauth-apply stopped");
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn controller_messages_leave_out_the_cli_remedies() {
        use nauth_render::diagnostic::Diagnostic;
        let d = Diagnostic::error("no key for this user: no Secret ns/u-nats-user-creds")
            .with_hint(Some("no --seed-root to derive it from".into()))
            .in_file("cluster:");
        assert!(d.to_string().contains("--seed-root"));
        let Error::Invalid { message, .. } = invalid(&[d]) else {
            panic!("not Invalid")
        };
        assert_eq!(
            message,
            "no key for this user: no Secret ns/u-nats-user-creds"
        );
    }

    #[test]
    fn api_errors_read_as_the_api_server_words_them() {
        let status = kube::core::Status::failure(
            "ConfigMap \"a-nats-account-jwt\" is invalid: []: Too long",
            "Invalid",
        )
        .with_code(422);
        let e = Error::Kube(kube::Error::Api(Box::new(status)));
        assert_eq!(
            e.to_string(),
            "Kubernetes API: 422 Invalid: ConfigMap \"a-nats-account-jwt\" is invalid: []: Too long"
        );
    }

    #[test]
    fn backoff_doubles_up_to_its_cap() {
        let waits: Vec<u64> = (1..=6).map(|n| backoff(n).as_secs()).collect();
        assert_eq!(waits, [5, 10, 20, 30, 30, 30]);
        assert_eq!(backoff(u32::MAX), MAX_RETRY);
    }

    #[test]
    fn a_new_note_is_a_new_event_and_a_repeated_one_a_series() {
        let first = event_action("Deleting account: NATS at x is unreachable");
        assert_eq!(
            first,
            event_action("Deleting account: NATS at x is unreachable")
        );
        assert_ne!(
            first,
            event_action("Deleting account: found 1 export bindings")
        );
        assert!(
            first.starts_with("Reconciled-") && first.len() <= 128,
            "{first}"
        );
    }
}
