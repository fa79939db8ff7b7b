//! The key examples (`examples/signing-key-rotation`, `examples/disaster-recovery`,
//! `examples/migrate-from-nauth`) against the real servers, each reading the example's own
//! files and checking what its README promises, which the README's commands cannot show:
//! account IDs that never change, creds that connect or are refused.

use std::path::{Path, PathBuf};

use k8s_openapi::api::core::v1::{ConfigMap, Secret};
use kube::api::{Api, DeleteParams, ListParams};
use kube::{Client, ResourceExt};
use nauth_render::api::{Account, User};
use nauth_render::bootstrap;
use nauth_render::jwt;
use nauth_render::keys::{Role, SeedRoot};
use nauth_render::lock::Lock;
use nauth_render::output;
use nauth_render::render::Rendered;
use nauth_tests::cluster::{client, fresh_namespace, install_crds};
use nauth_tests::controller::{
    Controller, connects, connects_at, creds, eventually, may_publish, ready, ready_at, wait_for,
};
use nauth_tests::tools::{apply_all, objects};
use nauth_tests::{nats, nats_servers, testenv};
use serde_json::json;

/// The directory of `examples/NAME`.
fn example(name: &str) -> PathBuf {
    nauth_tests::tools::repo().join("examples").join(name)
}

/// The files `names` of the example `dir`, as (name, contents).
fn files(dir: &Path, names: &[&'static str]) -> Vec<(&'static str, String)> {
    (names.iter())
        .map(|n| (*n, std::fs::read_to_string(dir.join(n)).unwrap()))
        .collect()
}

/// Unix seconds now: each step of a test renders later than any run before it, so the testenv
/// resolver (which keeps the newest JWT) takes every step's JWTs, also when a test runs again.
fn now() -> i64 {
    let since = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH);
    since.unwrap().as_secs() as i64
}

/// Renders `files` from `lock` (updated) with the testenv operator, and pushes the accounts.
async fn render_and_push(
    files: &[(&str, String)],
    namespace: &str,
    seed_root: &[u8],
    lock: &mut Lock,
) -> Rendered {
    let rendered = nats::render_locked(files, namespace, Some(seed_root), lock, now())
        .unwrap_or_else(|e| panic!("render: {e:?}"));
    for (account, reply) in nats::push_accounts(&rendered).await {
        assert_eq!(reply["code"], 200, "push of {account}: {reply}");
    }
    *lock = rendered.lock.clone();
    rendered
}

/// The claims of the user JWT in `creds`.
fn user_claims(creds: &str) -> jwt::Claims<jwt::User> {
    let (token, _) = jwt::creds::parse_creds(creds).unwrap();
    match jwt::decode(&token).unwrap().claims {
        jwt::AnyClaims::User(claims) => claims,
        _ => panic!("not a user JWT"),
    }
}

/// The issuer of the user JWT in `creds`.
fn issuer(creds: &str) -> String {
    user_claims(creds).data.iss
}

/// The signing keys the only rendered account trusts, and its ID.
fn account(rendered: &Rendered) -> (String, Vec<String>) {
    let [account] = &rendered.accounts[..] else {
        panic!("expected one account");
    };
    let keys = account.claims.nats.signing_keys.0.keys().cloned().collect();
    (account.claims.data.sub.clone(), keys)
}

#[tokio::test]
#[ignore = "needs tests/testenv.sh"]
async fn signing_key_rotation_moves_users_to_the_new_key_and_retires_the_old_one() {
    let dir = example("signing-key-rotation");
    let seed_root = std::fs::read(dir.join("seed-root")).unwrap();
    let root = SeedRoot::new(&seed_root).unwrap();
    let key = |name| {
        root.derive(Role::SigningKey, "payments", name, 0)
            .public_key()
    };
    let (old_key, new_key) = (key("key-2026"), key("key-2027"));
    let mut files = files(
        &dir,
        &[
            "nats-cluster.yaml",
            "account.yaml",
            "signing-key-2026.yaml",
            "users.yaml",
        ],
    );
    let mut lock = Lock::new();
    let creds = |r: &Rendered| nats::creds(r, "payments/api");
    // The README's edits, on the same files.
    let edit = |files: &mut Vec<(&str, String)>, file: &str, from: &str, to: &str| {
        let (_, text) = files.iter_mut().find(|(n, _)| *n == file).unwrap();
        assert!(text.contains(from), "{file} has no {from:?}");
        *text = text.replace(from, to);
    };

    let start = render_and_push(&files, "payments", &seed_root, &mut lock).await;
    let (id, trusted) = account(&start);
    let first = creds(&start);
    assert!(trusted.contains(&old_key), "{trusted:?}");
    assert_eq!(issuer(&first), old_key);
    assert!(may_publish(&first, "ledger.entries").await);

    // 1. The new key is added and trusted next to the old one: the user is unchanged.
    let new_file = files[2].1.replace("key-2026", "key-2027");
    files.push(("signing-key-2027.yaml", new_file));
    edit(
        &mut files,
        "account.yaml",
        "    - name: key-2026\n",
        "    - name: key-2026\n    - name: key-2027\n",
    );
    let both = render_and_push(&files, "payments", &seed_root, &mut lock).await;
    let (same_id, trusted) = account(&both);
    assert_eq!(same_id, id);
    assert!(trusted.contains(&old_key) && trusted.contains(&new_key));
    assert!(creds(&both) == first, "the user is not re-issued yet");
    assert!(connects(&first).await);

    // 2. The user is re-issued under the new key; the old creds work until the key goes.
    edit(&mut files, "users.yaml", "name: key-2026", "name: key-2027");
    let moved = render_and_push(&files, "payments", &seed_root, &mut lock).await;
    let second = creds(&moved);
    assert_eq!(issuer(&second), new_key);
    assert_eq!(account(&moved).0, id);
    assert!(may_publish(&second, "ledger.entries").await);
    assert!(connects(&first).await, "revoke-on-reissue is off");

    // 3. The old key is retired: its creds are refused, the new ones still connect.
    files.retain(|(n, _)| *n != "signing-key-2026.yaml");
    edit(&mut files, "account.yaml", "    - name: key-2026\n", "");
    let retired = render_and_push(&files, "payments", &seed_root, &mut lock).await;
    let (same_id, trusted) = account(&retired);
    assert_eq!(same_id, id);
    assert!(!trusted.contains(&old_key) && trusted.contains(&new_key));
    assert!(
        creds(&retired) == second,
        "nothing re-issued by the removal"
    );
    assert!(connects(&second).await);
    assert!(
        !connects(&first).await,
        "creds of the retired key are refused"
    );
}

/// The example's files with its namespace `from` replaced by `to` and its NATS URL by `url`.
fn moved(
    files: Vec<(&'static str, String)>,
    from: &str,
    to: &str,
    url: &str,
) -> Vec<(&'static str, String)> {
    let namespace = |n: &str| format!("namespace: {n}\n");
    (files.into_iter())
        .map(|(name, text)| {
            let text = text.replace(&namespace(from), &namespace(to));
            (name, text.replace("nats://nats.nats.svc:4222", url))
        })
        .collect()
}

/// A Secret `name` in `ns` holding the file the testenv variable `var` names, under `default`
/// (the examples' NatsClusters name `operator-signing-key` and `system-account-user-creds`).
fn testenv_secret(ns: &str, name: &str, var: &str) -> serde_json::Value {
    let value = std::fs::read_to_string(testenv::var(var)).unwrap();
    json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": name, "namespace": ns},
           "stringData": {"default": value.trim_end()}})
}

/// What a cluster gets from git: the system user's creds Secret the controller needs, the
/// custom resources and render's output, server-side applied.
async fn sync(client: &Client, ns: &str, files: &[(&str, String)], rendered: &str) {
    let system = testenv_secret(ns, "system-account-user-creds", "NATS_SYSTEM_CREDS");
    apply_all(client, ns, &[system]).await;
    for (_, text) in files {
        apply_all(client, ns, &objects(text)).await;
    }
    apply_all(client, ns, &objects(rendered)).await;
}

#[tokio::test]
#[ignore = "needs tests/testenv.sh"]
async fn disaster_recovery_rebuilds_the_same_accounts_and_creds_from_git_and_the_seed_root() {
    let dir = example("disaster-recovery");
    let seed_root = std::fs::read(dir.join("seed-root")).unwrap();
    let client = client().await;
    install_crds().await;
    let ns = fresh_namespace(&client, "ex-dr").await;
    let mut servers = nats_servers::start("ex-dr", 1);
    let server = &mut servers[0];
    let files = files(&dir, &["nats-cluster.yaml", "accounts.yaml", "users.yaml"]);
    let files = moved(files, "warehouse", &ns, &server.url);

    // What git holds: the first render's lock. The cluster gets the rendered objects, which
    // the controller (holding no account seed) pushes.
    let first = nats::render_locked(&files, &ns, Some(&seed_root), &Lock::new(), now()).unwrap();
    let rendered = output::stream(&output::manifests(&first));
    sync(&client, &ns, &files, &rendered).await;
    let mut controller = Controller::start_with(&ns, &["--pre-rendered"], &[]).await;
    let accounts: Api<Account> = Api::namespaced(client.clone(), &ns);
    let id = wait_for(&accounts, "inventory", ready).await.labels()["account.nauth.io/id"].clone();
    let users = ["scanner", "reporter"];
    let mut before = Vec::new();
    for user in users {
        eventually(&format!("{user}'s creds do not connect"), async || {
            connects_at(&creds(&client, &ns, user).await, &server.url).await
        })
        .await;
        before.push(creds(&client, &ns, user).await);
    }

    // The disaster: the namespace's Secrets and ConfigMaps and the resolver's files are gone.
    controller.stop();
    let params = (DeleteParams::default(), ListParams::default());
    let secrets: Api<Secret> = Api::namespaced(client.clone(), &ns);
    secrets
        .delete_collection(&params.0, &params.1)
        .await
        .unwrap();
    let config_maps: Api<ConfigMap> = Api::namespaced(client.clone(), &ns);
    config_maps
        .delete_collection(&params.0, &params.1)
        .await
        .unwrap();
    server.restart_wiped();
    assert!(
        !connects_at(&before[0], &server.url).await,
        "the account is gone from NATS"
    );

    // The rebuild from git and the seed root alone, a day later: the same bytes.
    let again =
        nats::render_locked(&files, &ns, Some(&seed_root), &first.lock, now() + 86_400).unwrap();
    let rebuilt = output::stream(&output::manifests(&again));
    assert!(rebuilt == rendered, "the rebuild renders other bytes");
    sync(&client, &ns, &files, &rebuilt).await;
    let _controller = Controller::start_with(&ns, &["--pre-rendered"], &[]).await;
    for (user, creds_before) in users.iter().zip(&before) {
        eventually(&format!("{user}'s old creds do not connect"), async || {
            connects_at(creds_before, &server.url).await
        })
        .await;
        assert!(
            creds(&client, &ns, user).await == *creds_before,
            "{user}: other creds"
        );
    }
    let account = wait_for(&accounts, "inventory", ready).await;
    assert_eq!(account.labels()["account.nauth.io/id"], id);
    assert_eq!(again.accounts[0].claims.data.sub, id);
}

#[tokio::test]
#[ignore = "needs tests/testenv.sh"]
async fn migrate_from_nauth_keeps_every_account_id_and_creds_byte() {
    let dir = example("migrate-from-nauth");
    let client = client().await;
    install_crds().await;
    let ns = fresh_namespace(&client, "ex-nauth").await;
    let names = [
        "nats-cluster.yaml",
        "account-keys.yaml",
        "account.yaml",
        "users.yaml",
    ];
    let creds_file = moved(files(&dir, &["user-creds.yaml"]), "fleet", &ns, "");
    let files = moved(files(&dir, &names), "fleet", &ns, &testenv::var("NATS_URL"));
    let mut creds_secret = objects(&creds_file[0].1).remove(0);
    let example_creds = creds_secret["stringData"]["user.creds"].as_str().unwrap();

    // What NAuth issued in this namespace, signed by the testenv operator: the account JWT
    // (in NATS) and the creds (the JWT names the namespace: `<namespace>/sensor`) with the
    // example's keys, at the time of its creds.
    let issued_at = user_claims(example_creds).data.iat;
    let nauth = [&files[..], &creds_file].concat();
    let nauth = nats::render_locked(&nauth, &ns, None, &Lock::new(), issued_at).unwrap();
    let id = nauth.accounts[0].claims.data.sub.clone();
    let nauth_creds = nats::creds(&nauth, &format!("{ns}/sensor"));
    assert_eq!(
        user_claims(&nauth_creds).data.sub,
        user_claims(example_creds).data.sub
    );
    creds_secret["stringData"]["user.creds"] = json!(nauth_creds);

    // The namespace as NAuth leaves it: its Secrets (the creds owned by the User), the custom
    // resources, and in NATS the account JWT it pushed.
    apply_all(
        &client,
        &ns,
        &[
            testenv_secret(&ns, "operator-signing-key", "NATS_OPERATOR_SIGNING_SEED"),
            testenv_secret(&ns, "system-account-user-creds", "NATS_SYSTEM_CREDS"),
        ],
    )
    .await;
    for (_, text) in &files {
        apply_all(&client, &ns, &objects(text)).await;
    }
    let users: Api<User> = Api::namespaced(client.clone(), &ns);
    let sensor = users.get("sensor").await.unwrap();
    creds_secret["metadata"]["ownerReferences"] = json!([{"apiVersion": "nauth.io/v1alpha1",
        "kind": "User", "name": "sensor", "uid": sensor.uid().unwrap(), "controller": true,
        "blockOwnerDeletion": true}]);
    apply_all(&client, &ns, &[creds_secret]).await;
    // A run before this one left a newer JWT of the same account: NATS keeps that one.
    nats::push_accounts(&nauth).await;
    assert!(
        connects(&nauth_creds).await,
        "NAuth's creds connect before the take-over"
    );
    let secrets: Api<Secret> = Api::namespaced(client.clone(), &ns);
    let key_secrets = async || {
        let list = secrets.list(&ListParams::default()).await.unwrap();
        (list.items.into_iter())
            .filter(|s| s.name_any().starts_with("telemetry-ac-"))
            .map(|s| (s.name_any(), s.data))
            .collect::<Vec<_>>()
    };
    let keys_before = key_secrets().await;

    // nauth-apply takes over: same account ID, same creds bytes, nothing re-issued.
    let _controller = Controller::start(&ns, &[]).await;
    let accounts: Api<Account> = Api::namespaced(client.clone(), &ns);
    let account = wait_for(&accounts, "telemetry", ready).await;
    assert_eq!(account.labels()["account.nauth.io/id"], id);
    wait_for(&users, "sensor", ready).await;
    assert!(
        creds(&client, &ns, "sensor").await == nauth_creds,
        "the creds were re-issued"
    );
    assert!(may_publish(&nauth_creds, "telemetry.readings.t1").await);
    let keys_after = key_secrets().await;
    assert_eq!(keys_after.len(), 2);
    assert!(
        keys_after == keys_before,
        "the account's key Secrets changed"
    );

    // A later change of the User is issued (same key) and enforced.
    let (_, users_yaml) = files.iter().find(|(n, _)| *n == "users.yaml").unwrap();
    let wider = users_yaml.replace(
        r#"allow: ["telemetry.readings.>"]"#,
        r#"allow: ["telemetry.readings.>", "telemetry.alerts.>"]"#,
    );
    assert!(wider != *users_yaml);
    apply_all(&client, &ns, &objects(&wider)).await;
    wait_for(&users, "sensor", |u| ready_at(u, 2)).await;
    let reissued = creds(&client, &ns, "sensor").await;
    assert!(reissued != nauth_creds);
    assert!(may_publish(&reissued, "telemetry.alerts.a1").await);
    assert_eq!(user_claims(&reissued).nats.issuer_account, id);
}

#[tokio::test]
#[ignore = "needs tests/testenv.sh"]
async fn migrate_from_nsc_keeps_the_account_id_and_the_users_original_seeds_connect() {
    let store = example("migrate-from-nsc").join("nsc");
    let identity = bootstrap::nsc::import(&store, None, "nats").unwrap();
    let settings = bootstrap::Settings {
        namespace: "nats".into(),
        cluster_name: "nats".into(),
        url: testenv::var("NATS_URL"),
        resolver_dir: "./jwt".into(),
    };
    // The import's objects, signed by the testenv operator instead of the store's.
    let wanted = [
        "nats-cluster.yaml",
        "accounts.yaml",
        "account-keys.yaml",
        "user-creds.yaml",
    ];
    let files: Vec<(&str, String)> = bootstrap::files(&identity, &settings)
        .unwrap()
        .into_iter()
        .filter_map(|f| {
            let name = wanted.into_iter().find(|w| *w == f.path)?;
            Some((name, f.contents))
        })
        .collect();
    assert_eq!(files.len(), wanted.len());
    let rendered = nats::render_locked(&files, "nats", None, &Lock::new(), now())
        .unwrap_or_else(|e| panic!("render: {e:?}"));
    for (account, reply) in nats::push_accounts(&rendered).await {
        assert_eq!(reply["code"], 200, "push of {account}: {reply}");
    }
    let app = &identity.accounts[0];
    assert_eq!(account(&rendered).0, app.id, "the nsc account ID");

    // alice's seed as nsc keeps it, with the JWT render issued for her key.
    let (token, _) = jwt::creds::parse_creds(&nats::creds(&rendered, "nats/alice")).unwrap();
    let alice_key = user_claims(&nats::creds(&rendered, "nats/alice")).data.sub;
    let path = store
        .join("keys/keys")
        .join(&alice_key[..1])
        .join(&alice_key[1..3])
        .join(format!("{alice_key}.nk"));
    let nsc_seed = std::fs::read_to_string(path).unwrap();
    let original = jwt::creds::format_user_creds(&token, nsc_seed.trim());
    assert!(connects(&original).await, "alice's nsc seed connects");
    assert!(may_publish(&original, "app.orders.new").await);
    assert!(
        !may_publish(&original, "app.orders.admin").await,
        "nsc's deny rule holds"
    );
    assert!(
        !may_publish(&original, "app.events.x").await,
        "bob's, not alice's"
    );
}
