//! Operations (issue 10 §2) against the real controller binary and servers: JSON logs, the
//! health probes, Prometheus metrics and leader election.

use std::net::SocketAddr;
use std::time::Duration;

use k8s_openapi::api::coordination::v1::Lease;
use kube::api::Api;
use nauth_render::api::{Account, User};
use nauth_tests::cluster::{client, fresh_namespace};
use nauth_tests::controller::{
    CLUSTER, Controller, SETTLE, account, apply, http_get, nats_cluster, ready, seeds_in, setup,
    user, wait_for,
};
use nauth_tests::nats_servers;
use serde_json::{Value, json};

/// Waits until `GET path` answers `code`, then returns the body; panics after [`SETTLE`].
async fn wait_for_http(address: SocketAddr, path: &str, code: u16) -> String {
    let deadline = tokio::time::Instant::now() + SETTLE;
    loop {
        let (got, body) = http_get(address, path).await;
        if got == code {
            return body;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "GET {path} still answers {got} after {SETTLE:?}, not {code}: {body}"
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

/// The value of the sample `name{labels}` in Prometheus text, if present.
fn sample(metrics: &str, series: &str) -> Option<f64> {
    metrics
        .lines()
        .find_map(|l| l.strip_prefix(series)?.trim().parse().ok())
}

#[tokio::test]
#[ignore = "needs tests/testenv.sh"]
async fn probes_answer_and_metrics_count_reconciles_and_pushes() {
    let client = client().await;
    let ns = fresh_namespace(&client, "ctl-ops-http").await;
    setup(&client, &ns).await;
    // The Account's cluster is a server of its own, so the test can stop it.
    let mut servers = nats_servers::start("ops-http", 1);
    apply(&client, &ns, nats_cluster(&ns, CLUSTER, &servers[0].url)).await;
    let controller =
        Controller::start_with(&ns, &["--metrics-bind-address", "127.0.0.1:0"], &[]).await;
    let probes = controller.address("/healthz and /readyz").await;
    let metrics = controller.address("/metrics").await;
    assert_ne!(probes, metrics);

    assert_eq!(http_get(probes, "/healthz").await, (200, "ok\n".into()));
    wait_for_http(probes, "/readyz", 200).await;
    // Each endpoint on its own address only.
    assert_eq!(http_get(probes, "/metrics").await.0, 404);
    assert_eq!(http_get(metrics, "/readyz").await.0, 404);

    apply(&client, &ns, account(&ns, "acc", json!({}))).await;
    wait_for(
        &Api::<Account>::namespaced(client.clone(), &ns),
        "acc",
        ready,
    )
    .await;
    let text = wait_for_http(metrics, "/metrics", 200).await;
    let reconciles = sample(
        &text,
        r#"nauth_reconciles_total{kind="Account",result="success"}"#,
    );
    assert!(reconciles >= Some(1.0), "{text}");
    let pushed = format!(
        r#"nauth_pushes_total{{server="{}",result="accepted"}}"#,
        servers[0].name
    );
    assert!(sample(&text, &pushed) >= Some(1.0), "{text}");
    let revocations = r#"nauth_account_revocations{namespace=""#.to_string() + &ns;
    assert!(text.contains(&revocations), "{text}");
    assert!(
        text.contains("# TYPE nauth_drift_repairs counter"),
        "{text}"
    );

    // The NATS connection in use goes down: not ready, naming the cluster; alive still.
    servers[0].kill();
    let why = wait_for_http(probes, "/readyz", 503).await;
    assert!(why.contains(&format!("{ns}/{CLUSTER}")), "{why}");
    assert_eq!(http_get(probes, "/healthz").await.0, 200);
}

#[tokio::test]
#[ignore = "needs tests/testenv.sh"]
async fn log_format_json_writes_one_json_object_per_line_and_no_seed() {
    let client = client().await;
    let ns = fresh_namespace(&client, "ctl-ops-json").await;
    setup(&client, &ns).await;
    let mut controller = Controller::start_with(&ns, &["--log-format", "json"], &[]).await;
    apply(&client, &ns, account(&ns, "acc", json!({}))).await;
    apply(&client, &ns, user(&ns, "u", json!({"accountName": "acc"}))).await;
    wait_for(
        &Api::<Account>::namespaced(client.clone(), &ns),
        "acc",
        ready,
    )
    .await;
    wait_for(&Api::<User>::namespaced(client.clone(), &ns), "u", ready).await;
    assert!(controller.terminate().success());

    let logs = controller.logs();
    let lines: Vec<&str> = logs.lines().collect();
    assert!(lines.len() >= 2, "too few log lines:\n{logs}");
    for line in &lines {
        let entry: Value = serde_json::from_str(line)
            .unwrap_or_else(|e| panic!("not a JSON object ({e}): {line}"));
        assert!(entry["level"].is_string(), "no level: {line}");
        assert!(entry["message"].is_string(), "no message: {line}");
    }
    assert!(
        logs.contains(r#""message":"nauth-apply started""#),
        "{logs}"
    );
    assert_eq!(seeds_in(&logs), Vec::<String>::new());
}

/// Waits until the controller has logged `message`; panics after [`SETTLE`].
async fn wait_for_log(controller: &Controller, message: &str) {
    let deadline = tokio::time::Instant::now() + SETTLE;
    while !controller.logs().contains(message) {
        assert!(
            tokio::time::Instant::now() < deadline,
            "no {message:?} after {SETTLE:?}; logs:\n{}",
            controller.logs()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test]
#[ignore = "needs tests/testenv.sh"]
async fn with_leader_election_one_replica_reconciles_and_the_other_takes_over_on_sigterm() {
    let client = client().await;
    let ns = fresh_namespace(&client, "ctl-ops-leader").await;
    setup(&client, &ns).await;
    let args = ["--leader-elect", "--leader-election-namespace", &ns];
    let mut first = Controller::start_with(&ns, &args, &[]).await;
    wait_for_log(&first, "became the leader").await;
    let second = Controller::start_with(&ns, &args, &[]).await;
    wait_for_log(&second, "waiting for the leader Lease").await;
    // The standby is ready (a rolling update must not wait for it) but runs no controller.
    let standby_probes = second.address("/healthz and /readyz").await;
    wait_for_http(standby_probes, "/readyz", 200).await;

    let accounts: Api<Account> = Api::namespaced(client.clone(), &ns);
    apply(&client, &ns, account(&ns, "before", json!({}))).await;
    wait_for(&accounts, "before", ready).await;
    assert!(first.logs().contains("nauth-apply started"));
    assert!(
        !second.logs().contains("nauth-apply started"),
        "{}",
        second.logs()
    );

    let leases: Api<Lease> = Api::namespaced(client.clone(), &ns);
    let held = leases.get("949483fb.nauth.io").await.unwrap().spec.unwrap();
    let first_holder = held.holder_identity.clone().unwrap();
    let renewed = held.renew_time.unwrap().0;
    assert!(first.terminate().success(), "{}", first.logs());
    assert!(first.logs().contains("released the leader Lease"));
    wait_for_log(&second, "became the leader").await;

    let taken = leases.get("949483fb.nauth.io").await.unwrap().spec.unwrap();
    assert_ne!(taken.holder_identity.unwrap(), first_holder);
    assert_eq!(
        taken.lease_transitions,
        Some(held.lease_transitions.unwrap() + 1)
    );
    // Released, not expired: taken before the first holder's Lease would have run out.
    let expiry = renewed + k8s_openapi::jiff::SignedDuration::from_secs(15);
    assert!(taken.acquire_time.unwrap().0 < expiry);

    apply(&client, &ns, account(&ns, "after", json!({}))).await;
    wait_for(&accounts, "after", ready).await;
}
