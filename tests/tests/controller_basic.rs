//! NAuth's `basic-test`, `account-update` and `account-deletion` e2e scenarios against the real
//! controller binary, kube-apiserver and nats-server: statuses, labels, finalizers and Secrets as
//! NAuth's asserts say, and the rendered user connecting with exactly its permissions. Plus what
//! NAuth does not do: creds byte-identical across a controller restart, a spec change re-issuing
//! them, and no seed in the controller's logs or events.

use k8s_openapi::api::core::v1::Secret;
use k8s_openapi::api::events::v1::Event;
use kube::ResourceExt;
use kube::api::{Api, DeleteParams, ListParams};
use nauth_render::api::{Account, User};
use nauth_tests::cluster::{client, fresh_namespace};
use nauth_tests::controller::{
    CLUSTER, Controller, TIMEOUT, account, apply, connects, creds, has_condition, may_publish,
    ready, ready_at, seeds_in, setup, user, wait_for, wait_gone, wait_not_ready,
};
use nauth_tests::{nats, testenv};
use serde_json::{Value, json};

fn basic_account(ns: &str) -> Value {
    account(
        ns,
        "example-account",
        json!({
            "displayName": "My Example Account",
            "accountLimits": {"conn": 100, "exports": 10, "imports": 10, "leaf": 0, "wildcards": true},
            "jetStreamLimits": {"consumer": 5, "diskMaxStreamBytes": 209715200, "diskStorage": 1073741824,
                "maxAckPending": 5, "maxBytesRequired": true, "memMaxStreamBytes": 209715200,
                "memStorage": 1073741824, "streams": 5},
            "natsLimits": {"data": 1024, "payload": 500, "subs": 100},
            "exports": [{"name": "export-test", "subject": "foo.>", "type": "stream"}],
        }),
    )
}

fn basic_user(ns: &str, pub_allow: &[&str]) -> Value {
    user(
        ns,
        "example-user",
        json!({
            "accountName": "example-account",
            "displayName": "My Example User",
            "natsLimits": {"data": 1000000, "payload": 1000000, "subs": 1000000},
            "permissions": {
                "pub": {"allow": pub_allow, "deny": ["baz"]},
                "resp": {"max": 100, "ttl": 1000000000},
                "sub": {"allow": ["foo.>", "baz.>"], "deny": ["bar"]},
            },
        }),
    )
}

#[tokio::test]
#[ignore = "needs tests/testenv.sh"]
async fn basic_test_account_and_user_creds_connect_and_survive_a_restart() {
    let client = client().await;
    let ns = fresh_namespace(&client, "ctl-basic").await;
    setup(&client, &ns).await;
    apply(&client, &ns, basic_account(&ns)).await;
    apply(&client, &ns, basic_user(&ns, &["foo.>", "bar.>"])).await;
    let mut controller = Controller::start(&ns, &[]).await;

    let accounts: Api<Account> = Api::namespaced(client.clone(), &ns);
    let a = wait_for(&accounts, "example-account", ready).await;
    let id = a.labels()["account.nauth.io/id"].clone();
    assert!(id.starts_with('A'), "{id}");
    let operator_seed =
        std::fs::read_to_string(testenv::var("NATS_OPERATOR_SIGNING_SEED")).unwrap();
    let operator = nkeys::KeyPair::from_seed(operator_seed.trim())
        .unwrap()
        .public_key();
    assert_eq!(a.labels()["account.nauth.io/signed-by"], operator);
    let cluster: Api<nauth_render::api::NatsCluster> = Api::namespaced(client.clone(), &ns);
    let cluster_uid = cluster.get(CLUSTER).await.unwrap().uid().unwrap();
    assert_eq!(a.labels()["account.nauth.io/nats-cluster-id"], cluster_uid);
    assert_eq!(a.finalizers(), ["account.nauth.io/finalizer"]);
    let status = a.status.clone().unwrap();
    let claims = status.claims.unwrap();
    assert_eq!(claims.display_name.as_deref(), Some("My Example Account"));
    assert_eq!(claims.jet_stream_enabled, Some(true));
    assert_eq!(claims.nats_limits.unwrap().subs, Some(100));
    assert_eq!(claims.account_limits.unwrap().conn, Some(100));
    assert_eq!(claims.exports.unwrap()[0].subject.as_deref(), Some("foo.>"));
    assert_eq!(claims.signing_keys.unwrap().len(), 1);
    assert_eq!(status.reconcile.observed_generation, Some(1));
    assert_eq!(status.claims_hash.unwrap().len(), 64);
    // NAuth's key Secrets, found by its labels.
    let secrets: Api<Secret> = Api::namespaced(client.clone(), &ns);
    for kind in ["account-root", "account-sign"] {
        let selector =
            format!("account.nauth.io/id={id},nauth.io/secret-type={kind},nauth.io/managed=true");
        let found = secrets
            .list(&ListParams::default().labels(&selector))
            .await
            .unwrap();
        assert_eq!(found.items.len(), 1, "{kind}");
        assert!(
            found.items[0].name_any().starts_with("example-account-ac-"),
            "{kind}"
        );
    }

    let users: Api<User> = Api::namespaced(client.clone(), &ns);
    let u = wait_for(&users, "example-user", ready).await;
    assert!(u.labels()["user.nauth.io/id"].starts_with('U'));
    assert_eq!(u.labels()["user.nauth.io/account-id"], id);
    let signing_key = a.status.unwrap().claims.unwrap().signing_keys.unwrap()[0]
        .key
        .clone()
        .unwrap();
    assert_eq!(u.labels()["user.nauth.io/signed-by"], signing_key);
    assert_eq!(u.finalizers(), ["user.nauth.io/finalizer"]);
    let user_claims = u.status.clone().unwrap().claims.unwrap();
    assert_eq!(user_claims.display_name.as_deref(), Some("My Example User"));
    let creds_secret = secrets.get("example-user-nats-user-creds").await.unwrap();
    assert_eq!(creds_secret.labels()["nauth.io/secret-type"], "user-creds");
    assert_eq!(creds_secret.labels()["nauth.io/managed"], "true");
    let owner = &creds_secret.owner_references()[0];
    assert_eq!(
        (owner.kind.as_str(), owner.uid.as_str()),
        ("User", u.uid().unwrap().as_str())
    );

    let first = creds(&client, &ns, "example-user").await;
    assert!(may_publish(&first, "foo.1").await);
    assert!(may_publish(&first, "bar.1").await);
    assert!(!may_publish(&first, "baz").await);
    assert!(!may_publish(&first, "other").await);

    // A restart reconciles everything again and re-issues nothing. (A reconcile that changes
    // nothing writes nothing, so the new controller's log is what shows it.)
    let mut logs = controller.logs();
    controller.stop();
    let controller = Controller::start(&ns, &[]).await;
    let deadline = tokio::time::Instant::now() + nauth_tests::controller::SETTLE;
    while !controller
        .logs()
        .contains("reconciled kind=User name=example-user")
    {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the restarted controller did not reconcile the User:\n{}",
            controller.logs()
        );
        tokio::time::sleep(std::time::Duration::from_millis(250)).await;
    }
    assert_eq!(creds(&client, &ns, "example-user").await, first);

    // A spec change re-issues the creds: the new ones connect with the new permissions.
    apply(&client, &ns, basic_user(&ns, &["foo.>", "bar.>", "other"])).await;
    wait_for(&users, "example-user", |u| ready_at(u, 2)).await;
    let second = creds(&client, &ns, "example-user").await;
    assert_ne!(second, first);
    assert!(may_publish(&second, "other").await);
    assert_eq!(
        nauth_jwt::creds::parse_creds(&second)
            .unwrap()
            .1
            .public_key(),
        nauth_jwt::creds::parse_creds(&first)
            .unwrap()
            .1
            .public_key(),
        "the user keeps its key"
    );

    // No seed in the logs or the events.
    logs.push_str(&controller.logs());
    assert!(logs.contains("issued user creds"), "{logs}");
    assert_eq!(seeds_in(&logs), Vec::<String>::new());
    let events: Api<Event> = Api::namespaced(client.clone(), &ns);
    let events =
        serde_json::to_string(&events.list(&ListParams::default()).await.unwrap().items).unwrap();
    assert_eq!(seeds_in(&events), Vec::<String>::new());
}

#[tokio::test]
#[ignore = "needs tests/testenv.sh"]
async fn account_update_keeps_the_account_id() {
    let client = client().await;
    let ns = fresh_namespace(&client, "ctl-update").await;
    setup(&client, &ns).await;
    apply(
        &client,
        &ns,
        account(&ns, "a", json!({"displayName": "one"})),
    )
    .await;
    let _controller = Controller::start(&ns, &[]).await;
    let accounts: Api<Account> = Api::namespaced(client.clone(), &ns);
    let first = wait_for(&accounts, "a", ready).await;
    apply(
        &client,
        &ns,
        account(
            &ns,
            "a",
            json!({"displayName": "two", "natsLimits": {"subs": 7}}),
        ),
    )
    .await;
    let second = wait_for(&accounts, "a", |a| {
        ready(a)?;
        let claims = a
            .status
            .as_ref()
            .and_then(|s| s.claims.clone())
            .unwrap_or_default();
        if claims.display_name.as_deref() == Some("two") {
            Ok(())
        } else {
            Err("old claims".into())
        }
    })
    .await;
    let claims = second.status.as_ref().unwrap().claims.clone().unwrap();
    assert_eq!(claims.nats_limits.unwrap().subs, Some(7));
    assert_eq!(
        first.labels()["account.nauth.io/id"],
        second.labels()["account.nauth.io/id"]
    );
}

#[tokio::test]
#[ignore = "needs tests/testenv.sh"]
async fn an_account_whose_key_creation_was_interrupted_gets_its_signing_key_and_keeps_its_root() {
    // A controller killed between writing an Account's root and signing key Secrets leaves the
    // root alone: the next one adds the signing key under the same ID instead of stalling.
    let client = client().await;
    let ns = fresh_namespace(&client, "ctl-half-keys").await;
    setup(&client, &ns).await;
    let root = nkeys::KeyPair::new_account();
    let id = root.public_key();
    apply(
        &client,
        &ns,
        json!({
            "apiVersion": "v1", "kind": "Secret",
            "metadata": {"name": "a-ac-root-interrupted", "namespace": ns, "labels": {
                "account.nauth.io/id": id, "account.nauth.io/name": "a",
                "nauth.io/secret-type": "account-root", "nauth.io/managed": "true"}},
            "stringData": {"default": root.seed().unwrap()},
        }),
    )
    .await;
    apply(&client, &ns, account(&ns, "a", json!({}))).await;
    let _controller = Controller::start(&ns, &[]).await;
    let accounts: Api<Account> = Api::namespaced(client.clone(), &ns);
    let a = wait_for(&accounts, "a", ready).await;
    assert_eq!(
        a.labels()["account.nauth.io/id"],
        id,
        "the stored root key is the account's ID"
    );
    let secrets: Api<Secret> = Api::namespaced(client.clone(), &ns);
    let sign = secrets
        .list(
            &ListParams::default()
                .labels("nauth.io/secret-type=account-sign,account.nauth.io/name=a"),
        )
        .await
        .unwrap();
    assert_eq!(sign.items.len(), 1, "one signing key Secret was added");
    assert_eq!(sign.items[0].labels()["account.nauth.io/id"], id);
}

#[tokio::test]
#[ignore = "needs tests/testenv.sh"]
async fn account_deletion_waits_for_its_users_then_removes_its_secrets_and_its_nats_account() {
    let AccountWithUser {
        client,
        ns,
        accounts,
        users,
        id,
        _controller,
    } = account_with_user("ctl-delete").await;

    accounts
        .delete("a", &DeleteParams::default())
        .await
        .unwrap();
    let (blocked, message) = wait_not_ready(&accounts, "a", "Errored").await;
    assert_eq!(
        message,
        "cannot delete an account with associated users, found 1 users"
    );
    assert_eq!(blocked.finalizers(), ["account.nauth.io/finalizer"]);
    // A User created meanwhile holds it too, but gets no creds: they would outlive it.
    apply(&client, &ns, user(&ns, "late", json!({"accountName": "a"}))).await;
    let (_, message) = wait_not_ready(&users, "late", "NotReady").await;
    let t = format!("Account {ns}/a is being deleted: no creds are issued for it");
    assert_eq!(message, t);
    let secrets: Api<Secret> = Api::namespaced(client.clone(), &ns);
    assert!(
        secrets
            .get_opt("late-nats-user-creds")
            .await
            .unwrap()
            .is_none()
    );

    users.delete("u", &DeleteParams::default()).await.unwrap();
    wait_gone(&users, "u").await;
    // The Account's reconcile after that deletion (woken by it) still finds `late`.
    tokio::time::sleep(std::time::Duration::from_secs(2)).await;
    let still = accounts.get_opt("a").await.unwrap();
    assert!(still.is_some(), "the Account went while a User named it");
    users
        .delete("late", &DeleteParams::default())
        .await
        .unwrap();
    wait_gone(&accounts, "a").await;
    let left = secrets
        .list(&ListParams::default().labels(&format!("account.nauth.io/id={id}")))
        .await
        .unwrap();
    assert!(
        left.items.is_empty(),
        "{:?}",
        left.items.iter().map(|s| s.name_any()).collect::<Vec<_>>()
    );
    // The resolver no longer holds the account.
    let system = std::fs::read_to_string(testenv::var("NATS_SYSTEM_CREDS")).unwrap();
    let (system, _) = nats::connect(&system, TIMEOUT).await;
    let reply = system
        .request(format!("$SYS.REQ.ACCOUNT.{id}.CLAIMS.LOOKUP"), "".into())
        .await
        .unwrap();
    assert!(
        reply.payload.is_empty(),
        "{:?}",
        String::from_utf8_lossy(&reply.payload)
    );
}

#[tokio::test]
#[ignore = "needs tests/testenv.sh"]
async fn account_deletion_jetstream_waits_for_its_streams() {
    let client = client().await;
    let ns = fresh_namespace(&client, "ctl-delete-js").await;
    setup(&client, &ns).await;
    let limits = json!({"jetStreamLimits": {"memStorage": 1048576, "diskStorage": 1048576, "streams": 5, "consumer": 5}});
    apply(&client, &ns, account(&ns, "a", limits)).await;
    apply(&client, &ns, user(&ns, "u", json!({"accountName": "a"}))).await;
    let _controller = Controller::start(&ns, &[]).await;
    let accounts: Api<Account> = Api::namespaced(client.clone(), &ns);
    let users: Api<User> = Api::namespaced(client.clone(), &ns);
    wait_for(&accounts, "a", ready).await;
    wait_for(&users, "u", ready).await;
    let user_creds = creds(&client, &ns, "u").await;
    let (nc, _) = nats::connect(&user_creds, TIMEOUT).await;
    let js = async_nats::jetstream::new(nc);
    js.create_stream(async_nats::jetstream::stream::Config {
        name: "orders".into(),
        subjects: vec!["orders.>".into()],
        storage: async_nats::jetstream::stream::StorageType::Memory,
        max_bytes: 1024,
        ..Default::default()
    })
    .await
    .unwrap();

    users.delete("u", &DeleteParams::default()).await.unwrap();
    wait_gone(&users, "u").await;
    accounts
        .delete("a", &DeleteParams::default())
        .await
        .unwrap();
    let blocked = wait_for(&accounts, "a", |a| {
        let (_, _, message) = nauth_tests::controller::condition(a, "Ready").unwrap_or_default();
        message.contains("JetStream").then_some(()).ok_or(message)
    })
    .await;
    has_condition(&blocked, "Ready", "False", "Errored").unwrap();
    let (_, _, message) = nauth_tests::controller::condition(&blocked, "Ready").unwrap();
    assert_eq!(
        message,
        "account deletion aborted due to 1 JetStream Stream(s) still exist for account: [orders]"
    );
    // u's creds were revoked with it: the stream goes through a user of the account's root key.
    let id = blocked.labels()["account.nauth.io/id"].clone();
    let js = async_nats::jetstream::new(root_user(&client, &ns, &id).await);
    js.delete_stream("orders").await.unwrap();
    wait_gone(&accounts, "a").await;
}

/// A connection as a new user of account `id`, signed with its root key (read from its Secret).
async fn root_user(client: &kube::Client, ns: &str, id: &str) -> async_nats::Client {
    let secrets: Api<Secret> = Api::namespaced(client.clone(), ns);
    let selector = format!("account.nauth.io/id={id},nauth.io/secret-type=account-root");
    let found = secrets
        .list(&ListParams::default().labels(&selector))
        .await
        .unwrap();
    let seed = String::from_utf8(found.items[0].data.as_ref().unwrap()["default"].0.clone());
    let root = nkeys::KeyPair::from_seed(seed.unwrap().trim()).unwrap();
    let user = nkeys::KeyPair::new_user();
    let mut claims = nauth_jwt::Claims::new(user.public_key(), nauth_jwt::User::new());
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    let token = nauth_jwt::encode(&mut claims, &root, now).unwrap();
    let creds = nauth_jwt::creds::format_user_creds(&token, &user.seed().unwrap());
    nats::connect(&creds, TIMEOUT).await.0
}

#[tokio::test]
#[ignore = "needs tests/testenv.sh"]
async fn an_account_id_label_removed_by_hand_comes_back_and_revokes_no_user() {
    // Without its label the Account still knows its ID from its JWT ConfigMap; it once read no
    // users under no ID, and revoked them all.
    let AccountWithUser {
        client,
        ns,
        accounts,
        id,
        _controller,
        ..
    } = account_with_user("ctl-id-label").await;
    let before = creds(&client, &ns, "u").await;
    assert!(connects(&before).await);

    let unlabel = json!({"metadata": {"labels": {"account.nauth.io/id": null}}});
    (accounts.patch("a", &Default::default(), &kube::api::Patch::Merge(unlabel)))
        .await
        .unwrap();
    // The label is written back after the JWT is pushed: a revocation would be in NATS now.
    wait_for(&accounts, "a", |a| {
        match a.labels().get("account.nauth.io/id") {
            Some(back) if *back == id => ready(a),
            _ => Err("no ID label".into()),
        }
    })
    .await;
    assert!(connects(&before).await, "the user's creds were revoked");
    assert_eq!(creds(&client, &ns, "u").await, before, "creds re-issued");
}

/// Account `a` with its User `u`, both Ready under a controller of their fresh namespace.
struct AccountWithUser {
    client: kube::Client,
    ns: String,
    accounts: Api<Account>,
    users: Api<User>,
    /// The Account's ID.
    id: String,
    _controller: Controller,
}

async fn account_with_user(prefix: &str) -> AccountWithUser {
    let client = client().await;
    let ns = fresh_namespace(&client, prefix).await;
    setup(&client, &ns).await;
    apply(&client, &ns, account(&ns, "a", json!({}))).await;
    apply(&client, &ns, user(&ns, "u", json!({"accountName": "a"}))).await;
    let _controller = Controller::start(&ns, &[]).await;
    let accounts: Api<Account> = Api::namespaced(client.clone(), &ns);
    let users: Api<User> = Api::namespaced(client.clone(), &ns);
    let id = wait_for(&accounts, "a", ready).await.labels()["account.nauth.io/id"].clone();
    wait_for(&users, "u", ready).await;
    AccountWithUser {
        client,
        ns,
        accounts,
        users,
        id,
        _controller,
    }
}
