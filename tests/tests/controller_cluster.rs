//! NAuth's cluster-ref-test and natscluster-deletion-bound-account scenarios against the real
//! controller: a NatsCluster in its own namespace (URL from a ConfigMap, custom Secret keys)
//! named by `NATS_CLUSTER_REF`, and a NatsCluster's deletion waiting for its Accounts.

use std::time::Duration;

use k8s_openapi::api::core::v1::{ConfigMap, Secret};
use kube::ResourceExt;
use kube::api::{Api, DeleteParams, PostParams};
use nauth_render::api::{Account, NatsCluster, User};
use nauth_tests::cluster::{client, fresh_namespace};
use nauth_tests::controller::{
    CLUSTER, Controller, SETTLE, account, apply, condition, has_condition, ready, resource, setup,
    user, wait_for, wait_not_ready,
};
use nauth_tests::testenv;
use serde_json::json;

#[tokio::test]
#[ignore = "needs tests/testenv.sh"]
async fn cluster_ref_from_the_environment_with_url_from_a_config_map_and_custom_keys() {
    let client = client().await;
    nauth_tests::cluster::install_crds().await;
    let cluster_ns = fresh_namespace(&client, "ctl-cluster").await;
    let ns = fresh_namespace(&client, "ctl-cluster-ref").await;
    let read = |var| std::fs::read_to_string(testenv::var(var)).unwrap();
    let secrets: Api<Secret> = Api::namespaced(client.clone(), &cluster_ns);
    for (name, key, value) in [
        (
            "op",
            "seed",
            read("NATS_OPERATOR_SIGNING_SEED").trim().to_string(),
        ),
        ("sys", "user.creds", read("NATS_SYSTEM_CREDS")),
    ] {
        let s: Secret =
            serde_json::from_value(json!({"metadata": {"name": name}, "stringData": {key: value}}))
                .unwrap();
        secrets.create(&PostParams::default(), &s).await.unwrap();
    }
    let cm: ConfigMap = serde_json::from_value(json!({"metadata": {"name": "nats-url"},
        "data": {"url": testenv::var("NATS_URL")}}))
    .unwrap();
    Api::<ConfigMap>::namespaced(client.clone(), &cluster_ns)
        .create(&PostParams::default(), &cm)
        .await
        .unwrap();
    apply(
        &client,
        &cluster_ns,
        resource(
            "NatsCluster",
            &cluster_ns,
            "nats",
            json!({
                "urlFrom": {"kind": "ConfigMap", "name": "nats-url", "key": "url"},
                "operatorSigningKeySecretRef": {"name": "op", "key": "seed"},
                "systemAccountUserCredsSecretRef": {"name": "sys", "key": "user.creds"},
            }),
        ),
    )
    .await;
    let reference = format!("{cluster_ns}/nats");
    let env = [("NATS_CLUSTER_REF", reference.as_str())];
    let _cluster_controller = Controller::start(&cluster_ns, &env).await;
    let _controller = Controller::start(&ns, &env).await;
    let clusters: Api<NatsCluster> = Api::namespaced(client.clone(), &cluster_ns);
    let c = wait_for(&clusters, "nats", ready).await;
    let mut no_ref = account(&ns, "a", json!({}));
    no_ref["spec"] = json!({});
    apply(&client, &ns, no_ref).await;
    apply(&client, &ns, user(&ns, "u", json!({"accountName": "a"}))).await;
    let a = wait_for(&Api::<Account>::namespaced(client.clone(), &ns), "a", ready).await;
    assert_eq!(
        a.labels()["account.nauth.io/nats-cluster-id"],
        c.uid().unwrap()
    );
    wait_for(&Api::<User>::namespaced(client.clone(), &ns), "u", ready).await;
    let creds = Api::<Secret>::namespaced(client.clone(), &ns)
        .get("u-nats-user-creds")
        .await
        .unwrap();
    assert_eq!(creds.labels()["nauth.io/secret-type"], "user-creds");

    // Strict NATS_CLUSTER_REF: an Account naming another cluster is refused.
    apply(&client, &ns, account(&ns, "other", json!({}))).await;
    let other = wait_for(
        &Api::<Account>::namespaced(client.clone(), &ns),
        "other",
        |a| has_condition(a, "Ready", "False", "Errored"),
    )
    .await;
    let (_, _, message) = condition(&other, "Ready").unwrap();
    assert!(
        message.contains("does not match required operator cluster"),
        "{message}"
    );
}

#[tokio::test]
#[ignore = "needs tests/testenv.sh"]
async fn natscluster_deletion_waits_for_its_bound_account() {
    let client = client().await;
    let ns = fresh_namespace(&client, "ctl-cluster-delete").await;
    setup(&client, &ns).await;
    let _controller = Controller::start(&ns, &[]).await;
    let clusters: Api<NatsCluster> = Api::namespaced(client.clone(), &ns);
    let accounts: Api<Account> = Api::namespaced(client.clone(), &ns);
    wait_for(&clusters, CLUSTER, ready).await;
    apply(&client, &ns, account(&ns, "a", json!({}))).await;
    wait_for(&accounts, "a", ready).await;
    clusters
        .delete(CLUSTER, &DeleteParams::default())
        .await
        .unwrap();
    let (blocked, message) = wait_not_ready(&clusters, CLUSTER, "Errored").await;
    assert_eq!(message, "delete blocked, found 1 account bindings");
    assert_eq!(blocked.finalizers(), ["natscluster.nauth.io/finalizer"]);
    accounts
        .delete("a", &DeleteParams::default())
        .await
        .unwrap();
    let deadline = tokio::time::Instant::now() + SETTLE;
    while clusters.get_opt(CLUSTER).await.unwrap().is_some() {
        assert!(
            tokio::time::Instant::now() < deadline,
            "NatsCluster still there"
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

#[tokio::test]
#[ignore = "needs tests/testenv.sh"]
async fn a_natscluster_whose_operator_key_is_not_an_operator_key_is_not_ready() {
    let client = client().await;
    let ns = fresh_namespace(&client, "ctl-cluster-badkey").await;
    setup(&client, &ns).await;
    // A user seed where the operator signing seed belongs.
    let secrets: Api<Secret> = Api::namespaced(client.clone(), &ns);
    let wrong: Secret = serde_json::from_value(json!({
        "metadata": {"name": "wrong-key", "namespace": ns},
        "stringData": {"default": nkeys::KeyPair::new_user().seed().unwrap()},
    }))
    .unwrap();
    secrets
        .create(&PostParams::default(), &wrong)
        .await
        .unwrap();
    apply(
        &client,
        &ns,
        resource(
            "NatsCluster",
            &ns,
            "wrong",
            json!({
                "url": testenv::var("NATS_URL"),
                "operatorSigningKeySecretRef": {"name": "wrong-key"},
                "systemAccountUserCredsSecretRef": {"name": "system-creds"},
            }),
        ),
    )
    .await;
    let _controller = Controller::start(&ns, &[]).await;
    let clusters: Api<NatsCluster> = Api::namespaced(client.clone(), &ns);
    wait_for(&clusters, CLUSTER, ready).await;
    let (_, message) = wait_not_ready(&clusters, "wrong", "Errored").await;
    assert!(
        message.contains("spec.operatorSigningKeySecretRef"),
        "{message}"
    );
}
