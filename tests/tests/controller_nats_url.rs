//! NAuth's deprecated NATS_URL mode against the real controller, kube-apiserver and nats-server
//! (issue 12): `NATS_URL` plus the Secrets labelled `nauth.io/secret-type: operator-sign` and
//! `system-account-user-creds` in the controller's namespace serve the Accounts without
//! `spec.natsClusterRef`, and the migration NAuth recommends keeps account IDs, JWTs and creds
//! at every step: `NATS_URL` → a NatsCluster named by `NATS_CLUSTER_REF` → `spec.natsClusterRef`.

use std::collections::BTreeMap;

use k8s_openapi::ByteString;
use k8s_openapi::api::core::v1::{ConfigMap, Secret};
use kube::api::{Api, DeleteParams, PostParams};
use kube::{Client, ResourceExt};
use nauth_render::api::{Account, NatsCluster, User};
use nauth_tests::cluster::{client, fresh_namespace};
use nauth_tests::controller::{
    Controller, apply, condition, creds, may_publish, ready, resource, seeds_in, user, wait_for,
};
use nauth_tests::testenv;
use serde_json::{Value, json};

/// Creates a Secret `name` in `ns` labelled `nauth.io/secret-type: kind`, with `value` under
/// `default`.
async fn labelled_secret(client: &Client, ns: &str, name: &str, kind: &str, value: &str) {
    let s: Secret = serde_json::from_value(json!({
        "metadata": {"name": name, "labels": {"nauth.io/secret-type": kind}},
        "stringData": {"default": value},
    }))
    .unwrap();
    Api::<Secret>::namespaced(client.clone(), ns)
        .create(&PostParams::default(), &s)
        .await
        .unwrap();
}

/// The testenv operator's signing seed and system user creds, as NAuth's NATS_URL mode finds
/// them: `op-sign` and `sys-creds` in `ns`, labelled.
async fn legacy_secrets(client: &Client, ns: &str) {
    let read = |var| std::fs::read_to_string(testenv::var(var)).unwrap();
    let seed = read("NATS_OPERATOR_SIGNING_SEED");
    labelled_secret(client, ns, "op-sign", "operator-sign", seed.trim()).await;
    let creds = read("NATS_SYSTEM_CREDS");
    labelled_secret(client, ns, "sys-creds", "system-account-user-creds", &creds).await;
}

/// An Account without `spec.natsClusterRef`.
fn account_without_ref(ns: &str) -> Value {
    resource("Account", ns, "a", json!({"accountLimits": {"conn": 10}}))
}

/// What must not change across the migration: the account ID, its JWT and the user's creds
/// Secret data.
async fn identity(client: &Client, ns: &str) -> (String, String, BTreeMap<String, ByteString>) {
    let a = Api::<Account>::namespaced(client.clone(), ns)
        .get("a")
        .await
        .unwrap();
    let jwt = Api::<ConfigMap>::namespaced(client.clone(), ns)
        .get("a-nats-account-jwt")
        .await
        .unwrap()
        .data
        .unwrap()["account.jwt"]
        .clone();
    let creds = Api::<Secret>::namespaced(client.clone(), ns)
        .get("u-nats-user-creds")
        .await
        .unwrap()
        .data
        .unwrap();
    (a.labels()["account.nauth.io/id"].clone(), jwt, creds)
}

/// `Ok` when the Account is Ready and its condition message says whether it is served through
/// the NATS_URL mode.
fn ready_saying(a: &Account, nats_url_mode: bool) -> Result<(), String> {
    ready(a)?;
    let (_, _, message) = condition(a, "Ready").unwrap_or_default();
    if message.contains("deprecated NATS_URL mode") == nats_url_mode {
        Ok(())
    } else {
        Err(format!("Ready message {message:?}"))
    }
}

#[tokio::test]
#[ignore = "needs tests/testenv.sh"]
async fn nats_url_mode_then_nats_cluster_ref_then_spec_ref_keep_ids_jwts_and_creds() {
    let client = client().await;
    nauth_tests::cluster::install_crds().await;
    let ns = fresh_namespace(&client, "ctl-nats-url").await;
    legacy_secrets(&client, &ns).await;
    let accounts: Api<Account> = Api::namespaced(client.clone(), &ns);
    let users: Api<User> = Api::namespaced(client.clone(), &ns);

    // 1. NAuth before v0.7: NATS_URL and the labelled Secrets.
    let url = testenv::var("NATS_URL");
    let mut controller = Controller::start(&ns, &[("NATS_URL", url.as_str())]).await;
    apply(&client, &ns, account_without_ref(&ns)).await;
    apply(&client, &ns, user(&ns, "u", json!({"accountName": "a"}))).await;
    let a = wait_for(&accounts, "a", |a| ready_saying(a, true)).await;
    let (_, _, message) = condition(&a, "Ready").unwrap();
    assert!(message.contains("NATS_CLUSTER_REF"), "{message}");
    assert_eq!(a.labels()["account.nauth.io/nats-cluster-id"], "");
    wait_for(&users, "u", ready).await;
    let first = identity(&client, &ns).await;
    let user_creds = creds(&client, &ns, "u").await;
    assert!(may_publish(&user_creds, "anything").await);
    let mut logs = controller.logs();
    assert_eq!(
        logs.matches("deprecated NATS_URL mode").count(),
        1,
        "one deprecation warning, at start: {logs}"
    );
    controller.stop();

    // 2. A NatsCluster referencing the same Secrets, named by NATS_CLUSTER_REF; no NATS_URL.
    apply(
        &client,
        &ns,
        resource(
            "NatsCluster",
            &ns,
            "nats",
            json!({
                "url": url,
                "operatorSigningKeySecretRef": {"name": "op-sign", "key": "default"},
                "systemAccountUserCredsSecretRef": {"name": "sys-creds", "key": "default"},
            }),
        ),
    )
    .await;
    let reference = format!("{ns}/nats");
    let mut controller = Controller::start(&ns, &[("NATS_CLUSTER_REF", reference.as_str())]).await;
    let clusters: Api<NatsCluster> = Api::namespaced(client.clone(), &ns);
    let uid = wait_for(&clusters, "nats", ready).await.uid().unwrap();
    let a = wait_for(&accounts, "a", |a| ready_saying(a, false)).await;
    assert_eq!(a.labels()["account.nauth.io/nats-cluster-id"], uid);
    wait_for(&users, "u", ready).await;
    assert_eq!(identity(&client, &ns).await, first);
    assert!(may_publish(&creds(&client, &ns, "u").await, "anything").await);
    logs.push_str(&controller.logs());
    controller.stop();

    // 3. The Account names its NatsCluster; the controller needs no NATS_CLUSTER_REF.
    let mut named = account_without_ref(&ns);
    named["spec"]["natsClusterRef"] = json!({"name": "nats"});
    apply(&client, &ns, named).await;
    let controller = Controller::start(&ns, &[]).await;
    wait_for(&accounts, "a", |a| {
        ready_saying(a, false)?;
        match a
            .status
            .as_ref()
            .and_then(|s| s.reconcile.observed_generation)
        {
            Some(2) => Ok(()),
            g => Err(format!("observed generation {g:?}")),
        }
    })
    .await;
    wait_for(&users, "u", ready).await;
    assert_eq!(identity(&client, &ns).await, first);
    assert!(may_publish(&creds(&client, &ns, "u").await, "anything").await);
    logs.push_str(&controller.logs());
    assert_eq!(seeds_in(&logs), Vec::<String>::new());
}

#[tokio::test]
#[ignore = "needs tests/testenv.sh"]
async fn nats_url_mode_needs_exactly_one_secret_of_each_kind() {
    let client = client().await;
    nauth_tests::cluster::install_crds().await;
    let ns = fresh_namespace(&client, "ctl-nats-url-bad").await;
    legacy_secrets(&client, &ns).await;
    let creds = std::fs::read_to_string(testenv::var("NATS_SYSTEM_CREDS")).unwrap();
    let second_creds = async || {
        labelled_secret(
            &client,
            &ns,
            "old-creds",
            "system-account-user-creds",
            &creds,
        )
        .await
    };
    second_creds().await;
    let url = testenv::var("NATS_URL");
    let controller = Controller::start(&ns, &[("NATS_URL", url.as_str())]).await;
    apply(&client, &ns, account_without_ref(&ns)).await;
    let accounts: Api<Account> = Api::namespaced(client.clone(), &ns);
    let wanted = format!(
        "2 Secrets labelled nauth.io/secret-type=system-account-user-creds in namespace {ns} \
         ({ns}/old-creds, {ns}/sys-creds)"
    );
    let refused = |a: &Account| match condition(a, "Ready") {
        Some((s, _, m)) if s == "False" && m.contains(&wanted) => Ok(()),
        other => Err(format!("Ready is {other:?}")),
    };
    wait_for(&accounts, "a", refused).await;
    // One of each again: the Account recovers.
    Api::<Secret>::namespaced(client.clone(), &ns)
        .delete("old-creds", &DeleteParams::default())
        .await
        .unwrap();
    wait_for(&accounts, "a", |a| ready_saying(a, true)).await;
    // A second one again, added to a Ready Account: the Secret watch re-renders it at once (the
    // resync is 300 s, longer than the wait).
    second_creds().await;
    wait_for(&accounts, "a", refused).await;
    assert_eq!(seeds_in(&controller.logs()), Vec::<String>::new());
}
