//! The GitOps loop of pre-rendered mode against the real kube-apiserver and nats-server: the
//! README's pull-request flow (render, check, diff), the custom resources and render's output
//! server-side applied as Argo CD applies them (pruning what a change removes), and
//! `nauth-apply --pre-rendered` pushing what it finds. Creds connect with their permissions, a
//! removed User's creds are refused, a removed Account leaves the resolver through the deletion
//! request render emitted, a spec changed without a new render is `RenderOutdated` and nothing
//! older is pushed, and no account, signing or operator seed is ever in the cluster.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use k8s_openapi::api::core::v1::{ConfigMap, Secret};
use kube::api::{Api, DeleteParams, ListParams, PostParams};
use kube::{Client, ResourceExt};
use nauth_apply::nats::{ClusterConfig, Connection, SystemCreds};
use nauth_render::api::{Account, User};
use nauth_tests::cluster::{client, fresh_namespace, install_crds};
use nauth_tests::controller::{
    Controller, apply, connects, creds, eventually, has_condition, may_publish, ready, seeds_in,
    wait_for,
};
use nauth_tests::testenv;
use serde_json::{Value, json};
use tokio::sync::OnceCell;

/// The `nauth-render` binary, built once per test binary.
async fn nauth_render() -> PathBuf {
    static BUILT: OnceCell<PathBuf> = OnceCell::const_new();
    BUILT
        .get_or_init(|| async {
            let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
            let status = Command::new(cargo)
                .args(["build", "-p", "nauth-render-cli", "--bin", "nauth-render"])
                .status()
                .expect("running cargo build for nauth-render");
            assert!(status.success(), "cargo build -p nauth-render-cli failed");
            let exe = std::env::current_exe().unwrap();
            exe.parent().unwrap().parent().unwrap().join("nauth-render")
        })
        .await
        .clone()
}

async fn run_render(args: &[&str]) -> Output {
    Command::new(nauth_render().await)
        .args(args)
        .env_remove("SOURCE_DATE_EPOCH")
        .env_remove("NAUTH_SEED_ROOT")
        .env_remove("NATS_CLUSTER_REF")
        .output()
        .unwrap()
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// The repository of a team: the custom resources of namespace `ns` (no key among them).
fn write_repo(dir: &Path, ns: &str) {
    let url = testenv::var("NATS_URL");
    let docs = [
        format!(
            "apiVersion: nauth.io/v1alpha1\nkind: NatsCluster\nmetadata:\n  name: local-nats\n  \
             namespace: {ns}\nspec:\n  url: {url}\n  operatorSigningKeySecretRef:\n    name: \
             operator-signing-key\n  systemAccountUserCredsSecretRef:\n    name: system-creds\n"
        ),
        account_yaml(ns, "orders", 100),
        account_yaml(ns, "temp", 10),
        // billing imports orders' events through bindings, which bind to Account IDs.
        account_yaml(ns, "billing", 10),
        format!(
            "apiVersion: nauth.io/v1alpha1\nkind: AccountExport\nmetadata:\n  name: orders-events\n  \
             namespace: {ns}\nspec:\n  accountName: orders\n  rules:\n    - name: events\n      \
             subject: orders.events.>\n      type: stream\n"
        ),
        format!(
            "apiVersion: nauth.io/v1alpha1\nkind: AccountImport\nmetadata:\n  name: billing-events\n  \
             namespace: {ns}\nspec:\n  accountName: billing\n  exportAccountRef:\n    name: orders\n    \
             namespace: {ns}\n  rules:\n    - subject: orders.events.>\n      type: stream\n"
        ),
        user_yaml(ns, "orders-service", "orders.events.>"),
        user_yaml(ns, "auditor", "orders.audit.>"),
    ];
    std::fs::write(dir.join("nauth.yaml"), docs.join("---\n")).unwrap();
}

fn account_yaml(ns: &str, name: &str, conn: i64) -> String {
    format!(
        "apiVersion: nauth.io/v1alpha1\nkind: Account\nmetadata:\n  name: {name}\n  namespace: \
         {ns}\nspec:\n  natsClusterRef:\n    name: local-nats\n  accountLimits:\n    conn: {conn}\n"
    )
}

fn user_yaml(ns: &str, name: &str, allow: &str) -> String {
    format!(
        "apiVersion: nauth.io/v1alpha1\nkind: User\nmetadata:\n  name: {name}\n  namespace: \
         {ns}\nspec:\n  accountName: orders\n  permissions:\n    pub:\n      allow: [\"{allow}\"]\n"
    )
}

/// The keys CI holds, outside the repository: the operator signing key and a seed root.
fn write_keys(dir: &Path, ns: &str) {
    let seed = std::fs::read_to_string(testenv::var("NATS_OPERATOR_SIGNING_SEED")).unwrap();
    let secret = format!(
        "apiVersion: v1\nkind: Secret\nmetadata:\n  name: operator-signing-key\n  namespace: \
         {ns}\nstringData:\n  default: {}\n",
        seed.trim()
    );
    std::fs::write(dir.join("operator-signing-key.yaml"), secret).unwrap();
    // The quickstart's throwaway root: keys derive from the namespace too, so they are new.
    let quickstart = Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/quickstart");
    std::fs::copy(quickstart.join("seed-root"), dir.join("seed-root")).unwrap();
}

/// `nauth-render render REPO` with the keys: the output stream, as the Argo CD plugin prints it.
async fn render(repo: &Path, keys: &Path) -> String {
    let (key, root) = (
        keys.join("operator-signing-key.yaml"),
        keys.join("seed-root"),
    );
    let out = run_render(&[
        "render",
        repo.to_str().unwrap(),
        "--keys",
        key.to_str().unwrap(),
        "--seed-root",
        root.to_str().unwrap(),
    ])
    .await;
    assert!(out.status.success(), "{}", text(&out.stderr));
    text(&out.stdout)
}

/// Server-side applies every document of the custom resources and of render's output, as
/// Argo CD syncs an application.
async fn sync(client: &Client, ns: &str, repo: &Path, output: &str) {
    let resources = std::fs::read_to_string(repo.join("nauth.yaml")).unwrap();
    for doc in resources.split("---\n").chain(output.split("---\n")) {
        if doc.trim().is_empty() {
            continue;
        }
        let value: Value = serde_saphyr::from_str(doc).unwrap();
        apply(client, ns, value).await;
    }
}

/// A connection to the test environment's NATS as its system user.
async fn system() -> Connection {
    let creds = std::fs::read_to_string(testenv::var("NATS_SYSTEM_CREDS")).unwrap();
    let config = ClusterConfig::new(testenv::var("NATS_URL"), SystemCreds::new(creds).unwrap());
    Connection::connect(config).await.unwrap()
}

#[tokio::test]
#[ignore = "needs tests/testenv.sh"]
async fn the_gitops_loop_runs_without_a_seed_in_the_cluster() {
    let client = client().await;
    install_crds().await;
    let ns = fresh_namespace(&client, "ctl-pre").await;
    // The only key material in the cluster: the system user's creds, for the controller.
    let system_creds = std::fs::read_to_string(testenv::var("NATS_SYSTEM_CREDS")).unwrap();
    let secret: Secret = serde_json::from_value(json!({
        "metadata": {"name": "system-creds", "namespace": ns},
        "stringData": {"default": system_creds},
    }))
    .unwrap();
    (Api::<Secret>::namespaced(client.clone(), &ns))
        .create(&PostParams::default(), &secret)
        .await
        .unwrap();
    let (base, head, keys) = (
        tempfile::tempdir().unwrap(),
        tempfile::tempdir().unwrap(),
        tempfile::tempdir().unwrap(),
    );
    write_repo(base.path(), &ns);
    write_keys(keys.path(), &ns);

    // The first render, applied; the controller pushes it.
    let first = render(base.path(), keys.path()).await;
    assert!(first.contains("name: temp-nats-account-jwt"), "{first}");
    sync(&client, &ns, base.path(), &first).await;
    let mut controller = Controller::start_with(&ns, &["--pre-rendered"], &[]).await;
    let accounts: Api<Account> = Api::namespaced(client.clone(), &ns);
    let users: Api<User> = Api::namespaced(client.clone(), &ns);
    let orders = wait_for(&accounts, "orders", ready).await;
    let temp = wait_for(&accounts, "temp", ready).await;
    // An Account whose JWT needs its import's rules: labelled with the rendered ID first, so
    // the import binds and the comparison can match.
    let billing = wait_for(&accounts, "billing", ready).await;
    let imports = billing.status.as_ref().and_then(|s| s.claims.as_ref());
    let imports = serde_json::to_string(&imports.and_then(|c| c.imports.as_ref())).unwrap();
    assert!(imports.contains("orders.events.>"), "{imports}");
    wait_for(&users, "orders-service", ready).await;
    wait_for(&users, "auditor", ready).await;
    let orders_id = orders.labels()["account.nauth.io/id"].clone();
    let temp_id = temp.labels()["account.nauth.io/id"].clone();
    let status = serde_json::to_value(&orders).unwrap()["status"].clone();
    assert_eq!(
        status["claims"]["accountLimits"]["conn"],
        json!(100),
        "{status}"
    );
    let nats = system().await;
    assert!(nats.lookup(&temp_id).await.unwrap().is_some());
    let service = creds(&client, &ns, "orders-service").await;
    let auditor = creds(&client, &ns, "auditor").await;
    assert!(may_publish(&service, "orders.events.created").await);
    assert!(
        !may_publish(&service, "orders.audit.x").await,
        "permissions hold"
    );
    assert!(may_publish(&auditor, "orders.audit.x").await);

    // The pull request: the auditor and the temp account go. Render, check, diff.
    for file in ["nauth.yaml", "nauth.lock"] {
        std::fs::copy(base.path().join(file), head.path().join(file)).unwrap();
    }
    let resources = std::fs::read_to_string(head.path().join("nauth.yaml")).unwrap();
    let kept: Vec<&str> = (resources.split("---\n"))
        .filter(|d| !d.contains("name: auditor\n") && !d.contains("name: temp\n"))
        .collect();
    std::fs::write(head.path().join("nauth.yaml"), kept.join("---\n")).unwrap();
    let second = render(head.path(), keys.path()).await;
    assert!(
        second.contains("name: temp-nats-account-deletion"),
        "{second}"
    );
    assert!(
        !second.contains("name: auditor-nats-user-creds"),
        "{second}"
    );
    let check = run_render(&["check", head.path().to_str().unwrap()]).await;
    assert_eq!(check.status.code(), Some(0), "{}", text(&check.stderr));
    let diff = run_render(&[
        "diff",
        base.path().to_str().unwrap(),
        head.path().to_str().unwrap(),
    ])
    .await;
    assert_eq!(diff.status.code(), Some(1), "{}", text(&diff.stderr));
    let shown = text(&diff.stdout);
    for line in [
        format!("Account {ns}/temp (removed)\n"),
        "  + resolver: deleted: Account ".to_string(),
        format!("User {ns}/auditor (removed)\n"),
        format!("Account {ns}/orders (changed)\n  + revocations[User {ns}/auditor"),
    ] {
        assert!(shown.contains(&line), "{line:?} not in:\n{shown}");
    }

    // Merged: Argo CD applies the new output and prunes what it no longer holds.
    sync(&client, &ns, head.path(), &second).await;
    let delete = DeleteParams::default();
    users.delete("auditor", &delete).await.unwrap();
    accounts.delete("temp", &delete).await.unwrap();
    (Api::<Secret>::namespaced(client.clone(), &ns))
        .delete("auditor-nats-user-creds", &delete)
        .await
        .unwrap();
    (Api::<ConfigMap>::namespaced(client.clone(), &ns))
        .delete("temp-nats-account-jwt", &delete)
        .await
        .unwrap();
    eventually("the removed user's creds still connect", || async {
        !connects(&auditor).await
    })
    .await;
    assert!(connects(&service).await && may_publish(&service, "orders.events.x").await);
    eventually("the removed Account is still there", || async {
        accounts.get_opt("temp").await.unwrap().is_none()
    })
    .await;
    assert!(
        nats.lookup(&temp_id).await.unwrap().is_none(),
        "gone from the resolver"
    );
    eventually("the removed User is still there", || async {
        users.get_opt("auditor").await.unwrap().is_none()
    })
    .await;

    // A spec changed in the cluster without a new render: not pushed, said on the Account.
    let pushed = nats.lookup(&orders_id).await.unwrap().unwrap();
    let changed: Value = serde_saphyr::from_str(&account_yaml(&ns, "orders", 50)).unwrap();
    apply(&client, &ns, changed).await;
    let outdated = wait_for(&accounts, "orders", |a| {
        has_condition(a, "Ready", "False", "RenderOutdated")
    })
    .await;
    let (_, _, message) = nauth_tests::controller::condition(&outdated, "Ready").unwrap();
    assert!(message.contains("re-render"), "{message}");
    let held = nats.lookup(&orders_id).await.unwrap().unwrap();
    assert_eq!(held.jwt, pushed.jwt, "nothing else was pushed");

    // Creds of an older render applied again, which the Account's JWT now revokes (the
    // auditor's, from the first render): the User is not Ready on them.
    let mut stale: Value = (first.split("---\n"))
        .find(|d| d.contains("name: auditor-nats-user-creds"))
        .map(|d| serde_saphyr::from_str(d).unwrap())
        .expect("the first render holds the auditor's creds");
    stale["metadata"]["name"] = json!("orders-service-nats-user-creds");
    apply(&client, &ns, stale).await;
    let refused = wait_for(&users, "orders-service", |u| {
        has_condition(u, "Ready", "False", "RenderOutdated")
    })
    .await;
    let (_, _, message) = nauth_tests::controller::condition(&refused, "Ready").unwrap();
    assert!(message.contains("revokes"), "{message}");

    // No account, signing or operator seed in any Secret of the cluster; user creds are there.
    let secrets = (Api::<Secret>::namespaced(client.clone(), &ns))
        .list(&ListParams::default())
        .await
        .unwrap();
    let mut user_seeds = 0;
    for s in &secrets.items {
        for value in s.data.iter().flatten().map(|(_, v)| text(&v.0)) {
            for seed in seeds_in(&value) {
                assert!(
                    seed.starts_with("SU"),
                    "Secret {} holds a seed of kind {}",
                    s.name_any(),
                    &seed[..2]
                );
                user_seeds += 1;
            }
        }
    }
    assert!(
        user_seeds >= 2,
        "the creds Secrets and the system creds are listed"
    );
    let logs = controller.logs();
    assert!(
        seeds_in(&logs).is_empty(),
        "no seed in the controller's logs"
    );
    controller.stop();
}
