//! Revocation by the controller, against the real kube-apiserver and nats-server: a spec change
//! re-issues a User's creds and the old ones are refused while the new ones connect; a deleted
//! User's creds are refused once it is gone; an Account annotated
//! `nauth.io/revoke-on-reissue: "false"` keeps a re-issued user's old creds working; a re-issued
//! User is Ready only once NATS refuses its old creds. Revocations
//! survive a deleted JWT ConfigMap; a User deleted while other Users hold its Account's deletion,
//! or moved to another Account, is revoked at once.

use std::collections::BTreeMap;
use std::time::Duration;

use k8s_openapi::api::core::v1::ConfigMap;
use kube::api::{Api, DeleteParams};
use nauth_render::api::{Account, User};
use nauth_tests::cluster::{client, fresh_namespace};
use nauth_tests::controller::{
    CLUSTER, Controller, SETTLE, account, apply, connects, creds, may_publish, nats_cluster, ready,
    ready_at, setup, user, wait_for, wait_gone, wait_not_ready,
};
use serde_json::{Value, json};

/// Waits until nats-server refuses `creds` (the account JWT revoking them reaches it after the
/// account is reconciled); panics after [`SETTLE`].
async fn wait_refused(creds: &str) {
    let deadline = tokio::time::Instant::now() + SETTLE;
    while connects(creds).await {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the old creds still connect after {SETTLE:?}"
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

fn app_user(ns: &str, allow: &[&str]) -> Value {
    user(
        ns,
        "u",
        json!({"accountName": "a", "permissions": {"pub": {"allow": allow}}}),
    )
}

/// The public key and `iat` of the JWT in `creds`.
fn key_and_iat(creds: &str) -> (String, i64) {
    let (jwt, key) = nauth_jwt::creds::parse_creds(creds).unwrap();
    let decoded = nauth_jwt::decode(&jwt).unwrap();
    (key.public_key(), decoded.claims.data().iat)
}

/// A JSON annotation of Account `a`'s JWT ConfigMap.
fn annotation<T: serde::de::DeserializeOwned + Default>(cm: &ConfigMap, name: &str) -> T {
    let notes = cm.metadata.annotations.clone().unwrap_or_default();
    (notes.get(name))
        .map(|text| serde_json::from_str(text).unwrap())
        .unwrap_or_default()
}

/// Starts a controller on a fresh namespace holding Account `a` (`annotations` on it) and User
/// `u`, and waits until both are ready; returns what the test needs and the first creds.
async fn scene(prefix: &str, annotations: Value) -> (kube::Client, String, Controller, String) {
    let client = client().await;
    let ns = fresh_namespace(&client, prefix).await;
    setup(&client, &ns).await;
    let mut a = account(&ns, "a", json!({}));
    a["metadata"]["annotations"] = annotations;
    apply(&client, &ns, a).await;
    apply(&client, &ns, app_user(&ns, &["foo.>"])).await;
    let controller = Controller::start(&ns, &[]).await;
    wait_for(&Api::<Account>::namespaced(client.clone(), &ns), "a", ready).await;
    wait_for(&Api::<User>::namespaced(client.clone(), &ns), "u", ready).await;
    let first = creds(&client, &ns, "u").await;
    assert!(connects(&first).await);
    (client, ns, controller, first)
}

/// Changes User `u`'s permissions and waits for its new creds.
async fn reissue(client: &kube::Client, ns: &str, first: &str) -> String {
    apply(client, ns, app_user(ns, &["foo.>", "bar"])).await;
    let users = Api::<User>::namespaced(client.clone(), ns);
    wait_for(&users, "u", |u| ready_at(u, 2)).await;
    let second = creds(client, ns, "u").await;
    assert_ne!(second, first);
    second
}

#[tokio::test]
#[ignore = "needs tests/testenv.sh"]
async fn a_reissued_users_old_creds_are_refused_and_a_deleted_users_creds_too() {
    let (client, ns, _controller, first) = scene("ctl-revoke", json!({})).await;
    let second = reissue(&client, &ns, &first).await;
    let (key, first_iat) = key_and_iat(&first);
    let (second_key, second_iat) = key_and_iat(&second);
    assert_eq!(second_key, key, "a re-issue keeps the key");
    assert!(second_iat > first_iat);

    wait_refused(&first).await;
    assert!(connects(&second).await);
    assert!(may_publish(&second, "bar").await);
    let maps = Api::<ConfigMap>::namespaced(client.clone(), &ns);
    let cm = maps.get("a-nats-account-jwt").await.unwrap();
    let revoked: BTreeMap<String, i64> = annotation(&cm, "nauth.io/revocations");
    assert_eq!(revoked, BTreeMap::from([(key.clone(), second_iat - 1)]));

    // The User goes only once its Account's JWT in NATS revokes its creds.
    let users = Api::<User>::namespaced(client.clone(), &ns);
    users.delete("u", &DeleteParams::default()).await.unwrap();
    wait_gone(&users, "u").await;
    assert!(
        !connects(&second).await,
        "a deleted user's creds are refused"
    );
    let cm = maps.get("a-nats-account-jwt").await.unwrap();
    let revoked: BTreeMap<String, i64> = annotation(&cm, "nauth.io/revocations");
    assert_eq!(revoked, BTreeMap::from([(key, second_iat)]));
    let members: BTreeMap<String, Value> = annotation(&cm, "nauth.io/users");
    assert!(members.is_empty(), "{members:?}");
}

/// [`scene`] and a second Account `b`, Ready, for `u` to move to.
async fn scene_with_b(prefix: &str) -> (kube::Client, String, Controller, String) {
    let (client, ns, controller, first) = scene(prefix, json!({})).await;
    apply(&client, &ns, account(&ns, "b", json!({}))).await;
    let accounts = Api::<Account>::namespaced(client.clone(), &ns);
    wait_for(&accounts, "b", ready).await;
    (client, ns, controller, first)
}

/// Points the NatsCluster at a closed port and waits until Account `a` fails: it can push
/// nothing now.
async fn cut_off_nats(client: &kube::Client, ns: &str) {
    apply(client, ns, nats_cluster(ns, CLUSTER, "nats://127.0.0.1:1")).await;
    let accounts = Api::<Account>::namespaced(client.clone(), ns);
    wait_not_ready(&accounts, "a", "Errored").await;
}

/// While User `u` waits, NATS was not told and still takes `first`; then the NatsCluster points
/// at NATS again, and once `u` is Ready for generation 2, NATS refuses `first`.
async fn reconnect_then_refused(client: &kube::Client, ns: &str, first: &str) {
    assert!(
        connects(first).await,
        "NATS was not told: the first creds still work"
    );
    let url = nauth_tests::testenv::var("NATS_URL");
    apply(client, ns, nats_cluster(ns, CLUSTER, &url)).await;
    let users = Api::<User>::namespaced(client.clone(), ns);
    wait_for(&users, "u", |u| ready_at(u, 2)).await;
    assert!(
        !connects(first).await,
        "Ready, yet NATS takes the first creds"
    );
}

#[tokio::test]
#[ignore = "needs tests/testenv.sh"]
async fn a_reissued_user_is_ready_only_once_nats_refuses_its_old_creds() {
    let (client, ns, _controller, first) = scene("ctl-revoke-pending", json!({})).await;
    cut_off_nats(&client, &ns).await;
    apply(&client, &ns, app_user(&ns, &["foo.>", "bar"])).await;
    let users = Api::<User>::namespaced(client.clone(), &ns);
    let (_, message) = wait_not_ready(&users, "u", "NotReady").await;
    assert!(
        message.contains("to revoke the replaced creds"),
        "{message}"
    );
    let second = creds(&client, &ns, "u").await;
    assert_ne!(second, first, "the new creds are written meanwhile");
    reconnect_then_refused(&client, &ns, &first).await;
    assert!(may_publish(&second, "bar").await);
}

#[tokio::test]
#[ignore = "needs tests/testenv.sh"]
async fn a_moved_user_is_ready_only_once_nats_refuses_the_creds_of_its_first_account() {
    let (client, ns, _controller, first) = scene_with_b("ctl-move-pending").await;
    cut_off_nats(&client, &ns).await;
    apply(&client, &ns, user(&ns, "u", json!({"accountName": "b"}))).await;
    let users = Api::<User>::namespaced(client.clone(), &ns);
    let (_, message) = wait_not_ready(&users, "u", "NotReady").await;
    let waits = format!("moved; waiting for Account {ns}/a to revoke");
    assert!(message.starts_with(&waits), "{message}");
    reconnect_then_refused(&client, &ns, &first).await;
    assert!(connects(&creds(&client, &ns, "u").await).await);
}

#[tokio::test]
#[ignore = "needs tests/testenv.sh"]
async fn an_account_annotated_not_to_revoke_on_reissue_keeps_the_old_creds_working() {
    let opt_out = json!({"nauth.io/revoke-on-reissue": "false"});
    let (client, ns, _controller, first) = scene("ctl-revoke-opt-out", opt_out).await;
    let second = reissue(&client, &ns, &first).await;
    let (key, second_iat) = key_and_iat(&second);
    // Once the Account rendered with the re-issued user, it revokes nothing.
    let maps = Api::<ConfigMap>::namespaced(client.clone(), &ns);
    let cm = wait_for(&maps, "a-nats-account-jwt", |cm| {
        let members: BTreeMap<String, Value> = annotation(cm, "nauth.io/users");
        let seen = json!({"publicKey": key, "issuedAt": second_iat});
        match members.get(&format!("{ns}/u")) {
            Some(record) if *record == seen => Ok(()),
            other => Err(format!("the account knows u as {other:?}")),
        }
    })
    .await;
    let revoked: BTreeMap<String, i64> = annotation(&cm, "nauth.io/revocations");
    assert!(revoked.is_empty(), "{revoked:?}");
    assert!(connects(&first).await, "the old creds still connect");
    assert!(connects(&second).await);
}

#[tokio::test]
#[ignore = "needs tests/testenv.sh"]
async fn revocations_survive_a_deleted_jwt_config_map() {
    let (client, ns, _controller, _) = scene("ctl-revoke-lost-cm", json!({})).await;
    // A deleted User's revocation is known only from the Account's record of it.
    apply(&client, &ns, user(&ns, "v", json!({"accountName": "a"}))).await;
    let users = Api::<User>::namespaced(client.clone(), &ns);
    wait_for(&users, "v", ready).await;
    let gone = creds(&client, &ns, "v").await;
    let (key, iat) = key_and_iat(&gone);
    users.delete("v", &DeleteParams::default()).await.unwrap();
    wait_gone(&users, "v").await;
    assert!(!connects(&gone).await);
    let maps = Api::<ConfigMap>::namespaced(client.clone(), &ns);
    let before = maps.get("a-nats-account-jwt").await.unwrap();
    let revoked: BTreeMap<String, i64> = annotation(&before, "nauth.io/revocations");
    assert_eq!(revoked, BTreeMap::from([(key.clone(), iat)]));
    maps.delete("a-nats-account-jwt", &DeleteParams::default())
        .await
        .unwrap();
    // Written again soon (the resync is 300 s), from the JWT NATS holds: the same JWT.
    let again = wait_for(&maps, "a-nats-account-jwt", |cm| {
        match cm.metadata.uid == before.metadata.uid {
            true => Err("not deleted yet".into()),
            false => Ok(()),
        }
    })
    .await;
    assert_eq!(again.data, before.data, "the same JWT and claims");
    let revoked: BTreeMap<String, i64> = annotation(&again, "nauth.io/revocations");
    assert_eq!(revoked, BTreeMap::from([(key, iat)]));
    assert!(
        !connects(&gone).await,
        "the deleted user's creds stay refused"
    );
}

#[tokio::test]
#[ignore = "needs tests/testenv.sh"]
async fn a_user_deleted_while_other_users_hold_its_accounts_deletion_is_revoked() {
    let (client, ns, _controller, first) = scene("ctl-revoke-held", json!({})).await;
    apply(&client, &ns, user(&ns, "v", json!({"accountName": "a"}))).await;
    let users = Api::<User>::namespaced(client.clone(), &ns);
    wait_for(&users, "v", ready).await;
    let other = creds(&client, &ns, "v").await;
    let accounts = Api::<Account>::namespaced(client.clone(), &ns);
    accounts
        .delete("a", &DeleteParams::default())
        .await
        .unwrap();
    wait_for(&accounts, "a", |a| {
        let text = serde_json::to_string(a).unwrap();
        match text.contains("cannot delete an account with associated users") {
            true => Ok(()),
            false => Err("the deletion is not held yet".into()),
        }
    })
    .await;
    users.delete("u", &DeleteParams::default()).await.unwrap();
    wait_gone(&users, "u").await;
    assert!(
        !connects(&first).await,
        "the deleted user's creds are refused while the account stays"
    );
    assert!(connects(&other).await, "the remaining user still connects");
    assert!(accounts.get_opt("a").await.unwrap().is_some());
    // The last User goes: so does the Account, from NATS too.
    users.delete("v", &DeleteParams::default()).await.unwrap();
    wait_gone(&users, "v").await;
    wait_gone(&accounts, "a").await;
    assert!(!connects(&other).await);
}

#[tokio::test]
#[ignore = "needs tests/testenv.sh"]
async fn a_user_moved_to_another_account_is_revoked_by_the_first_at_once() {
    let (client, ns, _controller, first) = scene_with_b("ctl-revoke-moved").await;
    let moved = user(&ns, "u", json!({"accountName": "b"}));
    apply(&client, &ns, moved).await;
    let users = Api::<User>::namespaced(client.clone(), &ns);
    wait_for(&users, "u", |u| ready_at(u, 2)).await;
    let second = creds(&client, &ns, "u").await;
    assert_ne!(second, first);
    // The resync is 300 s: only the moved creds' Secret can have re-rendered Account a.
    wait_refused(&first).await;
    assert!(connects(&second).await);
}
