//! The controller under test: the real `nauth-apply` binary as a child process, watching one
//! namespace, its logs kept so a test can scan them; plus the objects every controller test
//! starts from (the testenv operator's Secrets and a NatsCluster) and waiting for a condition.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use k8s_openapi::api::core::v1::Secret;
use kube::api::{Api, Patch, PatchParams, PostParams};
use kube::{Client, Resource};
use serde::de::DeserializeOwned;
use serde_json::{Value, json};
use tokio::sync::OnceCell;

use crate::testenv;

/// How long a reconcile may take to show, generously (kuttl's asserts wait 20–60 s).
pub const SETTLE: Duration = Duration::from_secs(60);
/// Name of the NatsCluster [`setup`] creates.
pub const CLUSTER: &str = "local-nats";

/// The `nauth-apply` binary, built once per test binary (cargo is quick when it is current).
async fn binary() -> PathBuf {
    static BUILT: OnceCell<PathBuf> = OnceCell::const_new();
    BUILT
        .get_or_init(|| async {
            // Built together with this crate, so features unify as in the test build and
            // neither build invalidates the other's dependencies.
            crate::tools::cargo_build(&["-p", "nauth-tests", "-p", "nauth-apply"], "nauth-apply")
        })
        .await
        .clone()
}

/// A running controller. Killed when dropped; its stderr (the logs) stays in a file.
pub struct Controller {
    child: Child,
    log: PathBuf,
    _dir: tempfile::TempDir,
}

impl Controller {
    /// Starts `nauth-apply --namespace NAMESPACE` with `env` added.
    pub async fn start(namespace: &str, env: &[(&str, &str)]) -> Controller {
        Self::start_with(namespace, &[], env).await
    }

    /// Starts `nauth-apply --namespace NAMESPACE ARGS` with `env` added. The health probes
    /// listen on a free port (see [`Controller::address`]), so controllers run side by side.
    pub async fn start_with(namespace: &str, args: &[&str], env: &[(&str, &str)]) -> Controller {
        let mut command = Command::new(binary().await);
        command
            .args(["--namespace", namespace])
            .args(["--health-probe-bind-address", "127.0.0.1:0"])
            .args(args)
            // The testenv's NATS_URL would switch on NAuth's NATS_URL mode: only on request.
            .env_remove("NATS_URL")
            .envs(env.iter().copied())
            .env("RUST_LOG", "info,nauth_apply=debug,kube=warn");
        Self::spawn(command)
    }

    /// Starts `nauth-apply` with exactly `args` and the environment `env`, nothing inherited:
    /// the container of a Deployment, run as a process (`env` names the kubeconfig).
    pub async fn start_exactly(args: &[String], env: &[(String, String)]) -> Controller {
        let mut command = Command::new(binary().await);
        command.args(args).env_clear().envs(env.iter().cloned());
        Self::spawn(command)
    }

    fn spawn(mut command: Command) -> Controller {
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("controller.log");
        let file = std::fs::File::create(&log).unwrap();
        let child = command
            .stdout(Stdio::null())
            .stderr(file)
            .spawn()
            .expect("starting nauth-apply");
        Controller {
            child,
            log,
            _dir: dir,
        }
    }

    /// Everything the controller logged so far.
    pub fn logs(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// The address the controller serves `paths` on (as it logs it, e.g. `"/metrics"` or
    /// `"/healthz and /readyz"`), once it does; panics after [`SETTLE`].
    pub async fn address(&self, paths: &str) -> std::net::SocketAddr {
        let deadline = tokio::time::Instant::now() + SETTLE;
        let message = format!("serving {paths}");
        loop {
            let logs = self.logs();
            let line = logs.lines().find(|l| l.contains(&message));
            let address = line.and_then(|l| {
                let (_, rest) = l.split_once("address=")?;
                rest.split_whitespace().next()?.parse().ok()
            });
            if let Some(address) = address {
                return address;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "the controller does not serve {paths} after {SETTLE:?}; logs:\n{logs}"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Sends SIGTERM (as the kubelet does) and waits for the exit, at most [`SETTLE`].
    pub fn terminate(&mut self) -> std::process::ExitStatus {
        let status = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .expect("running kill");
        assert!(status.success(), "kill -TERM failed");
        let deadline = std::time::Instant::now() + SETTLE;
        loop {
            if let Some(exit) = self.child.try_wait().unwrap() {
                return exit;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "nauth-apply still runs {SETTLE:?} after SIGTERM; logs:\n{}",
                self.logs()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// Stops the controller (SIGKILL, as a crash or an eviction would).
    pub fn stop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Controller {
    /// Stops it; when a test fails, its log goes to the test's output first.
    fn drop(&mut self) {
        if std::thread::panicking() {
            let logs = self.logs();
            let tail: Vec<&str> = logs.lines().rev().take(400).collect();
            let tail: Vec<&str> = tail.into_iter().rev().collect();
            eprintln!(
                "--- nauth-apply log (last 400 lines) ---\n{}",
                tail.join("\n")
            );
        }
        self.stop();
    }
}

/// Server-side applies a JSON object (with apiVersion and kind) in `namespace`.
pub async fn apply(client: &Client, namespace: &str, object: Value) {
    let api_version = object["apiVersion"].as_str().unwrap().to_string();
    let kind = object["kind"].as_str().unwrap().to_string();
    let name = object["metadata"]["name"].as_str().unwrap().to_string();
    let (api, _) = crate::cluster::dynamic_api(client, &api_version, &kind, namespace)
        .await
        .unwrap_or_else(|| panic!("{api_version} {kind} is not served"));
    api.patch(
        &name,
        &PatchParams::apply("nauth-tests").force(),
        &Patch::Apply(object),
    )
    .await
    .unwrap_or_else(|e| panic!("applying {kind} {namespace}/{name}: {e}"));
}

/// The test environment's operator signing key and system user creds as Secrets, and a
/// NatsCluster [`CLUSTER`] naming them, in `namespace`.
pub async fn setup(client: &Client, namespace: &str) {
    crate::cluster::install_crds().await;
    let read = |var| std::fs::read_to_string(testenv::var(var)).unwrap();
    let secrets: Api<Secret> = Api::namespaced(client.clone(), namespace);
    for (name, value) in [
        (
            "operator-signing-key",
            read("NATS_OPERATOR_SIGNING_SEED").trim().to_string(),
        ),
        ("system-creds", read("NATS_SYSTEM_CREDS")),
    ] {
        let secret: Secret = serde_json::from_value(json!({
            "metadata": {"name": name, "namespace": namespace},
            "stringData": {"default": value},
        }))
        .unwrap();
        secrets
            .create(&PostParams::default(), &secret)
            .await
            .unwrap();
    }
    let url = testenv::var("NATS_URL");
    apply(client, namespace, nats_cluster(namespace, CLUSTER, &url)).await;
}

/// A NatsCluster `name` at `url` with the operator key and system creds Secrets of [`setup`].
pub fn nats_cluster(ns: &str, name: &str, url: &str) -> Value {
    resource(
        "NatsCluster",
        ns,
        name,
        json!({
            "url": url,
            "operatorSigningKeySecretRef": {"name": "operator-signing-key"},
            "systemAccountUserCredsSecretRef": {"name": "system-creds"},
        }),
    )
}

/// Waits until `check` holds for the object `name` (re-read every 250 ms), then returns it;
/// after [`SETTLE`] panics with what `check` said last and the object.
pub async fn wait_for<K>(api: &Api<K>, name: &str, check: impl Fn(&K) -> Result<(), String>) -> K
where
    K: Resource + Clone + DeserializeOwned + serde::Serialize + std::fmt::Debug,
{
    let deadline = tokio::time::Instant::now() + SETTLE;
    let mut last = String::from("not found");
    loop {
        if let Ok(Some(o)) = api.get_opt(name).await {
            match check(&o) {
                Ok(()) => return o,
                Err(why) => {
                    last = format!("{why}\n{}", serde_json::to_string_pretty(&o).unwrap());
                }
            }
        }
        if tokio::time::Instant::now() > deadline {
            panic!("{name}: condition not met after {SETTLE:?}: {last}");
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

/// Waits until `name` is `Ready=False` with `reason` (see [`wait_for`]); returns it and the
/// condition's message.
pub async fn wait_not_ready<K>(api: &Api<K>, name: &str, reason: &str) -> (K, String)
where
    K: Resource + Clone + DeserializeOwned + serde::Serialize + std::fmt::Debug,
{
    let o = wait_for(api, name, |o| has_condition(o, "Ready", "False", reason)).await;
    let (_, _, message) = condition(&o, "Ready").unwrap_or_default();
    (o, message)
}

/// Waits until `name` is gone from `api` (its finalizers done); panics after [`SETTLE`].
pub async fn wait_gone<K>(api: &Api<K>, name: &str)
where
    K: Resource + Clone + DeserializeOwned + std::fmt::Debug,
{
    let deadline = tokio::time::Instant::now() + SETTLE;
    while api.get_opt(name).await.unwrap().is_some() {
        assert!(
            tokio::time::Instant::now() < deadline,
            "{name} still there after {SETTLE:?}"
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

/// Polls `check` every 250 ms until it holds; panics after [`SETTLE`] with `what`.
pub async fn eventually<F: AsyncFn() -> bool>(what: &str, check: F) {
    let deadline = tokio::time::Instant::now() + SETTLE;
    while !check().await {
        assert!(
            tokio::time::Instant::now() < deadline,
            "{what} after {SETTLE:?}"
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

/// Whether the nats-server at `url` accepts a connection with `creds`.
pub async fn connects_at(creds: &str, url: &str) -> bool {
    async_nats::ConnectOptions::with_credentials(creds)
        .unwrap()
        .max_reconnects(1)
        .connection_timeout(Duration::from_secs(5))
        .connect(url)
        .await
        .is_ok()
}

/// Whether testenv's nats-server accepts a connection with `creds`.
pub async fn connects(creds: &str) -> bool {
    connects_at(creds, &testenv::var("NATS_URL")).await
}

/// Applies `object` (see [`apply`]) and waits until `check` holds for it in `api` (see
/// [`wait_for`]): the step every scenario repeats for each object it changes.
pub async fn apply_until<K>(
    client: &Client,
    api: &Api<K>,
    object: Value,
    check: impl Fn(&K) -> Result<(), String>,
) -> K
where
    K: Resource + Clone + DeserializeOwned + serde::Serialize + std::fmt::Debug,
{
    let namespace = object["metadata"]["namespace"]
        .as_str()
        .unwrap()
        .to_string();
    let name = object["metadata"]["name"].as_str().unwrap().to_string();
    apply(client, &namespace, object).await;
    wait_for(api, &name, check).await
}

/// The condition `type_` of an object's status as (status, reason, message).
pub fn condition(o: &impl serde::Serialize, type_: &str) -> Option<(String, String, String)> {
    let v = serde_json::to_value(o).ok()?;
    let conditions = v["status"]["conditions"].as_array()?.clone();
    let c = conditions.into_iter().find(|c| c["type"] == type_)?;
    let s = |k: &str| c[k].as_str().unwrap_or_default().to_string();
    Some((s("status"), s("reason"), s("message")))
}

/// `Ok` when condition `type_` has `status` and `reason`.
pub fn has_condition(
    o: &impl serde::Serialize,
    type_: &str,
    status: &str,
    reason: &str,
) -> Result<(), String> {
    match condition(o, type_) {
        Some((s, r, _)) if s == status && r == reason => Ok(()),
        other => Err(format!(
            "{type_} is {other:?}, waiting for {status}/{reason}"
        )),
    }
}

/// Words of `text` shaped like an nkey seed (what must never be logged).
pub fn seeds_in(text: &str) -> Vec<String> {
    text.split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|w| {
            w.len() >= 50
                && w.starts_with('S')
                && matches!(
                    w.as_bytes()[1],
                    b'O' | b'A' | b'U' | b'N' | b'C' | b'X' | b'P'
                )
                && w.bytes()
                    .skip(2)
                    .all(|b| b.is_ascii_uppercase() || (b'2'..=b'7').contains(&b))
        })
        .map(str::to_string)
        .collect()
}

/// `GET path` over plain HTTP/1.1: the status code and the body.
pub async fn http_get(address: std::net::SocketAddr, path: &str) -> (u16, String) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut stream = tokio::net::TcpStream::connect(address)
        .await
        .unwrap_or_else(|e| panic!("connecting to {address}: {e}"));
    let request = format!("GET {path} HTTP/1.1\r\nHost: {address}\r\nConnection: close\r\n\r\n");
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).await.unwrap();
    let (head, body) = response.split_once("\r\n\r\n").unwrap_or((&response, ""));
    let code = head
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or_else(|| panic!("not an HTTP response: {response}"));
    (code, body.to_string())
}

/// Time limit of NATS requests in the tests.
pub const TIMEOUT: Duration = Duration::from_secs(5);

/// An Account of the [`CLUSTER`] with `spec`.
pub fn account(ns: &str, name: &str, mut spec: Value) -> Value {
    spec["natsClusterRef"] = json!({"name": CLUSTER});
    json!({"apiVersion": "nauth.io/v1alpha1", "kind": "Account",
           "metadata": {"name": name, "namespace": ns}, "spec": spec})
}

/// A custom resource of `kind` with `spec`.
pub fn resource(kind: &str, ns: &str, name: &str, spec: Value) -> Value {
    json!({"apiVersion": "nauth.io/v1alpha1", "kind": kind,
           "metadata": {"name": name, "namespace": ns}, "spec": spec})
}

/// A User with `spec`.
pub fn user(ns: &str, name: &str, spec: Value) -> Value {
    resource("User", ns, name, spec)
}

/// `Ok` when the object is `Ready=True/Reconciled`.
pub fn ready(o: &impl serde::Serialize) -> Result<(), String> {
    has_condition(o, "Ready", "True", "Reconciled")
}

/// `Ok` when the object is Ready and its status describes `generation` of its spec.
pub fn ready_at(o: &impl serde::Serialize, generation: i64) -> Result<(), String> {
    ready(o)?;
    let status = serde_json::to_value(o).map_err(|e| e.to_string())?["status"].clone();
    match status["observedGeneration"].as_i64() {
        Some(g) if g == generation => Ok(()),
        g => Err(format!(
            "observed generation {g:?}, waiting for {generation}"
        )),
    }
}

/// The creds in the User's Secret.
pub async fn creds(client: &Client, ns: &str, user: &str) -> String {
    let s = Api::<Secret>::namespaced(client.clone(), ns)
        .get(&format!("{user}-nats-user-creds"))
        .await
        .unwrap();
    String::from_utf8(s.data.unwrap()["user.creds"].0.clone()).unwrap()
}

/// Whether a publish on `subject` with `creds` is allowed (no permissions violation arrives
/// before the server answers the PING that follows it).
pub async fn may_publish(creds: &str, subject: &str) -> bool {
    let (client, errors) = crate::nats::connect(creds, TIMEOUT).await;
    client
        .publish(subject.to_string(), "x".into())
        .await
        .unwrap();
    no_violation(&client, errors).await
}

/// Whether a subscription to `subject` with `creds` is allowed (see [`may_publish`]).
pub async fn may_subscribe(creds: &str, subject: &str) -> bool {
    let (client, errors) = crate::nats::connect(creds, TIMEOUT).await;
    let _subscription = client.subscribe(subject.to_string()).await.unwrap();
    no_violation(&client, errors).await
}

/// Whether no permissions violation arrives before the server answers two PINGs.
async fn no_violation(
    client: &async_nats::Client,
    mut errors: tokio::sync::mpsc::UnboundedReceiver<String>,
) -> bool {
    client.flush().await.unwrap();
    client.flush().await.unwrap();
    tokio::time::sleep(Duration::from_millis(200)).await;
    !errors
        .try_recv()
        .is_ok_and(|e| e.contains("Permissions Violation"))
}
