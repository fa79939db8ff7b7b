//! NAuth's deprecated NATS_URL mode: the Secrets labelled `nauth.io/secret-type: operator-sign`
//! and `system-account-user-creds` among the inputs stand in for the operator's NatsCluster,
//! so a tree set up that way renders offline, with the bytes a real NatsCluster referencing the
//! same Secrets gives.

mod common;

use common::{nauth_render, text};

use std::fs;
use std::path::Path;

/// An Account without `spec.natsClusterRef` and a User of it.
const ACCOUNT_AND_USER: &str = "\
apiVersion: nauth.io/v1alpha1
kind: Account
metadata: {name: orders, namespace: shop}
spec: {accountLimits: {conn: 10}}
---
apiVersion: nauth.io/v1alpha1
kind: User
metadata: {name: app, namespace: shop}
spec: {accountName: orders}
";

const ISSUED_AT: &str = "1800000000";

/// A tree in `dir` with bootstrap's operator signing key and system user creds Secrets
/// labelled for the NATS_URL mode, a seed root, and [`ACCOUNT_AND_USER`]; with
/// `nats_cluster`, bootstrap's NatsCluster `nats/nats` referencing the same Secrets too.
fn tree(bootstrap: &Path, dir: &Path, nats_cluster: bool) {
    fs::create_dir_all(dir).unwrap();
    for (file, kind) in [
        ("operator-signing-key.yaml", "operator-sign"),
        (
            "system-account-user-creds.yaml",
            "system-account-user-creds",
        ),
    ] {
        labelled(&bootstrap.join(file), &dir.join(file), kind);
    }
    if nats_cluster {
        fs::copy(
            bootstrap.join("nats-cluster.yaml"),
            dir.join("nats-cluster.yaml"),
        )
        .unwrap();
    }
    fs::write(dir.join("accounts.yaml"), ACCOUNT_AND_USER).unwrap();
}

/// Copies the Secret at `from` to `to` with the label `nauth.io/secret-type: kind`.
fn labelled(from: &Path, to: &Path, kind: &str) {
    let yaml = fs::read_to_string(from).unwrap();
    assert!(yaml.contains("\nmetadata:\n"), "{yaml}");
    let yaml = yaml.replace(
        "\nmetadata:\n",
        &format!("\nmetadata:\n  labels:\n    nauth.io/secret-type: {kind}\n"),
    );
    fs::write(to, yaml).unwrap();
}

/// A new operator, system account and system user (`nauth-render bootstrap`) in `dir`.
fn bootstrap(dir: &Path) {
    let out = nauth_render(&["bootstrap", "--out", dir.to_str().unwrap()], "");
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
}

fn render(dir: &Path, seed_root: &Path, extra: &[&str]) -> std::process::Output {
    let mut args = vec![
        "render",
        dir.to_str().unwrap(),
        "--seed-root",
        seed_root.to_str().unwrap(),
        "--issued-at",
        ISSUED_AT,
    ];
    args.extend(extra);
    nauth_render(&args, "")
}

/// Whether `text` holds something shaped like an nkey seed.
fn has_seed(text: &str) -> bool {
    text.split(|c: char| !c.is_ascii_alphanumeric()).any(|w| {
        w.len() >= 52
            && w.starts_with('S')
            && w[1..2].chars().all(|c| "OAUNCXP".contains(c))
            && w[2..]
                .chars()
                .all(|c| c.is_ascii_uppercase() || ('2'..='7').contains(&c))
    })
}

#[test]
fn labelled_secrets_stand_in_for_the_nats_cluster_with_the_same_bytes() {
    let dir = tempfile::tempdir().unwrap();
    let (keys, seed_root) = (dir.path().join("bootstrap"), dir.path().join("seed-root"));
    bootstrap(&keys);
    fs::write(&seed_root, "a seed root of the test, 32 bytes or more long").unwrap();
    let (legacy, migrated) = (dir.path().join("legacy"), dir.path().join("migrated"));
    tree(&keys, &legacy, false);
    tree(&keys, &migrated, true);

    let old = render(&legacy, &seed_root, &[]);
    let stderr = text(&old.stderr);
    assert_eq!(old.status.code(), Some(0), "{stderr}");
    assert!(
        stderr.contains(&format!(
            "warning: {}: NatsCluster nats/NATS_URL: NAuth's deprecated NATS_URL mode",
            legacy.join("operator-signing-key.yaml").display()
        )),
        "{stderr}"
    );
    assert!(stderr.contains("NATS_CLUSTER_REF"), "{stderr}");
    assert!(!has_seed(&stderr), "{stderr}");
    let lock = fs::read_to_string(legacy.join("nauth.lock")).unwrap();
    assert!(lock.contains("  NatsCluster nats/NATS_URL: O"), "{lock}");

    let new = render(&migrated, &seed_root, &["--nats-cluster", "nats/nats"]);
    assert_eq!(new.status.code(), Some(0), "{}", text(&new.stderr));
    assert!(!text(&new.stderr).contains("warning"));
    // Account JWT, creds Secret, annotations: every byte.
    assert!(text(&old.stdout).contains("account.jwt: "));
    assert_eq!(text(&old.stdout), text(&new.stdout));

    // diff decides per side: the legacy tree against itself plus a NatsCluster nothing names
    // (the first migration step) changes nothing.
    let step = dir.path().join("step");
    tree(&keys, &step, true);
    fs::copy(legacy.join("nauth.lock"), step.join("nauth.lock")).unwrap();
    let diff = nauth_render(
        &["diff", legacy.to_str().unwrap(), step.to_str().unwrap()],
        "",
    );
    assert_eq!(diff.status.code(), Some(0), "{}", text(&diff.stderr));
    assert!(text(&diff.stderr).contains("NATS_URL mode"));

    // The lock naming the stand-in reads back: an unchanged tree checks clean.
    let check = nauth_render(
        &[
            "check",
            legacy.to_str().unwrap(),
            "--seed-root",
            seed_root.to_str().unwrap(),
        ],
        "",
    );
    assert_eq!(check.status.code(), Some(0), "{}", text(&check.stderr));

    // --strict, for CI, refuses the deprecated mode; nothing is written.
    fs::remove_file(legacy.join("nauth.lock")).unwrap();
    let strict = render(&legacy, &seed_root, &["--strict"]);
    assert_eq!(strict.status.code(), Some(1));
    assert!(text(&strict.stderr).contains("an error with --strict"));
    assert_eq!(text(&strict.stdout), "");
    assert!(!legacy.join("nauth.lock").exists());
}

#[test]
fn an_account_naming_its_cluster_keeps_it_and_nothing_stands_in_for_it() {
    let dir = tempfile::tempdir().unwrap();
    let (keys, seed_root) = (dir.path().join("bootstrap"), dir.path().join("seed-root"));
    bootstrap(&keys);
    fs::write(&seed_root, "a seed root of the test, 32 bytes or more long").unwrap();
    let tree_dir = dir.path().join("tree");
    tree(&keys, &tree_dir, true);
    let accounts = tree_dir.join("accounts.yaml");
    let own = ACCOUNT_AND_USER.replace(
        "spec: {accountLimits",
        "spec: {natsClusterRef: {name: nats, namespace: nats}, accountLimits",
    );
    fs::write(&accounts, own).unwrap();
    let out = render(&tree_dir, &seed_root, &[]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(!text(&out.stderr).contains("warning"));
    let lock = fs::read_to_string(tree_dir.join("nauth.lock")).unwrap();
    assert!(lock.contains("  NatsCluster nats/nats: O"), "{lock}");
}

#[test]
fn several_or_missing_labelled_secrets_are_errors_naming_label_and_namespace() {
    let dir = tempfile::tempdir().unwrap();
    let (keys, seed_root) = (dir.path().join("bootstrap"), dir.path().join("seed-root"));
    bootstrap(&keys);
    fs::write(&seed_root, "a seed root of the test, 32 bytes or more long").unwrap();
    let tree_dir = dir.path().join("tree");
    tree(&keys, &tree_dir, false);

    // A second operator signing key Secret.
    let sign = fs::read_to_string(tree_dir.join("operator-signing-key.yaml")).unwrap();
    let second = sign.replace("name: operator-signing-key", "name: old-signing-key");
    fs::write(tree_dir.join("old-signing-key.yaml"), second).unwrap();
    let out = render(&tree_dir, &seed_root, &[]);
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains(
            "2 Secrets labelled nauth.io/secret-type=operator-sign in namespace nats \
             (nats/old-signing-key, nats/operator-signing-key): NAuth's NATS_URL mode needs \
             exactly one"
        ),
        "{stderr}"
    );
    assert!(!has_seed(&stderr), "{stderr}");
    assert_eq!(text(&out.stdout), "");
    assert!(!tree_dir.join("nauth.lock").exists());

    // Only the operator signing key: the creds Secret is named as missing.
    fs::remove_file(tree_dir.join("old-signing-key.yaml")).unwrap();
    fs::remove_file(tree_dir.join("system-account-user-creds.yaml")).unwrap();
    let out = render(&tree_dir, &seed_root, &[]);
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains(
            "no Secret labelled nauth.io/secret-type=system-account-user-creds in namespace nats"
        ),
        "{stderr}"
    );
    assert!(!has_seed(&stderr), "{stderr}");
    assert_eq!(text(&out.stdout), "");
    assert!(!tree_dir.join("nauth.lock").exists());
}
