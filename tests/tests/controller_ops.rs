//! Operations (issue 10 §2) against the real controller binary and servers: JSON logs.

use kube::api::Api;
use nauth_render::api::{Account, User};
use nauth_tests::cluster::{client, fresh_namespace};
use nauth_tests::controller::{Controller, account, apply, ready, seeds_in, setup, user, wait_for};
use serde_json::{Value, json};

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
