//! The kustomize recipes of `kustomize/`, built by a real kustomize (>= 5.7, which
//! `tests/testenv.sh` builds and names in `KUSTOMIZE_BIN`) exactly as their comments say:
//! the KRM function renders the quickstart, and the Argo CD component adds a sidecar whose
//! plugin renders an application directory.
//!
//! `tests/testenv.sh run -- cargo test -p nauth-render-cli --test kustomize -- --include-ignored`

mod argocd;
mod common;
mod quickstart;

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use argocd::path_with_nauth_render;
use common::{nauth_render, text};
use nauth_render::keys::seed_root::{Role, SeedRoot};
use serde_json::Value;

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn quickstart() -> PathBuf {
    repo().join("examples/quickstart")
}

/// `kustomize build ARGS` in the repository, with nauth-render on `PATH`.
fn kustomize(args: &[&str]) -> Output {
    let bin = std::env::var_os("KUSTOMIZE_BIN").expect(
        "KUSTOMIZE_BIN is not set: run through tests/testenv.sh, or point it at kustomize >= 5.7",
    );
    Command::new(bin)
        .arg("build")
        .args(args)
        .current_dir(repo())
        .env("PATH", path_with_nauth_render())
        .env_remove("SOURCE_DATE_EPOCH")
        .env_remove("NAUTH_SEED_ROOT")
        .output()
        .unwrap()
}

/// `kustomize build ARGS`; fails the test unless it succeeds, and returns the built documents.
fn kustomize_build(args: &[&str]) -> Vec<Value> {
    let out = kustomize(args);
    assert!(
        out.status.success(),
        "kustomize build {args:?}: {}",
        text(&out.stderr)
    );
    serde_saphyr::from_multiple(&text(&out.stdout)).unwrap()
}

/// The quickstart rendered with its committed lock and seed root.
fn rendered_quickstart() -> Output {
    let (seed_root, lock) = (
        quickstart().join("seed-root"),
        quickstart().join("nauth.lock"),
    );
    let out = nauth_render(
        &[
            "render",
            quickstart().to_str().unwrap(),
            "--seed-root",
            seed_root.to_str().unwrap(),
            "--lock",
            lock.to_str().unwrap(),
            "--locked",
        ],
        "",
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    out
}

fn label(doc: &Value) -> String {
    format!(
        "{} {}/{}",
        doc["kind"].as_str().unwrap_or_default(),
        doc["metadata"]["namespace"].as_str().unwrap_or_default(),
        doc["metadata"]["name"].as_str().unwrap_or_default()
    )
}

#[test]
#[ignore = "needs kustomize (tests/testenv.sh)"]
fn the_krm_recipe_builds_the_quickstart_and_its_rendered_objects() {
    let built = kustomize_build(&[
        "--enable-alpha-plugins",
        "--enable-exec",
        "--load-restrictor",
        "LoadRestrictionsNone",
        "kustomize/krm",
    ]);
    let rendered: Vec<Value> =
        serde_saphyr::from_multiple(&text(&rendered_quickstart().stdout)).unwrap();
    assert_eq!(
        rendered.len(),
        4,
        "two account ConfigMaps, two creds Secrets"
    );
    for object in &rendered {
        assert!(
            built.contains(object),
            "{} is missing from the kustomize output, or differs",
            label(object)
        );
    }
    // The resources themselves pass through unchanged.
    let mut inputs = Vec::new();
    for file in ["accounts.yaml", "users.yaml", "nats-cluster.yaml"] {
        let text = fs::read_to_string(quickstart().join(file)).unwrap();
        inputs.extend(serde_saphyr::from_multiple::<Value>(&text).unwrap());
    }
    for object in &inputs {
        assert!(built.contains(object), "{} changed", label(object));
    }
}

#[test]
#[ignore = "needs kustomize (tests/testenv.sh)"]
fn kustomize_shows_why_the_krm_function_failed() {
    // The recipe on a copy of the quickstart whose lock was never rendered: krm never writes
    // the lock, so it fails, and kustomize must show why (it prints the function's stderr,
    // not its results).
    let dir = tempfile::tempdir().unwrap();
    quickstart::copy_manifests(dir.path());
    fs::remove_file(dir.path().join("nauth.lock")).unwrap();
    for keys in ["seed-root", "operator-signing-key.yaml"] {
        fs::copy(quickstart().join(keys), dir.path().join(keys)).unwrap();
    }
    let function = fs::read_to_string(repo().join("kustomize/krm/nauth-render.yaml")).unwrap();
    let function = function
        .replace("../../examples/quickstart/nauth.lock", "nauth.lock")
        .replace("../../examples/quickstart/seed-root", "seed-root");
    fs::write(dir.path().join("nauth-render.yaml"), function).unwrap();
    fs::write(
        dir.path().join("kustomization.yaml"),
        "resources: [nats-cluster.yaml, operator-signing-key.yaml, accounts.yaml, exports-imports.yaml, users.yaml]\n\
         transformers: [nauth-render.yaml]\n",
    )
    .unwrap();
    let out = kustomize(&[
        "--enable-alpha-plugins",
        "--enable-exec",
        dir.path().to_str().unwrap(),
    ]);
    assert!(!out.status.success());
    assert!(
        text(&out.stderr).contains(
            "nauth.lock is out of date: krm never changes the lock (it renders as `render \
             --locked`): run `nauth-render render` and commit the lock first"
        ),
        "{}",
        text(&out.stderr)
    );
    assert!(!dir.path().join("nauth.lock").exists(), "krm wrote no lock");
}

/// A stand-in for Argo CD's install manifests: the repo-server Deployment the component patches.
const REPO_SERVER: &str = include_str!("../../../tests/fixtures/argocd-repo-server.yaml");

#[test]
#[ignore = "needs kustomize (tests/testenv.sh)"]
fn the_argo_cd_component_adds_a_sidecar_whose_plugin_renders_an_application() {
    let dir = tempfile::tempdir().unwrap();
    let install = dir.path().join("argocd");
    fs::create_dir(&install).unwrap();
    fs::write(install.join("repo-server.yaml"), REPO_SERVER).unwrap();
    // kustomize takes components by relative path only: up to the root, then down.
    let component = fs::canonicalize(repo().join("kustomize/argocd")).unwrap();
    let install = fs::canonicalize(&install).unwrap();
    let up = "../".repeat(install.components().count() - 1);
    let relative = format!("{up}{}", component.strip_prefix("/").unwrap().display());
    fs::write(
        install.join("kustomization.yaml"),
        format!(
            "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\n\
             resources: [repo-server.yaml]\ncomponents: [{relative}]\n"
        ),
    )
    .unwrap();
    let built = kustomize_build(&[install.to_str().unwrap()]);

    let find = |kind: &str, name: &str| {
        built
            .iter()
            .find(|d| d["kind"] == kind && d["metadata"]["name"] == name)
            .unwrap_or_else(|| panic!("no {kind} {name} in the output"))
    };
    let plugin = find("ConfigMap", "nauth-render-plugin")["data"]["plugin.yaml"]
        .as_str()
        .unwrap();
    assert_eq!(
        plugin,
        fs::read_to_string(component.join("plugin.yaml")).unwrap()
    );
    let pod = &find("Deployment", "argocd-repo-server")["spec"]["template"]["spec"];
    let containers: Vec<&str> = (pod["containers"].as_array().unwrap().iter())
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    assert_eq!(containers, ["nauth-render", "argocd-repo-server"]);
    let sidecar = &pod["containers"][0];
    let mounted = |volume: &str| {
        (sidecar["volumeMounts"].as_array().unwrap().iter())
            .find(|m| m["name"] == volume)
            .and_then(|m| m["mountPath"].as_str())
            .unwrap_or_else(|| panic!("the sidecar does not mount {volume}"))
            .to_string()
    };
    assert_eq!(
        mounted("nauth-render-plugin"),
        "/home/argocd/cmp-server/config/plugin.yaml"
    );

    // The sidecar's environment, with its keys volume at a local directory holding the seed root,
    // runs the plugin's generate command in an application directory (a copy of the quickstart
    // without its seed root), as Argo CD would.
    let keys_mount = mounted("nauth-keys");
    let keys = dir.path().join("keys");
    fs::create_dir(&keys).unwrap();
    fs::copy(quickstart().join("seed-root"), keys.join("seed-root")).unwrap();
    let env: Vec<(String, String)> = (sidecar["env"].as_array().unwrap().iter())
        .map(|e| {
            let value = e["value"].as_str().unwrap();
            let value = match value.strip_prefix(&keys_mount) {
                Some(rest) => format!("{}{rest}", keys.display()),
                None => value.to_string(),
            };
            (e["name"].as_str().unwrap().to_string(), value)
        })
        .collect();
    let app = dir.path().join("app");
    fs::create_dir(&app).unwrap();
    for entry in fs::read_dir(quickstart()).unwrap() {
        let path = entry.unwrap().path();
        if path.file_name().unwrap() != "seed-root" {
            fs::copy(&path, app.join(path.file_name().unwrap())).unwrap();
        }
    }
    let plugin: Value = serde_saphyr::from_str(plugin).unwrap();
    let out = argocd::generate(&plugin, &app, &env);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let expected = text(&rendered_quickstart().stdout);
    assert_eq!(text(&out.stdout), expected);

    // A keys Secret holding only Secret manifests (no `seed-root`) works as well: the same
    // seeds as the seed root derives, as NAuth's account Secrets and the users' creds Secrets.
    fs::remove_file(keys.join("seed-root")).unwrap();
    let root = SeedRoot::new(&fs::read(quickstart().join("seed-root")).unwrap()).unwrap();
    let mut secrets = expected.clone();
    for account in ["orders", "billing"] {
        for (role, suffix) in [(Role::AccountRoot, "root"), (Role::AccountSign, "sign")] {
            let seed = root.derive(role, "shop", account, 0).seed().unwrap();
            secrets.push_str(&format!(
                "---\napiVersion: v1\nkind: Secret\n\
                 metadata: {{name: {account}-ac-{suffix}, namespace: shop}}\n\
                 stringData: {{default: {seed}}}\n"
            ));
        }
    }
    fs::write(keys.join("secrets.yaml"), secrets).unwrap();
    let out = argocd::generate(&plugin, &app, &env);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(text(&out.stdout), expected);
}
