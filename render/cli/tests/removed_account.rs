//! An Account removed from the inputs stays in `nauth.lock` as removed: its revocations (and its
//! removed users') come back with it when it is added back with the same key, render emits the
//! operator-signed request that deletes it from the resolver, and only `--forget-removed`
//! drops it.

mod common;
mod quickstart;

use std::fs;
use std::path::Path;
use std::process::Output;

use common::{nauth_render, text};
use nauth_render::jwt::{self, AnyClaims};
use quickstart::copy_manifests;

/// The quickstart's Account `shop/billing`, its operator signing key and its user `invoicer`,
/// as its committed lock records them (the invoicer issued at 1764288000).
const BILLING: &str = "ABYXHXTWV7Z5B57KLVRXFU6ZZPKAP7V7U5QG6DWA65DQJQESGORDGJGR";
const OPERATOR_SIGNING_KEY: &str = "OAJWRB4Q4U2OXL6P5ZKASRSS5EPYORVHIQGTM7JN5DEDR5J4PXXQBZVW";
const INVOICER: &str = "UASZGOTIXXHAWR4CB3INBCK2VUTI5YUUFGPDUIZZD7P3EM6AJWA2WVXF";

/// A second user of billing, removed before its Account is.
const AUDITOR: &str = "---
apiVersion: nauth.io/v1alpha1
kind: User
metadata:
  name: auditor
  namespace: shop
spec:
  accountName: billing
";

/// `nauth-render render DIR` with the quickstart's keys and `extra` arguments.
fn render(dir: &Path, epoch: &str, extra: &[&str]) -> Output {
    let keys = quickstart::dir();
    let (signing_key, seed_root) = (
        keys.join("operator-signing-key.yaml"),
        keys.join("seed-root"),
    );
    let lock = dir.join("nauth.lock");
    let mut args = vec![
        "render",
        dir.to_str().unwrap(),
        signing_key.to_str().unwrap(),
        "--seed-root",
        seed_root.to_str().unwrap(),
        "--lock",
        lock.to_str().unwrap(),
        "--issued-at",
        epoch,
    ];
    args.extend(extra);
    nauth_render(&args, "")
}

fn rendered(dir: &Path, epoch: &str) -> Output {
    let out = render(dir, epoch, &[]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    out
}

fn lock(dir: &Path) -> String {
    fs::read_to_string(dir.join("nauth.lock")).unwrap()
}

/// The documents of billing (its Account, its user invoicer, its import) cut out of the
/// quickstart's files, or put back.
fn remove_billing(dir: &Path) {
    let cut = |file: &str, keep: &dyn Fn(&str) -> bool| {
        let path = dir.join(file);
        let content = fs::read_to_string(&path).unwrap();
        let kept: Vec<&str> = content.split("---\n").filter(|d| keep(d)).collect();
        fs::write(&path, kept.join("---\n")).unwrap();
    };
    cut("accounts.yaml", &|d| !d.contains("name: billing\n"));
    cut("users.yaml", &|d| !d.contains("accountName: billing\n"));
    cut("exports-imports.yaml", &|d| {
        !d.contains("kind: AccountImport")
    });
}

fn restore_billing(dir: &Path) {
    for file in ["accounts.yaml", "users.yaml", "exports-imports.yaml"] {
        fs::copy(quickstart::dir().join(file), dir.join(file)).unwrap();
    }
}

/// The public key the lock records for `entry` (`  namespace/name:`).
fn locked_key(lock: &str, entry: &str) -> String {
    let at = lock
        .find(&format!("  {entry}:\n"))
        .unwrap_or_else(|| panic!("{lock}"));
    let rest = &lock[at..];
    let line = rest
        .lines()
        .find(|l| l.starts_with("    publicKey: "))
        .unwrap();
    line["    publicKey: ".len()..].to_string()
}

/// The document of `output` that holds `marker`.
fn document<'a>(output: &'a str, marker: &str) -> Option<&'a str> {
    output.split("---\n").find(|d| d.contains(marker))
}

/// The value of the data key `key` of a ConfigMap document, written on its line or folded
/// (`>-`) on the next.
fn data<'a>(document: &'a str, key: &str) -> &'a str {
    let mut lines = document.lines().map(str::trim);
    let prefix = format!("{key}: ");
    let value =
        (lines.find_map(|l| l.strip_prefix(&prefix))).unwrap_or_else(|| panic!("{document}"));
    match value {
        ">-" => lines.next().unwrap(),
        value => value,
    }
}

/// The quickstart with a second user of billing, rendered; then that user removed (billing
/// revokes it); then billing removed with its user and import. Returns the directory and the
/// removed user's key.
fn billing_removed() -> (tempfile::TempDir, String) {
    let dir = tempfile::tempdir().unwrap();
    copy_manifests(dir.path());
    let users = dir.path().join("users.yaml");
    let original = fs::read_to_string(&users).unwrap();
    fs::write(&users, format!("{original}{AUDITOR}")).unwrap();
    rendered(dir.path(), "1790000000");
    let auditor = locked_key(&lock(dir.path()), "shop/auditor");
    fs::write(&users, &original).unwrap();
    rendered(dir.path(), "1800000000");
    assert!(
        lock(dir.path()).contains(&format!("      {auditor}: 1790000000\n")),
        "{}",
        lock(dir.path())
    );
    remove_billing(dir.path());
    (dir, auditor)
}

#[test]
fn a_removed_account_is_kept_in_the_lock_and_its_deletion_request_is_rendered() {
    let (dir, auditor) = billing_removed();
    let before = lock(dir.path());

    // --locked refuses, naming the Account, and changes nothing.
    let refused = render(dir.path(), "1810000000", &["--locked"]);
    assert_eq!(refused.status.code(), Some(1), "{}", text(&refused.stderr));
    assert!(
        text(&refused.stderr).contains("Account shop/billing"),
        "{}",
        text(&refused.stderr)
    );
    assert_eq!(lock(dir.path()), before);

    let out = rendered(dir.path(), "1810000000");
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains(
            "note: Account shop/billing is no longer in the input: kept in the lock as removed"
        ) && stderr.contains("`--forget-removed shop/billing` forgets it"),
        "{stderr}"
    );
    // Only the user is said to leave the lock; the Account is kept.
    assert!(
        stderr.contains("note: 1 lock entries removed (their objects are no longer in the input): User shop/invoicer"),
        "{stderr}"
    );
    let written = lock(dir.path());
    let tombstone = format!(
        "removedAccounts:\n  shop/billing:\n    publicKey: {BILLING}\n    issuer: \
         {OPERATOR_SIGNING_KEY}\n    removedAt: 1810000000\n    revocations:\n"
    );
    assert!(written.contains(&tombstone), "{written}");
    // Its users removed before and with it stay revoked: the auditor at its last iat, the
    // invoicer at its last iat.
    let revocations = &written[written.find(&tombstone).unwrap() + tombstone.len()..];
    let mut expected = [
        format!("      {auditor}: 1790000000\n"),
        format!("      {INVOICER}: 1764288000\n"),
    ];
    expected.sort();
    assert!(revocations.starts_with(&expected.concat()), "{written}");
    let accounts = &written[..written.find("users:").unwrap()];
    assert!(!accounts.contains("shop/billing"), "{written}");

    // The deletion request: a ConfigMap with the operator-signed request and no seed.
    let manifests = text(&out.stdout);
    assert!(
        !manifests.contains("billing-nats-account-jwt"),
        "{manifests}"
    );
    let cm = document(&manifests, "name: billing-nats-account-deletion").expect("rendered");
    assert!(
        cm.contains("nauth.io/config-type: account-deletion\n"),
        "{cm}"
    );
    assert!(
        cm.contains(&format!("account.nauth.io/id: {BILLING}\n")),
        "{cm}"
    );
    assert!(
        cm.contains("nauth.io/issued-at: '1810000000'\n")
            || cm.contains("nauth.io/issued-at: \"1810000000\"\n"),
        "{cm}"
    );
    assert!(
        !cm.lines().any(|l| l
            .split_whitespace()
            .any(nauth_render::diagnostic::looks_like_seed)),
        "{cm}"
    );
    let token = data(cm, "deletion.jwt");
    let AnyClaims::Generic(request) = jwt::decode(token).expect("a valid JWT").claims else {
        panic!("a deletion request is a generic JWT");
    };
    assert_eq!(request.data.iss, OPERATOR_SIGNING_KEY);
    assert_eq!(request.data.sub, OPERATOR_SIGNING_KEY);
    assert_eq!(request.data.iat, 1810000000);
    let listed = serde_json::to_value(&request.nats).unwrap();
    assert_eq!(listed["accounts"], serde_json::json!([BILLING]));

    // Rendered again later: the same bytes and lock, and the lock is up to date.
    let again = rendered(dir.path(), "1820000000");
    assert_eq!(text(&again.stdout), manifests);
    assert_eq!(lock(dir.path()), written);
    let locked = render(dir.path(), "1830000000", &["--locked"]);
    assert!(locked.status.success(), "{}", text(&locked.stderr));
    let check = nauth_render(&["check", dir.path().to_str().unwrap()], "");
    assert_eq!(check.status.code(), Some(0), "{}", text(&check.stderr));
}

#[test]
fn an_account_added_back_with_its_key_refuses_what_it_refused_before() {
    let (dir, auditor) = billing_removed();
    rendered(dir.path(), "1810000000");
    restore_billing(dir.path());
    let out = rendered(dir.path(), "1820000000");
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains(&format!(
            "note: Account shop/billing is back with its account ID {BILLING}: the revocations \
             it had are kept"
        )),
        "{stderr}"
    );
    let written = lock(dir.path());
    assert!(!written.contains("removedAccounts"), "{written}");
    let manifests = text(&out.stdout);
    assert!(!manifests.contains("nats-account-deletion"), "{manifests}");
    let cm = document(&manifests, "name: billing-nats-account-jwt").expect("rendered");
    let token = data(cm, "account.jwt");
    let AnyClaims::Account(claims) = jwt::decode(token).expect("a valid JWT").claims else {
        panic!("an account JWT");
    };
    assert_eq!(claims.data.sub, BILLING);
    assert!(
        claims.data.iat > 1810000000,
        "newer than the deletion request"
    );
    let revocations = &claims.nats.revocations;
    // The creds of the user removed before and those of the user removed with it stay refused.
    assert!(
        jwt::is_revoked(revocations, &auditor, 1790000000),
        "{revocations:?}"
    );
    assert!(
        jwt::is_revoked(revocations, INVOICER, 1764288000),
        "{revocations:?}"
    );
    // The invoicer added back gets new creds, which are not refused.
    let user = document(&manifests, "name: invoicer-nats-user-creds").expect("rendered");
    assert!(
        user.contains(&format!("user.nauth.io/id: {INVOICER}\n")),
        "{user}"
    );
    assert!(!jwt::is_revoked(revocations, INVOICER, 1820000000));
}

#[test]
fn forget_removed_drops_the_account_and_its_deletion_request_and_names_must_be_known() {
    let (dir, _) = billing_removed();
    rendered(dir.path(), "1810000000");
    let before = lock(dir.path());

    let unknown = render(
        dir.path(),
        "1820000000",
        &["--forget-removed", "shop/orders"],
    );
    assert_eq!(unknown.status.code(), Some(1), "{}", text(&unknown.stderr));
    assert!(
        text(&unknown.stderr).contains(
            "--forget-removed shop/orders: the lock keeps no removed Account shop/orders (it \
             keeps: shop/billing)"
        ),
        "{}",
        text(&unknown.stderr)
    );
    assert_eq!(text(&unknown.stdout), "");
    assert_eq!(lock(dir.path()), before);

    let out = render(
        dir.path(),
        "1820000000",
        &["--forget-removed", "shop/billing"],
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(
        text(&out.stderr).contains(&format!(
            "note: forgot the removed Account shop/billing (account {BILLING})"
        )),
        "{}",
        text(&out.stderr)
    );
    assert!(!lock(dir.path()).contains("removedAccounts"));
    assert!(!lock(dir.path()).contains("shop/billing"));
    assert!(!text(&out.stdout).contains("nats-account-deletion"));
}

#[test]
fn diff_shows_the_removed_account_and_its_deletion() {
    let base = tempfile::tempdir().unwrap();
    copy_manifests(base.path());
    let head = tempfile::tempdir().unwrap();
    copy_manifests(head.path());
    remove_billing(head.path());
    rendered(head.path(), "1810000000");
    let out = nauth_render(
        &[
            "diff",
            base.path().to_str().unwrap(),
            head.path().to_str().unwrap(),
        ],
        "",
    );
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    let shown = text(&out.stdout);
    assert!(
        shown.contains("Account shop/billing (removed)\n"),
        "{shown}"
    );
    assert!(
        shown.contains("  + resolver: deleted: Account shop/billing (ABYXHXTW…)\n"),
        "{shown}"
    );
}

#[test]
fn out_dir_swaps_the_jwt_config_map_for_the_deletion_request_until_forgotten() {
    let (dir, _) = billing_removed();
    let out = dir.path().join("out");
    let out_arg = out.to_str().unwrap();
    let jwt = out.join("shop/configmap-billing-nats-account-jwt.yaml");
    let deletion = out.join("shop/configmap-billing-nats-account-deletion.yaml");
    restore_billing(dir.path());
    let first = render(dir.path(), "1805000000", &["--out-dir", out_arg]);
    assert!(first.status.success(), "{}", text(&first.stderr));
    assert!(jwt.exists() && !deletion.exists());

    remove_billing(dir.path());
    let removed = render(dir.path(), "1810000000", &["--out-dir", out_arg]);
    assert!(removed.status.success(), "{}", text(&removed.stderr));
    assert!(!jwt.exists() && deletion.exists());

    let forgot = render(
        dir.path(),
        "1820000000",
        &["--out-dir", out_arg, "--forget-removed", "shop/billing"],
    );
    assert!(forgot.status.success(), "{}", text(&forgot.stderr));
    assert!(!deletion.exists(), "{}", text(&forgot.stderr));
    assert!(
        out.join("shop/configmap-orders-nats-account-jwt.yaml")
            .exists()
    );
}
