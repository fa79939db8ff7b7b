//! The install tools of the test environment (helm, kustomize, crane: pinned and built by
//! `tests/testenv.sh`), run as child processes, and what they print as objects to apply.

use std::path::{Path, PathBuf};
use std::process::Command;

use kube::Client;
use kube::api::{Patch, PatchParams};
use serde_json::Value;

/// The repository root.
pub fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

/// Builds the binary `bin` with `cargo build PACKAGE_ARGS --bin BIN` in the target directory of
/// the running test, and returns its path.
pub fn cargo_build(package_args: &[&str], bin: &str) -> PathBuf {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let status = Command::new(cargo)
        .arg("build")
        .args(package_args)
        .args(["--bin", bin])
        .status()
        .expect("running cargo build");
    assert!(
        status.success(),
        "cargo build {package_args:?} --bin {bin} failed"
    );
    // Test binaries live in target/<profile>/deps; the others one level up.
    let exe = std::env::current_exe().unwrap();
    exe.parent().unwrap().parent().unwrap().join(bin)
}

/// A command for the tool whose path testenv.sh exports in `var` (`HELM_BIN`, ...).
pub fn tool(var: &str) -> Command {
    Command::new(crate::testenv::var(var))
}

/// Runs `command`; its stdout on success, else panics with its stderr.
pub fn stdout(command: &mut Command) -> String {
    match output(command) {
        Ok(out) => out,
        Err(err) => panic!("{command:?} failed:\n{err}"),
    }
}

/// Runs `command`: its stdout on success; when it fails, its stdout and stderr (helm lint
/// prints its findings on stdout).
pub fn output(command: &mut Command) -> Result<String, String> {
    let out = command
        .output()
        .unwrap_or_else(|e| panic!("running {command:?}: {e}"));
    let text = |b: Vec<u8>| String::from_utf8_lossy(&b).into_owned();
    if out.status.success() {
        Ok(text(out.stdout))
    } else {
        Err(text(out.stdout) + &text(out.stderr))
    }
}

/// The objects of a multi-document YAML stream, empty documents left out.
pub fn objects(yaml: &str) -> Vec<Value> {
    let docs: Vec<Value> =
        serde_saphyr::from_multiple(yaml).unwrap_or_else(|e| panic!("parsing YAML: {e}\n{yaml}"));
    docs.into_iter().filter(|d| !d.is_null()).collect()
}

/// The objects of `kind` among `objects`.
pub fn of_kind<'a>(objects: &'a [Value], kind: &str) -> Vec<&'a Value> {
    objects.iter().filter(|o| o["kind"] == kind).collect()
}

/// The one object of `kind`; panics unless there is exactly one.
pub fn only<'a>(objects: &'a [Value], kind: &str) -> &'a Value {
    match of_kind(objects, kind)[..] {
        [one] => one,
        ref all => panic!("expected one {kind}, found {}", all.len()),
    }
}

/// Server-side applies every object (namespaced ones in their own namespace, else in
/// `namespace`), as `kubectl apply --server-side` does; panics naming the object it fails on.
pub async fn apply_all(client: &Client, namespace: &str, objects: &[Value]) {
    let params = PatchParams::apply("nauth-tests").force();
    for object in objects {
        let api_version = object["apiVersion"].as_str().unwrap_or_default();
        let kind = object["kind"].as_str().unwrap_or_default();
        let name = object["metadata"]["name"].as_str().unwrap_or_default();
        let ns = object["metadata"]["namespace"]
            .as_str()
            .unwrap_or(namespace);
        let (api, _) = crate::cluster::dynamic_api(client, api_version, kind, ns)
            .await
            .unwrap_or_else(|| panic!("{api_version} {kind} is not served"));
        api.patch(name, &params, &Patch::Apply(object))
            .await
            .unwrap_or_else(|e| panic!("server-side apply of {kind} {ns}/{name}: {e}"));
    }
}
