//! NAuth's account-signing-key, -rotation and -revocation and account-import-observe scenarios
//! against the real controller, and the controller's JWTs equal to what the render library (the
//! one nauth-render runs) makes of the same custom resources, keys and lock.

use k8s_openapi::api::core::v1::{ConfigMap, Secret};
use kube::ResourceExt;
use kube::api::{Api, ListParams};
use nauth_render::api::{Account, AccountSigningKey, User};
use nauth_render::input::{Contents, Inputs};
use nauth_render::keys::KeySources;
use nauth_render::lock::{Lock, LockEntry};
use nauth_render::render::{Options, render};
use nauth_tests::cluster::{client, fresh_namespace};
use nauth_tests::controller::{
    Controller, account, apply, connects, creds, has_condition, may_publish, ready, resource,
    setup, user, wait_for, wait_not_ready,
};
use serde_json::json;

fn signing_keys(a: &Account) -> Vec<String> {
    let claims = a
        .status
        .as_ref()
        .and_then(|s| s.claims.clone())
        .unwrap_or_default();
    claims
        .signing_keys
        .unwrap_or_default()
        .into_iter()
        .filter_map(|k| k.key)
        .collect()
}

fn refs(names: &[&str]) -> serde_json::Value {
    json!({"signingKeyRefs": names.iter().map(|n| json!({"name": n})).collect::<Vec<_>>()})
}

#[tokio::test]
#[ignore = "needs tests/testenv.sh"]
async fn account_signing_key_rotation_and_revocation() {
    let client = client().await;
    let ns = fresh_namespace(&client, "ctl-ask").await;
    setup(&client, &ns).await;
    let _controller = Controller::start(&ns, &[]).await;
    let asks: Api<AccountSigningKey> = Api::namespaced(client.clone(), &ns);
    let accounts: Api<Account> = Api::namespaced(client.clone(), &ns);
    let users: Api<User> = Api::namespaced(client.clone(), &ns);
    apply(
        &client,
        &ns,
        resource(
            "AccountSigningKey",
            &ns,
            "v1",
            json!({"secretName": "my-key-secret"}),
        ),
    )
    .await;
    let v1 = wait_for(&asks, "v1", ready).await;
    let v1_key = v1.status.clone().unwrap().public_key.unwrap();
    assert!(v1_key.starts_with('A'));
    assert_eq!(
        v1.status.unwrap().secret_name.as_deref(),
        Some("my-key-secret")
    );
    let secret = Api::<Secret>::namespaced(client.clone(), &ns)
        .get("my-key-secret")
        .await
        .unwrap();
    assert_eq!(secret.owner_references()[0].name, "v1");

    apply(&client, &ns, account(&ns, "a", refs(&["v1"]))).await;
    wait_for(&accounts, "a", |a| {
        signing_keys(a)
            .contains(&v1_key)
            .then_some(())
            .ok_or("v1 not trusted".into())
    })
    .await;
    let signed_by = |key: String| {
        move |u: &User| {
            ready(u)?;
            (u.labels().get("user.nauth.io/signed-by") == Some(&key))
                .then_some(())
                .ok_or(format!("not signed by {key}"))
        }
    };
    let with_key = |name: &str| {
        json!({"accountName": "a", "permissions": {"pub": {"allow": ["ok"]}},
                                       "signingKeyRef": {"name": name}})
    };
    apply(&client, &ns, user(&ns, "u", with_key("v1"))).await;
    wait_for(&users, "u", signed_by(v1_key.clone())).await;
    let first = creds(&client, &ns, "u").await;
    assert!(may_publish(&first, "ok").await);

    // Rotation: trust v1 and v2, move the user to v2, retire v1.
    apply(
        &client,
        &ns,
        resource("AccountSigningKey", &ns, "v2", json!({})),
    )
    .await;
    let v2_key = wait_for(&asks, "v2", ready)
        .await
        .status
        .unwrap()
        .public_key
        .unwrap();
    apply(&client, &ns, account(&ns, "a", refs(&["v1", "v2"]))).await;
    wait_for(&accounts, "a", |a| {
        signing_keys(a)
            .contains(&v2_key)
            .then_some(())
            .ok_or("v2 not trusted".into())
    })
    .await;
    apply(&client, &ns, user(&ns, "u", with_key("v2"))).await;
    wait_for(&users, "u", signed_by(v2_key.clone())).await;
    apply(&client, &ns, account(&ns, "a", refs(&["v2"]))).await;
    wait_for(&accounts, "a", |a| {
        (!signing_keys(a).contains(&v1_key))
            .then_some(())
            .ok_or("v1 still trusted".into())
    })
    .await;
    let second = creds(&client, &ns, "u").await;
    assert_ne!(second, first);
    assert!(may_publish(&second, "ok").await);

    // Revocation: without the ref, the key leaves the JWT and the user is NotReady.
    apply(
        &client,
        &ns,
        account(&ns, "a", json!({"signingKeyRefs": []})),
    )
    .await;
    wait_for(&accounts, "a", |a| {
        (!signing_keys(a).contains(&v2_key))
            .then_some(())
            .ok_or("v2 still trusted".into())
    })
    .await;
    wait_for(&users, "u", |u| {
        has_condition(u, "Ready", "False", "NotReady")
    })
    .await;
}

#[tokio::test]
#[ignore = "needs tests/testenv.sh"]
async fn a_lost_account_signing_key_is_reported_and_a_new_one_re_issues_the_users() {
    let client = client().await;
    let ns = fresh_namespace(&client, "ctl-lost-sign").await;
    setup(&client, &ns).await;
    apply(&client, &ns, account(&ns, "a", json!({}))).await;
    let spec = json!({"accountName": "a", "permissions": {"pub": {"allow": ["x.>"]}}});
    apply(&client, &ns, user(&ns, "u", spec)).await;
    let _controller = Controller::start(&ns, &[]).await;
    let accounts: Api<Account> = Api::namespaced(client.clone(), &ns);
    let users: Api<User> = Api::namespaced(client.clone(), &ns);
    let id = wait_for(&accounts, "a", ready).await.labels()["account.nauth.io/id"].clone();
    wait_for(&users, "u", ready).await;
    let first = creds(&client, &ns, "u").await;

    // The signing key Secret deleted by hand: the Account says which Secret it lacks and how
    // to recover; the user's creds keep working meanwhile.
    let secrets: Api<Secret> = Api::namespaced(client.clone(), &ns);
    let sign = format!("nauth.io/secret-type=account-sign,account.nauth.io/id={id}");
    let lost = secrets
        .list(&ListParams::default().labels(&sign))
        .await
        .unwrap();
    assert_eq!(lost.items.len(), 1);
    secrets
        .delete(&lost.items[0].name_any(), &Default::default())
        .await
        .unwrap();
    let (_, message) = wait_not_ready(&accounts, "a", "Errored").await;
    assert!(message.contains("account-sign"), "{message}");
    assert!(message.contains("new account seed"), "{message}");
    assert!(may_publish(&first, "x.1").await);

    // The recovery docs/controller.md gives: a new signing key Secret under the account's ID.
    let key = nkeys::KeyPair::new_account();
    let labels = json!({
        "account.nauth.io/id": id, "account.nauth.io/name": "a",
        "nauth.io/secret-type": "account-sign", "nauth.io/managed": "true",
    });
    let secret = json!({
        "apiVersion": "v1", "kind": "Secret",
        "metadata": {"name": "a-ac-sign-recovered", "namespace": ns, "labels": labels},
        "stringData": {"default": key.seed().unwrap()},
    });
    apply(&client, &ns, secret).await;
    wait_for(&accounts, "a", ready).await;
    let u = wait_for(&users, "u", |u| {
        match u.labels().get("user.nauth.io/signed-by") == Some(&key.public_key()) {
            true => ready(u),
            false => Err("not yet signed by the new key".into()),
        }
    })
    .await;
    assert_eq!(
        u.labels()["user.nauth.io/account-id"],
        id,
        "the same account"
    );
    let second = creds(&client, &ns, "u").await;
    assert!(may_publish(&second, "x.1").await);
    assert!(!connects(&first).await, "creds of the lost key are refused");
}

#[tokio::test]
#[ignore = "needs tests/testenv.sh"]
async fn observed_account_mirrors_the_jwt_nats_holds_and_render_gives_the_controllers_bytes() {
    let client = client().await;
    let ns = fresh_namespace(&client, "ctl-observe").await;
    setup(&client, &ns).await;
    let _controller = Controller::start(&ns, &[]).await;
    let accounts: Api<Account> = Api::namespaced(client.clone(), &ns);
    apply(
        &client,
        &ns,
        account(
            &ns,
            "source",
            json!({"natsLimits": {"subs": 42},
        "exports": [{"subject": "obs.>", "type": "stream"}]}),
        ),
    )
    .await;
    apply(
        &client,
        &ns,
        user(&ns, "u", json!({"accountName": "source"})),
    )
    .await;
    let source = wait_for(&accounts, "source", ready).await;
    wait_for(&Api::<User>::namespaced(client.clone(), &ns), "u", ready).await;
    let id = source.labels()["account.nauth.io/id"].clone();

    let mut observed = account(&ns, "observed", json!({}));
    observed["metadata"]["labels"] =
        json!({"account.nauth.io/id": id, "nauth.io/management-policy": "observe"});
    apply(&client, &ns, observed).await;
    let o = wait_for(&accounts, "observed", ready).await;
    assert_eq!(o.finalizers(), ["account.nauth.io/finalizer"]);
    assert_eq!(
        o.labels()["account.nauth.io/signed-by"],
        source.labels()["account.nauth.io/signed-by"]
    );
    let (mirror, claims) = (o.status.unwrap(), source.status.clone().unwrap());
    assert_eq!(mirror.claims, claims.claims);
    assert_eq!(mirror.claims_hash, claims.claims_hash);
    assert_eq!(mirror.adoptions, None);

    // The render library, given what the cluster holds, signs the same bytes.
    let mut inputs = Inputs::default();
    let mut add = |v: serde_json::Value| {
        let problems = inputs.add_document("cluster", v, Contents::Everything);
        assert!(problems.iter().all(|p| !p.is_error()), "{problems:?}");
    };
    let mut plain = serde_json::to_value(&source).unwrap();
    plain["metadata"]["managedFields"] = json!(null);
    add(plain);
    add(serde_json::to_value(
        Api::<User>::namespaced(client.clone(), &ns)
            .get("u")
            .await
            .unwrap(),
    )
    .unwrap());
    let cluster = Api::<nauth_render::api::NatsCluster>::namespaced(client.clone(), &ns)
        .get("local-nats")
        .await
        .unwrap();
    add(serde_json::to_value(&cluster).unwrap());
    let secrets = Api::<Secret>::namespaced(client.clone(), &ns)
        .list(&ListParams::default())
        .await
        .unwrap();
    for s in secrets {
        let mut v = serde_json::to_value(&s).unwrap();
        v["apiVersion"] = json!("v1");
        v["kind"] = json!("Secret");
        add(v);
    }
    let cm = Api::<ConfigMap>::namespaced(client.clone(), &ns)
        .get("source-nats-account-jwt")
        .await
        .unwrap();
    let creds_secret = Api::<Secret>::namespaced(client.clone(), &ns)
        .get("u-nats-user-creds")
        .await
        .unwrap();
    let entry = |a: &std::collections::BTreeMap<String, String>| LockEntry {
        public_key: a["nauth.io/public-key"].clone(),
        issuer: a["nauth.io/issuer"].clone(),
        claims_hash: a["nauth.io/claims-hash"].clone(),
        issued_at: a["nauth.io/issued-at"].parse().unwrap(),
        revocations: Default::default(),
    };
    let mut lock = Lock::new();
    lock.accounts
        .insert(format!("{ns}/source"), entry(cm.annotations()));
    lock.users
        .insert(format!("{ns}/u"), entry(creds_secret.annotations()));
    let keys = KeySources {
        secrets: &inputs.secrets,
        seed_root: None,
    };
    let rendered = render(&inputs, keys, &lock, i64::MAX / 2, &Options::default()).unwrap();
    let jwt = &rendered
        .accounts
        .iter()
        .find(|a| a.name == "source")
        .unwrap()
        .jwt;
    assert_eq!(jwt, &cm.data.unwrap()["account.jwt"]);
    let user_creds = &rendered.users.iter().find(|u| u.name == "u").unwrap().creds;
    assert_eq!(user_creds, &creds(&client, &ns, "u").await);
}
