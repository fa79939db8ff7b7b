//! Installing nauth-rs the ways platform teams do, with the pinned tools of tests/testenv.sh
//! against its real API server: the Helm chart `charts/nauth` (lint, schema, every variant
//! rendered and applied, RBAC asked of the API server, and the controller started from the
//! chart's own arguments and environment under the chart's ServiceAccount), the kustomize base and
//! overlays, and the images of the Dockerfile assembled without a container daemon (crane).

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::{Child, Command};

use k8s_openapi::api::authorization::v1::SubjectAccessReview;
use k8s_openapi::api::coordination::v1::Lease;
use kube::Client;
use kube::api::{Api, PostParams};
use nauth_render::api::{Account, User};
use nauth_tests::controller::{self, Controller};
use nauth_tests::tools::{apply_all, objects, of_kind, only, output, repo, stdout, tool};
use nauth_tests::{cluster, testenv};
use serde_json::{Value, json};

/// `helm template` of charts/nauth as release `release` in `namespace` with `--set` values.
fn helm_template(release: &str, namespace: &str, values: &[&str]) -> Vec<Value> {
    objects(&stdout(&mut helm_command(release, namespace, values)))
}

fn helm_command(release: &str, namespace: &str, values: &[&str]) -> Command {
    let mut helm = tool("HELM_BIN");
    helm.args(["template", release])
        .arg(repo().join("charts/nauth"))
        .args(["--namespace", namespace]);
    for value in values {
        helm.args(["--set", value]);
    }
    helm
}

/// The (group, resource, verbs) of every rule of the Roles and ClusterRoles among `objects`.
fn rules(objects: &[Value]) -> Vec<(String, String, BTreeSet<String>)> {
    let strings = |v: &Value| -> Vec<String> {
        let all = v.as_array().cloned().unwrap_or_default();
        all.iter()
            .map(|s| s.as_str().unwrap().to_string())
            .collect()
    };
    let roles = of_kind(objects, "Role")
        .into_iter()
        .chain(of_kind(objects, "ClusterRole"));
    let mut out = Vec::new();
    for role in roles {
        for rule in role["rules"].as_array().unwrap() {
            let verbs: BTreeSet<String> = strings(&rule["verbs"]).into_iter().collect();
            for group in strings(&rule["apiGroups"]) {
                for resource in strings(&rule["resources"]) {
                    out.push((group.clone(), resource, verbs.clone()));
                }
            }
        }
    }
    out
}

/// The verbs the rules grant on `group`/`resource`.
fn verbs(objects: &[Value], group: &str, resource: &str) -> BTreeSet<String> {
    rules(objects)
        .into_iter()
        .filter(|(g, r, _)| g == group && r == resource)
        .flat_map(|(_, _, v)| v)
        .collect()
}

fn set(verbs: &[&str]) -> BTreeSet<String> {
    verbs.iter().map(|v| v.to_string()).collect()
}

/// The controller container of the chart's Deployment.
fn container(objects: &[Value]) -> &Value {
    &only(objects, "Deployment")["spec"]["template"]["spec"]["containers"][0]
}

fn args(objects: &[Value]) -> Vec<String> {
    let args = container(objects)["args"].as_array().unwrap();
    args.iter()
        .map(|a| a.as_str().unwrap().to_string())
        .collect()
}

/// The checks every rendering of the chart passes: a hardened pod with requests and limits, and
/// RBAC that never creates or deletes a nauth.io object nor grants a wildcard.
fn assert_hardened_and_least_privilege(objects: &[Value]) {
    let pod = &only(objects, "Deployment")["spec"]["template"]["spec"];
    let c = container(objects);
    let sc = &c["securityContext"];
    assert_eq!(pod["securityContext"]["runAsNonRoot"], true);
    assert_eq!(sc["runAsNonRoot"], true);
    assert_ne!(sc["runAsUser"], 0);
    assert_eq!(sc["readOnlyRootFilesystem"], true);
    assert_eq!(sc["allowPrivilegeEscalation"], false);
    assert_eq!(sc["capabilities"]["drop"], json!(["ALL"]));
    assert_eq!(sc["seccompProfile"]["type"], "RuntimeDefault");
    assert_eq!(
        pod["securityContext"]["seccompProfile"]["type"],
        "RuntimeDefault"
    );
    for kind in ["requests", "limits"] {
        for resource in ["cpu", "memory"] {
            assert!(
                c["resources"][kind][resource].is_string(),
                "no {kind}.{resource}"
            );
        }
    }
    for (group, resource, verbs) in rules(objects) {
        assert!(
            group != "*" && resource != "*" && !verbs.contains("*"),
            "a wildcard rule"
        );
        if group == "nauth.io" {
            assert!(
                !verbs.contains("create") && !verbs.contains("delete"),
                "{resource}: {verbs:?}"
            );
        }
    }
}

#[test]
#[ignore = "needs helm (tests/testenv.sh)"]
fn the_chart_lints_and_its_variants_render_hardened_and_least_privilege() {
    let chart = repo().join("charts/nauth");
    stdout(tool("HELM_BIN").args(["lint", "--strict"]).arg(&chart));
    // Not --strict: a CRD-only chart has no templates/, which lint warns about.
    stdout(
        tool("HELM_BIN")
            .arg("lint")
            .arg(repo().join("charts/nauth-crds")),
    );
    let all = "namespaced=true,preRendered=true,monitoring.enabled=true,\
               monitoring.serviceMonitor.enabled=true";
    stdout(
        tool("HELM_BIN")
            .args(["lint", "--strict", "--set", all])
            .arg(&chart),
    );

    // The default: cluster-wide, leader election, no metrics; Secrets written.
    let default = helm_template("nauth", "nauth-system", &[]);
    assert_hardened_and_least_privilege(&default);
    assert_eq!(
        args(&default),
        [
            "--health-probe-bind-address=:8081",
            "--metrics-bind-address=0",
            "--leader-elect"
        ]
    );
    assert_eq!(only(&default, "ClusterRole")["metadata"]["name"], "nauth");
    assert!(of_kind(&default, "Service").is_empty());
    assert_eq!(
        verbs(&default, "", "secrets"),
        set(&["get", "list", "watch", "create", "patch", "delete"])
    );
    assert_eq!(
        verbs(&default, "coordination.k8s.io", "leases"),
        set(&["get", "create", "update"])
    );

    // Pre-rendered: the flag, and no Secret or ConfigMap write verb at all.
    let pre = helm_template("nauth", "nauth-system", &["preRendered=true"]);
    assert_hardened_and_least_privilege(&pre);
    assert!(args(&pre).contains(&"--pre-rendered".to_string()));
    assert_read_only(&pre);

    // One namespace: a Role there, and only listing Accounts cluster-wide.
    let one = helm_template(
        "nauth",
        "team-a",
        &["namespaced=true", "leaderElection.enabled=false"],
    );
    assert_hardened_and_least_privilege(&one);
    assert!(args(&one).contains(&"--namespace=team-a".to_string()));
    assert!(!args(&one).contains(&"--leader-elect".to_string()));
    assert_eq!(only(&one, "Role")["metadata"]["namespace"], "team-a");
    let cluster_wide = rules(
        &of_kind(&one, "ClusterRole")
            .into_iter()
            .cloned()
            .collect::<Vec<_>>(),
    );
    let list_accounts = (
        String::from("nauth.io"),
        String::from("accounts"),
        set(&["list"]),
    );
    assert_eq!(cluster_wide, [list_accounts]);

    // A NAuth user's values file keeps working, mapped to our flags and environment.
    let dir = tempfile::tempdir().unwrap();
    let nauth_values = dir.path().join("nauth-values.yaml");
    std::fs::write(&nauth_values, NAUTH_VALUES).unwrap();
    let mut helm = helm_command("nauth", "nats", &[]);
    let from_nauth = objects(&stdout(helm.arg("--values").arg(&nauth_values)));
    assert_hardened_and_least_privilege(&from_nauth);
    let env: Vec<Value> = container(&from_nauth)["env"].as_array().unwrap().clone();
    assert!(env.contains(&json!({"name": "NATS_CLUSTER_REF", "value": "nats-system/main"})));
    assert!(env.contains(&json!({"name": "NATS_CLUSTER_REF_OPTIONAL", "value": "true"})));
    let a = args(&from_nauth);
    for flag in [
        "--log-format=json",
        "--log-level=debug",
        "--namespace=nats",
        "--metrics-bind-address=:8080",
    ] {
        assert!(a.contains(&flag.to_string()), "{flag} not in {a:?}");
    }
    assert_eq!(
        container(&from_nauth)["image"],
        "registry.example.com/nauth-apply:0.1.0"
    );
    assert_eq!(
        only(&from_nauth, "Deployment")["metadata"]["labels"]["team"],
        "potato"
    );
    assert_eq!(
        only(&from_nauth, "Service")["spec"]["ports"][0]["port"],
        8080
    );
    assert_eq!(
        only(&from_nauth, "ServiceMonitor")["spec"]["endpoints"][0]["port"],
        "http-metrics"
    );
    assert_eq!(
        only(&from_nauth, "ConfigMap")["metadata"]["name"],
        "extra-nauth"
    );

    // values.schema.json refuses what the controller would refuse at start-up.
    for bad in [
        "logging.format=xml",
        "resyncInterval=0",
        "ports.health=0",
        "unknown=1",
    ] {
        let Err(refused) = output(&mut helm_command("nauth", "nats", &[bad])) else {
            panic!("the chart accepted {bad}");
        };
        let key = bad.split(['=', '.']).next().unwrap();
        assert!(refused.contains(key), "{bad}: {refused}");
    }
}

/// Values a NAuth user may have written for NAuth's chart.
const NAUTH_VALUES: &str = "\
global:
  labels: {team: potato}
nats:
  clusterRef: {name: main, namespace: nats-system, optional: true}
image: {registry: registry.example.com, repository: nauth-apply, pullPolicy: Always}
namespaced: true
logging: {format: json, level: debug}
monitoring:
  enabled: true
  serviceMonitor: {enabled: true}
crds: {install: true, keep: true}
resources:
  limits: {cpu: 100m, memory: 128Mi}
  requests: {cpu: 10m, memory: 64Mi}
livenessProbe:
  httpGet: {path: /healthz, port: 8081}
extraResources:
  - apiVersion: v1
    kind: ConfigMap
    metadata:
      name: 'extra-{{ .Release.Name }}'
";

/// Whether the API server's authorizer lets `user` do `verb` on `group`/`resource` in
/// `namespace` (all namespaces when `None`).
async fn allowed(
    client: &Client,
    user: &str,
    verb: &str,
    group: &str,
    resource: &str,
    namespace: Option<&str>,
) -> bool {
    let review: SubjectAccessReview = serde_json::from_value(json!({
        "spec": {
            "user": user,
            "resourceAttributes": {
                "verb": verb, "group": group, "resource": resource, "namespace": namespace
            }
        }
    }))
    .unwrap();
    let reviews = Api::<SubjectAccessReview>::all(client.clone());
    let review = reviews
        .create(&PostParams::default(), &review)
        .await
        .unwrap();
    review.status.unwrap().allowed
}

/// Waits until [`allowed`] says yes: the authorizer sees new Roles and bindings a moment after
/// they are written. Panics after [`controller::SETTLE`].
async fn wait_allowed(
    client: &Client,
    user: &str,
    verb: &str,
    group: &str,
    resource: &str,
    namespace: Option<&str>,
) {
    let deadline = tokio::time::Instant::now() + controller::SETTLE;
    while !allowed(client, user, verb, group, resource, namespace).await {
        assert!(
            tokio::time::Instant::now() < deadline,
            "{user} may not {verb} {group}/{resource} in {namespace:?}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
}

/// Appends `suffix` to the names of ClusterRoles and ClusterRoleBindings and to the references
/// to them, so that builds applied side by side do not share cluster-wide RBAC objects.
fn own_cluster_roles(objects: &mut [Value], suffix: &str) {
    for o in objects {
        let kind = o["kind"].as_str().unwrap_or_default().to_string();
        if kind == "ClusterRole" || kind == "ClusterRoleBinding" {
            let name = format!("{}-{suffix}", o["metadata"]["name"].as_str().unwrap());
            o["metadata"]["name"] = json!(name);
        }
        if kind.ends_with("RoleBinding") && o["roleRef"]["kind"] == "ClusterRole" {
            let name = format!("{}-{suffix}", o["roleRef"]["name"].as_str().unwrap());
            o["roleRef"]["name"] = json!(name);
        }
    }
}

fn service_account(objects: &[Value], namespace: &str) -> String {
    let name = only(objects, "ServiceAccount")["metadata"]["name"]
        .as_str()
        .unwrap()
        .to_string();
    format!("system:serviceaccount:{namespace}:{name}")
}

#[tokio::test]
#[ignore = "needs tests/testenv.sh"]
async fn every_chart_variant_applies_and_the_api_server_grants_only_what_it_needs() {
    let client = cluster::client().await;
    cluster::install_crds().await;
    let other = cluster::fresh_namespace(&client, "chart-other").await;

    let ns = cluster::fresh_namespace(&client, "chart-default").await;
    let default = helm_template(&ns, &ns, &["monitoring.enabled=true"]);
    apply_all(&client, &ns, &default).await;
    let sa = service_account(&default, &ns);
    for (verb, resource) in [
        ("patch", "accounts"),
        ("watch", "users"),
        ("patch", "users/status"),
    ] {
        wait_allowed(&client, &sa, verb, "nauth.io", resource, Some(&other)).await;
    }
    for (verb, resource) in [
        ("create", "accounts"),
        ("delete", "users"),
        ("update", "accounts"),
    ] {
        assert!(!allowed(&client, &sa, verb, "nauth.io", resource, Some(&other)).await);
    }
    wait_allowed(&client, &sa, "create", "", "secrets", Some(&other)).await;
    wait_allowed(
        &client,
        &sa,
        "create",
        "coordination.k8s.io",
        "leases",
        Some(&ns),
    )
    .await;
    assert!(
        !allowed(
            &client,
            &sa,
            "create",
            "coordination.k8s.io",
            "leases",
            Some(&other)
        )
        .await
    );
    assert!(!allowed(&client, &sa, "create", "", "pods", Some(&ns)).await);

    let ns = cluster::fresh_namespace(&client, "chart-pre-rendered").await;
    let pre = helm_template(&ns, &ns, &["preRendered=true"]);
    apply_all(&client, &ns, &pre).await;
    let sa = service_account(&pre, &ns);
    wait_allowed(&client, &sa, "watch", "", "secrets", None).await;
    for verb in ["create", "patch", "update", "delete", "deletecollection"] {
        assert!(
            !allowed(&client, &sa, verb, "", "secrets", Some(&ns)).await,
            "{verb}"
        );
        assert!(
            !allowed(&client, &sa, verb, "", "configmaps", Some(&ns)).await,
            "{verb} configmaps"
        );
        assert!(
            !allowed(&client, &sa, verb, "", "secrets", Some(&other)).await,
            "{verb}"
        );
    }

    let ns = cluster::fresh_namespace(&client, "chart-namespaced").await;
    let one = helm_template(&ns, &ns, &["namespaced=true"]);
    apply_all(&client, &ns, &one).await;
    let sa = service_account(&one, &ns);
    wait_allowed(&client, &sa, "patch", "", "secrets", Some(&ns)).await;
    assert!(!allowed(&client, &sa, "get", "", "secrets", Some(&other)).await);
    assert!(!allowed(&client, &sa, "watch", "nauth.io", "accounts", Some(&other)).await);
    wait_allowed(&client, &sa, "list", "nauth.io", "accounts", None).await;
}

/// A free TCP port on 127.0.0.1 (the kernel's pick, released for the caller to bind).
fn free_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap().port()
}

/// The container's environment as the kubelet would give it in `namespace`: values as they
/// are, `fieldRef: metadata.namespace` resolved; any other source is a failure.
fn container_env(objects: &[Value], namespace: &str) -> Vec<(String, String)> {
    let env = container(objects)["env"].as_array().unwrap();
    env.iter()
        .map(|e| {
            let name = e["name"].as_str().unwrap().to_string();
            let value = match (&e["value"], &e["valueFrom"]["fieldRef"]["fieldPath"]) {
                (Value::String(v), _) => v.clone(),
                (_, Value::String(path)) if path == "metadata.namespace" => namespace.into(),
                _ => panic!("env {name}: a source the test does not resolve: {e}"),
            };
            (name, value)
        })
        .collect()
}

/// The testenv kubeconfig with every user impersonating `user`, written into `dir`.
fn kubeconfig_as(dir: &Path, user: &str) -> PathBuf {
    let text = std::fs::read_to_string(testenv::var("KUBECONFIG")).unwrap();
    let mut config: Value = serde_saphyr::from_str(&text).unwrap();
    for entry in config["users"].as_array_mut().unwrap() {
        entry["user"]["as"] = json!(user);
    }
    let path = dir.join("kubeconfig");
    std::fs::write(&path, serde_json::to_string(&config).unwrap()).unwrap();
    path
}

#[tokio::test]
#[ignore = "needs tests/testenv.sh"]
async fn the_controller_started_from_the_chart_under_its_service_account_reconciles_a_quickstart() {
    let client = cluster::client().await;
    let ns = cluster::fresh_namespace(&client, "chart-controller").await;
    controller::setup(&client, &ns).await;
    let health = free_port();
    let cluster_ref = format!("nats.clusterRef.name={}", controller::CLUSTER);
    let health_port = format!("ports.health={health}");
    let chart = helm_template(&ns, &ns, &["namespaced=true", &cluster_ref, &health_port]);
    let rest: Vec<Value> = chart
        .iter()
        .filter(|o| o["kind"] != "Deployment")
        .cloned()
        .collect();
    apply_all(&client, &ns, &rest).await;

    // The Deployment's container as a process: its args and env exactly, the API server reached
    // as its ServiceAccount (impersonated), so a missing RBAC rule fails the reconcile.
    let dir = tempfile::tempdir().unwrap();
    let sa = service_account(&chart, &ns);
    let mut env = container_env(&chart, &ns);
    let kubeconfig = kubeconfig_as(dir.path(), &sa);
    env.push(("KUBECONFIG".into(), kubeconfig.display().to_string()));
    let ctl = Controller::start_exactly(&args(&chart), &env).await;

    // The quickstart: an Account with no cluster reference (the chart's NATS_CLUSTER_REF) and a User.
    let accounts: Api<Account> = Api::namespaced(client.clone(), &ns);
    let account = controller::resource("Account", &ns, "quickstart", json!({}));
    controller::apply_until(&client, &accounts, account, controller::ready).await;
    let users: Api<User> = Api::namespaced(client.clone(), &ns);
    let user = controller::user(&ns, "app", json!({"accountName": "quickstart"}));
    controller::apply_until(&client, &users, user, controller::ready).await;
    let creds = controller::creds(&client, &ns, "app").await;
    assert!(
        controller::may_publish(&creds, "orders.created").await,
        "{}",
        ctl.logs()
    );

    // Leader election took the Lease in the release namespace; the probe port is the chart's.
    let leases: Api<Lease> = Api::namespaced(client.clone(), &ns);
    let lease = leases.get("949483fb.nauth.io").await.unwrap();
    assert!(lease.spec.unwrap().holder_identity.is_some());
    let (code, body) = controller::http_get(([127, 0, 0, 1], health).into(), "/readyz").await;
    assert_eq!(code, 200, "{body}");
    let logs = ctl.logs();
    assert!(!logs.to_lowercase().contains("forbidden"), "{logs}");
    assert!(controller::seeds_in(&logs).is_empty());
}

/// `kustomize build` of a kustomization written in a temporary directory: `namespace` set,
/// the repository paths `resources` and `components` (kustomize takes them relative to it),
/// and `files` (name, text) written beside it as further resources.
fn kustomize_build(
    namespace: &str,
    resources: &[&str],
    files: &[(&str, &str)],
    components: &[&str],
) -> Vec<Value> {
    let dir = tempfile::tempdir().unwrap();
    let root = std::fs::canonicalize(dir.path()).unwrap();
    let up = "../".repeat(root.components().count() - 1);
    let entry = |p: &str| {
        let abs = std::fs::canonicalize(repo().join(p)).unwrap();
        format!("  - {up}{}\n", abs.strip_prefix("/").unwrap().display())
    };
    let mut kustomization = format!(
        "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\n\
         namespace: {namespace}\nresources:\n"
    );
    kustomization.extend(resources.iter().map(|p| entry(p)));
    for (name, text) in files {
        std::fs::write(root.join(name), text).unwrap();
        kustomization.push_str(&format!("  - {name}\n"));
    }
    if !components.is_empty() {
        kustomization.push_str("components:\n");
        kustomization.extend(components.iter().map(|p| entry(p)));
    }
    std::fs::write(root.join("kustomization.yaml"), kustomization).unwrap();
    objects(&stdout(tool("KUSTOMIZE_BIN").arg("build").arg(&root)))
}

/// Pre-rendered RBAC: Secrets and ConfigMaps are read, never written.
fn assert_read_only(objects: &[Value]) {
    for resource in ["secrets", "configmaps"] {
        let read = set(&["get", "list", "watch"]);
        assert_eq!(verbs(objects, "", resource), read, "{resource}");
    }
}

/// A stand-in for Argo CD's install manifests: the repo-server Deployment its component patches.
const REPO_SERVER: &str = include_str!("../fixtures/argocd-repo-server.yaml");

#[test]
#[ignore = "needs helm and kustomize (tests/testenv.sh)"]
fn the_kustomize_base_is_the_chart_and_the_generated_crds() {
    let base = repo().join("kustomize/base");
    let crds = std::fs::read_to_string(base.join("crds.yaml")).unwrap();
    let generated =
        std::fs::read_to_string(repo().join("charts/nauth-crds/crds/nauth.io.yaml")).unwrap();
    assert!(
        crds == generated,
        "kustomize/base/crds.yaml differs from charts/nauth-crds; see kustomize/README.md"
    );
    let chart = stdout(&mut helm_command("nauth", "nauth-system", &[]));
    let committed = std::fs::read_to_string(base.join("nauth.yaml")).unwrap();
    assert!(
        committed == chart,
        "kustomize/base/nauth.yaml differs from `helm template`; see kustomize/README.md"
    );
}

#[tokio::test]
#[ignore = "needs tests/testenv.sh"]
async fn kustomize_overlays_build_and_apply() {
    let client = cluster::client().await;

    let ns = cluster::fresh_namespace(&client, "kustomize-cluster-wide").await;
    let wide = kustomize_build(&ns, &["kustomize/overlays/cluster-wide"], &[], &[]);
    assert_hardened_and_least_privilege(&wide);
    assert_eq!(of_kind(&wide, "CustomResourceDefinition").len(), 6);
    assert_eq!(
        container(&wide)["image"],
        "ghcr.io/nauth-rs/nauth-apply:0.1.0"
    );
    assert_eq!(
        only(&wide, "ClusterRoleBinding")["subjects"][0]["namespace"],
        ns.as_str()
    );
    let mut wide = wide;
    own_cluster_roles(&mut wide, &ns);
    apply_all(&client, &ns, &wide).await;
    wait_allowed(
        &client,
        &format!("system:serviceaccount:{ns}:nauth"),
        "create",
        "",
        "secrets",
        Some("default"),
    )
    .await;

    let ns = cluster::fresh_namespace(&client, "kustomize-single-namespace").await;
    let one = kustomize_build(&ns, &["kustomize/overlays/single-namespace"], &[], &[]);
    assert_hardened_and_least_privilege(&one);
    assert!(args(&one).contains(&"--namespace=$(POD_NAMESPACE)".to_string()));
    let bindings = of_kind(&one, "ClusterRoleBinding");
    assert!(
        bindings
            .iter()
            .all(|b| b["roleRef"]["name"] == "nauth-bound-accounts")
    );
    for binding in bindings.iter().chain(&of_kind(&one, "RoleBinding")) {
        assert_eq!(binding["subjects"][0]["namespace"], ns.as_str());
    }
    let mut one = one;
    own_cluster_roles(&mut one, &ns);
    apply_all(&client, &ns, &one).await;
    let sa = format!("system:serviceaccount:{ns}:nauth");
    wait_allowed(&client, &sa, "patch", "", "secrets", Some(&ns)).await;
    assert!(!allowed(&client, &sa, "get", "", "secrets", Some("default")).await);

    // Pre-rendered, with Argo CD's repo-server (a stand-in) and the plugin component beside it.
    let ns = cluster::fresh_namespace(&client, "kustomize-pre-rendered").await;
    let pre = kustomize_build(
        &ns,
        &["kustomize/overlays/pre-rendered"],
        &[("repo-server.yaml", REPO_SERVER)],
        &["kustomize/argocd"],
    );
    let (repo_server, controller): (Vec<Value>, Vec<Value>) =
        (pre.iter().cloned()).partition(|o| o["metadata"]["name"] == "argocd-repo-server");
    assert_hardened_and_least_privilege(&controller);
    assert!(args(&controller).contains(&"--pre-rendered".to_string()));
    assert_read_only(&pre);
    let sidecars = only(&repo_server, "Deployment")["spec"]["template"]["spec"]["containers"]
        .as_array()
        .unwrap();
    assert!(sidecars.iter().any(|c| c["name"] == "nauth-render"));
    let mut pre = pre;
    own_cluster_roles(&mut pre, &ns);
    apply_all(&client, &ns, &pre).await;
    let sa = format!("system:serviceaccount:{ns}:nauth");
    wait_allowed(&client, &sa, "watch", "", "secrets", Some(&ns)).await;
    assert!(!allowed(&client, &sa, "create", "", "secrets", Some(&ns)).await);
}

/// The rustc target of the images' static binaries.
const MUSL: &str = "x86_64-unknown-linux-musl";

/// The variable that names the C compiler of [`MUSL`] for the `cc` crate (ring has C code).
const MUSL_CC: &str = "CC_x86_64_unknown_linux_musl";

/// [`MUSL_CC`] as set, else musl's cross compiler when installed, else the host's `gcc`, which
/// builds ring's C for musl as well (this test links and runs the result).
fn musl_cc() -> String {
    std::env::var(MUSL_CC).unwrap_or_else(|_| {
        let path = std::env::var_os("PATH").unwrap_or_default();
        let cross = std::env::split_paths(&path).any(|d| d.join("x86_64-linux-musl-gcc").is_file());
        if cross {
            "x86_64-linux-musl-gcc"
        } else {
            "gcc"
        }
        .to_string()
    })
}

/// Builds nauth-apply and nauth-render for [`MUSL`] (debug: the suite checks the packaging, the
/// release build is the Dockerfile's) and returns the directory holding them.
fn static_binaries() -> PathBuf {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let status = Command::new(cargo)
        .args([
            "build",
            "--locked",
            "--target",
            MUSL,
            "-p",
            "nauth-apply",
            "-p",
            "nauth-render-cli",
        ])
        .env(MUSL_CC, musl_cc())
        .status()
        .expect("running cargo build");
    assert!(
        status.success(),
        "cargo build --target {MUSL} failed (`rustup target add {MUSL}`?)"
    );
    // Test binaries live in <target>/debug/deps.
    let exe = std::env::current_exe().unwrap();
    exe.ancestors().nth(3).unwrap().join(MUSL).join("debug")
}

/// Whether `elf` is an ELF executable without an interpreter (PT_INTERP): nothing to load it
/// but the kernel, so it runs in an empty image.
fn is_static_elf(elf: &[u8]) -> bool {
    const PT_INTERP: u32 = 3;
    let u16_at = |o: usize| u16::from_le_bytes([elf[o], elf[o + 1]]) as usize;
    let u32_at = |o: usize| u32::from_le_bytes(elf[o..o + 4].try_into().unwrap());
    let u64_at = |o: usize| u64::from_le_bytes(elf[o..o + 8].try_into().unwrap()) as usize;
    // 64-bit little-endian; program headers at e_phoff, e_phnum of e_phentsize bytes.
    assert!(
        elf.starts_with(b"\x7fELF\x02\x01"),
        "not a 64-bit little-endian ELF file"
    );
    let (phoff, phentsize, phnum) = (u64_at(0x20), u16_at(0x36), u16_at(0x38));
    (0..phnum).all(|i| u32_at(phoff + i * phentsize) != PT_INTERP)
}

/// The `USER` and `ENTRYPOINT` of the Dockerfile's stage `stage`.
fn dockerfile_stage(stage: &str) -> (String, Vec<String>) {
    let dockerfile = std::fs::read_to_string(repo().join("Dockerfile")).unwrap();
    let header = format!(" AS {stage}");
    let lines: Vec<&str> = dockerfile
        .lines()
        .skip_while(|l| !(l.starts_with("FROM ") && l.ends_with(&header)))
        .skip(1)
        .take_while(|l| !l.starts_with("FROM "))
        .collect();
    let value = |key: &str| {
        lines
            .iter()
            .find_map(|l| l.strip_prefix(key))
            .unwrap_or_else(|| panic!("{stage}: no {key}"))
    };
    let entrypoint = serde_json::from_str(value("ENTRYPOINT ")).unwrap();
    (value("USER ").to_string(), entrypoint)
}

/// `crane registry serve`: an in-memory OCI registry on loopback, stopped when dropped.
struct Registry {
    child: Child,
    address: String,
}

impl Registry {
    fn start() -> Registry {
        let address = format!("127.0.0.1:{}", free_port());
        let child = tool("CRANE_BIN")
            .args(["registry", "serve", "--address", &address])
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("starting crane registry serve");
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
        while std::net::TcpStream::connect(&address).is_err() {
            assert!(
                std::time::Instant::now() < deadline,
                "crane registry not listening on {address}"
            );
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
        Registry { child, address }
    }
}

impl Drop for Registry {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
#[ignore = "needs crane (tests/testenv.sh) and the x86_64-unknown-linux-musl target"]
fn images_built_without_a_daemon_are_static_non_root_and_run_their_entrypoint() {
    testenv::require();
    let binaries = static_binaries();
    let registry = Registry::start();
    let crane = |args: &[&str]| stdout(tool("CRANE_BIN").arg("--insecure").args(args));
    for (stage, binary) in [
        ("nauth-apply", "nauth-apply"),
        ("nauth-render", "nauth-render"),
    ] {
        let (user, entrypoint) = dockerfile_stage(stage);
        let dir = tempfile::tempdir().unwrap();
        // One layer holding the binary at the entrypoint's path, owned by root, mode 0755.
        let root = dir.path().join("root");
        let target = root.join(entrypoint[0].trim_start_matches('/'));
        std::fs::create_dir_all(target.parent().unwrap()).unwrap();
        std::fs::copy(binaries.join(binary), &target).unwrap();
        let layer = dir.path().join("layer.tar");
        stdout(
            Command::new("tar")
                .args([
                    "--create",
                    "--owner=0",
                    "--group=0",
                    "--numeric-owner",
                    "--mode=0755",
                    "--file",
                ])
                .arg(&layer)
                .arg("-C")
                .arg(&root)
                .arg("."),
        );
        let image = format!("{}/{stage}:test", registry.address);
        let layer = layer.display().to_string();
        crane(&[
            "append",
            "--oci-empty-base",
            "--new_layer",
            &layer,
            "--new_tag",
            &image,
        ]);
        crane(&[
            "mutate",
            &image,
            "--user",
            &user,
            "--entrypoint",
            &entrypoint.join(","),
            "--set-platform",
            "linux/amd64",
            "--tag",
            &image,
        ]);

        let config: Value = serde_json::from_str(&crane(&["config", &image])).unwrap();
        assert_eq!(config["config"]["User"], "65532:65532");
        assert_eq!(
            config["config"]["Entrypoint"],
            json!([format!("/{binary}")])
        );
        // An OCI layout, the artifact a release would push; and the image's filesystem.
        let layout = dir.path().join("layout");
        crane(&[
            "pull",
            "--format",
            "oci",
            &image,
            &layout.display().to_string(),
        ]);
        assert!(layout.join("index.json").is_file());
        let fs = dir.path().join("fs");
        std::fs::create_dir(&fs).unwrap();
        let exported = dir.path().join("fs.tar").display().to_string();
        crane(&["export", &image, &exported]);
        stdout(
            Command::new("tar")
                .args(["--extract", "--file", &exported, "-C"])
                .arg(&fs),
        );
        let files: Vec<String> = stdout(Command::new("tar").args(["--list", "--file", &exported]))
            .lines()
            .map(|l| l.trim_start_matches("./").to_string())
            .filter(|l| !l.is_empty() && l != "." && !l.ends_with('/'))
            .collect();
        assert_eq!(
            files,
            [binary],
            "the image holds the binary and nothing else (no shell)"
        );
        let entry = fs.join(binary);
        assert!(
            is_static_elf(&std::fs::read(&entry).unwrap()),
            "{binary} is dynamically linked"
        );
        let version = stdout(Command::new(&entry).arg("--version").env_clear());
        assert_eq!(
            version.trim(),
            format!("{binary} {}", env!("CARGO_PKG_VERSION"))
        );
    }
}

#[test]
fn a_dynamically_linked_elf_is_told_from_a_static_one() {
    // This test binary itself: linked against the system's libc, so it has an interpreter.
    let exe = std::fs::read(std::env::current_exe().unwrap()).unwrap();
    assert!(!is_static_elf(&exe));
}
