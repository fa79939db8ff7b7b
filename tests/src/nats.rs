//! The test environment's nats-server: rendering with its operator, pushing account JWTs to its
//! resolver, connecting as rendered users.

use std::collections::BTreeMap;
use std::time::Duration;

use async_nats::{ConnectOptions, Event, ServerError};
use nauth_render::diagnostic::Diagnostic;
use nauth_render::input::{Contents, Inputs};
use nauth_render::keys::{KeySources, SeedRoot};
use nauth_render::lock::Lock;
use nauth_render::render::{Options, Rendered, render};
use tokio::sync::mpsc;

use crate::testenv;

/// Renders `files` (name, YAML) with keys derived from `seed_root`, signed by the test
/// environment's operator: its signing key is added as the Secret `nats/operator-signing-key`,
/// the one the quickstart's NatsCluster names. Input problems panic; render errors come back.
pub fn render_with_operator(
    files: &[(&str, String)],
    seed_root: &[u8],
) -> Result<Rendered, Vec<Diagnostic>> {
    render_locked(files, "nats", Some(seed_root), &Lock::new(), 1_764_288_000)
}

/// Renders `files` as [`render_with_operator`] does, with the operator signing key Secret in
/// `operator_namespace`, from `lock` at `epoch`: one step of a tree that changes over time.
/// Without a seed root, the keys are the Secrets among `files`.
pub fn render_locked(
    files: &[(&str, String)],
    operator_namespace: &str,
    seed_root: Option<&[u8]>,
    lock: &Lock,
    epoch: i64,
) -> Result<Rendered, Vec<Diagnostic>> {
    let seed = std::fs::read_to_string(testenv::var("NATS_OPERATOR_SIGNING_SEED")).unwrap();
    let operator = format!(
        "apiVersion: v1\nkind: Secret\nmetadata: {{name: operator-signing-key, namespace: \
         {operator_namespace}}}\nstringData: {{default: {}}}\n",
        seed.trim()
    );
    let mut inputs = Inputs::default();
    for (name, text) in files.iter().chain([&("operator.yaml", operator)]) {
        let problems = inputs.add_yaml(name, text, Contents::Everything);
        assert!(problems.is_empty(), "{name}: {problems:?}\n{text}");
    }
    let root = seed_root.map(|r| SeedRoot::new(r).unwrap());
    let keys = KeySources {
        secrets: &inputs.secrets,
        seed_root: root.as_ref(),
    };
    render(&inputs, keys, lock, epoch, &Options::default())
}

/// The creds of the User `namespace/name`.
pub fn creds(rendered: &Rendered, user: &str) -> String {
    let found = rendered
        .users
        .iter()
        .find(|u| format!("{}/{}", u.namespace, u.name) == user);
    found
        .unwrap_or_else(|| panic!("no User {user}"))
        .creds
        .clone()
}

/// Connects with `creds`; the server's error texts (permission violations) arrive on the
/// receiver.
pub async fn connect(
    creds: &str,
    request_timeout: Duration,
) -> (async_nats::Client, mpsc::UnboundedReceiver<String>) {
    let (tx, rx) = mpsc::unbounded_channel();
    let client = ConnectOptions::with_credentials(creds)
        .unwrap()
        .max_reconnects(1)
        .request_timeout(Some(request_timeout))
        .event_callback(move |event| {
            let tx = tx.clone();
            async move {
                if let Event::ServerError(ServerError::Other(message)) = event {
                    let _ = tx.send(message);
                }
            }
        })
        .connect(testenv::var("NATS_URL"))
        .await
        .unwrap();
    (client, rx)
}

/// Pushes every rendered account JWT to the resolver (`$SYS.REQ.CLAIMS.UPDATE`, as the system
/// user), in the render's order; returns each reply's `data` by account name.
pub async fn push_accounts(rendered: &Rendered) -> BTreeMap<String, serde_json::Value> {
    let creds = std::fs::read_to_string(testenv::var("NATS_SYSTEM_CREDS")).unwrap();
    let (system, _) = connect(&creds, Duration::from_secs(5)).await;
    let mut replies = BTreeMap::new();
    for account in &rendered.accounts {
        let reply = system
            .request("$SYS.REQ.CLAIMS.UPDATE", account.jwt.clone().into())
            .await
            .unwrap();
        let body: serde_json::Value = serde_json::from_slice(&reply.payload).unwrap();
        replies.insert(account.name.clone(), body["data"].clone());
    }
    replies
}

/// The account JWT the resolver holds for `id` (`$SYS.REQ.ACCOUNT.<id>.CLAIMS.LOOKUP`, as the
/// system user); empty when it holds none.
pub async fn lookup_account(id: &str) -> String {
    let creds = std::fs::read_to_string(testenv::var("NATS_SYSTEM_CREDS")).unwrap();
    let (system, _) = connect(&creds, Duration::from_secs(5)).await;
    let reply = system
        .request(format!("$SYS.REQ.ACCOUNT.{id}.CLAIMS.LOOKUP"), "".into())
        .await
        .unwrap();
    String::from_utf8(reply.payload.to_vec()).unwrap()
}

/// Waits until the server holds every one of `subjects` as a subscription of `client`, asking
/// its CONNZ as the system user. async-nats's `flush` only writes to the socket, so without this
/// a publish from another connection can reach the server before the SUB and be lost.
pub async fn subscribed(client: &async_nats::Client, subjects: &[&str]) {
    let creds = std::fs::read_to_string(testenv::var("NATS_SYSTEM_CREDS")).unwrap();
    let (system, _) = connect(&creds, Duration::from_secs(5)).await;
    let info = client.server_info();
    let subject = format!("$SYS.REQ.SERVER.{}.CONNZ", info.server_id);
    let options = serde_json::json!({"cid": info.client_id, "subscriptions": true});
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        let reply = system
            .request(subject.clone(), options.to_string().into())
            .await
            .unwrap();
        let body: serde_json::Value = serde_json::from_slice(&reply.payload).unwrap();
        let held = &body["data"]["connections"][0]["subscriptions_list"];
        let held: Vec<&str> = (held.as_array().into_iter().flatten())
            .filter_map(|s| s.as_str())
            .collect();
        if subjects.iter().all(|s| held.contains(s)) {
            return;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the server still lacks subscriptions {subjects:?} of client {} after 10 s: {held:?}",
            info.client_id
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// The next message of `subscription`; panics saying `what` did not arrive within 5 s.
pub async fn next(subscription: &mut async_nats::Subscriber, what: &str) -> async_nats::Message {
    use futures_util::StreamExt;
    tokio::time::timeout(Duration::from_secs(5), subscription.next())
        .await
        .unwrap_or_else(|_| panic!("{what}: nothing arrived within 5 s"))
        .unwrap_or_else(|| panic!("{what}: the subscription ended"))
}
