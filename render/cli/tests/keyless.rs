//! `check` and `explain` where keys are absent: a repository as committed (the quickstart with its
//! operator signing key Secret, a SOPS-encrypted Secret) and no `--seed-root`. They sign nothing,
//! take every key no source holds from the lock, and `check` tells "stale" (1) from "cannot be
//! checked" (2).

mod common;
mod quickstart;

use common::{nauth_render, text};

use std::fs;
use std::path::Path;
use std::process::{Command, Output};

/// Copies every file of the quickstart into `to`, its operator signing key Secret and seed root
/// included, as a repository that commits them has it.
fn copy_quickstart(to: &Path) {
    fs::create_dir_all(to).unwrap();
    quickstart::copy_manifests(to);
    for file in ["operator-signing-key.yaml", "seed-root"] {
        fs::copy(quickstart::dir().join(file), to.join(file)).unwrap();
    }
}

/// A SOPS-encrypted Secret, as `sops -e --encrypted-regex '^(data|stringData)$'` writes it.
const SOPS_SECRET: &str = "\
apiVersion: v1
kind: Secret
metadata:
  name: billing-ac-root
  namespace: shop
stringData:
  default: ENC[AES256_GCM,data:c2VlZA==,iv:aXY=,tag:dGFn,type:str]
sops:
  age:
    - recipient: age1ql3z7hjy54pw3hyww5ayyfg7zqgvc7w3j2elw8zmrj2kg5sfn9aqmcac8p
      enc: |
        -----BEGIN AGE ENCRYPTED FILE-----
        YWdl
        -----END AGE ENCRYPTED FILE-----
  lastmodified: \"2026-01-01T00:00:00Z\"
  mac: ENC[AES256_GCM,data:bWFj,iv:aXY=,tag:dGFn,type:str]
  encrypted_regex: ^(data|stringData)$
  version: 3.9.4
";

/// A User of `shop/orders` that no render has recorded.
const NEW_USER: &str = "apiVersion: nauth.io/v1alpha1\nkind: User\n\
                        metadata: {name: new, namespace: shop}\nspec: {accountName: orders}\n";

fn check(dir: &Path, extra: &[&str]) -> Output {
    let lock = dir.join("nauth.lock");
    let mut args = vec![
        "check",
        dir.to_str().unwrap(),
        "--lock",
        lock.to_str().unwrap(),
    ];
    args.extend(extra);
    nauth_render(&args, "")
}

fn edit(path: &Path, from: &str, to: &str) {
    let content = fs::read_to_string(path).unwrap();
    assert!(content.contains(from), "{} has no {from:?}", path.display());
    fs::write(path, content.replace(from, to)).unwrap();
}

#[test]
fn check_without_keys_passes_on_the_committed_quickstart_with_its_key_secret() {
    let dir = tempfile::tempdir().unwrap();
    copy_quickstart(dir.path());
    fs::write(dir.path().join("billing-keys.sops.yaml"), SOPS_SECRET).unwrap();
    let out = check(dir.path(), &[]);
    assert_eq!(text(&out.stderr), "");
    assert_eq!(out.status.code(), Some(0));
}

#[test]
fn check_exits_1_when_stale_and_2_when_the_input_cannot_be_checked() {
    let dir = tempfile::tempdir().unwrap();
    copy_quickstart(dir.path());
    let accounts = dir.path().join("accounts.yaml");
    let users = dir.path().join("users.yaml");

    edit(&accounts, "conn: 100", "conn: 50");
    let stale = check(dir.path(), &["--issued-at", "1800000000"]);
    assert_eq!(stale.status.code(), Some(1), "{}", text(&stale.stderr));
    let stderr = text(&stale.stderr);
    assert!(stderr.contains("\n+    issuedAt: 1800000000\n"), "{stderr}");
    assert!(stderr.ends_with("commit the result\n"), "{stderr}");
    edit(&accounts, "conn: 50", "conn: 100");

    // A User added without rendering: no key for it anywhere, so the lock is stale.
    let users_yaml = fs::read_to_string(&users).unwrap();
    let with_new_user = format!("{users_yaml}---\n{NEW_USER}");
    fs::write(&users, &with_new_user).unwrap();
    let new_user = check(dir.path(), &[]);
    assert_eq!(new_user.status.code(), Some(1));
    let stderr = text(&new_user.stderr);
    assert!(
        stderr.starts_with(&format!(
            "{}: User shop/new: the lock has no public key for this user; run `nauth-render \
             render` with the keys to record it\n",
            users.display()
        )),
        "{stderr}"
    );
    assert!(stderr.ends_with("commit the result\n"), "{stderr}");

    // A new Account with a User of its own: stale too, named once, on the Account.
    fs::write(
        &users,
        format!(
            "{users_yaml}---\napiVersion: nauth.io/v1alpha1\nkind: Account\n\
             metadata: {{name: fresh, namespace: shop}}\nspec: {{}}\n---\n\
             apiVersion: nauth.io/v1alpha1\nkind: User\n\
             metadata: {{name: first, namespace: shop}}\nspec: {{accountName: fresh}}\n"
        ),
    )
    .unwrap();
    let new_account = check(dir.path(), &[]);
    assert_eq!(
        new_account.status.code(),
        Some(1),
        "{}",
        text(&new_account.stderr)
    );
    let stderr = text(&new_account.stderr);
    assert!(
        stderr.contains("Account shop/fresh: the lock has no public key"),
        "{stderr}"
    );
    assert!(!stderr.contains("User shop/first"), "{stderr}");
    fs::write(&users, &with_new_user).unwrap();

    // With the seed root, the new User's key is known: the lock diff shows its entry.
    let seed_root = dir.path().join("seed-root");
    let with_keys = check(dir.path(), &["--seed-root", seed_root.to_str().unwrap()]);
    assert_eq!(with_keys.status.code(), Some(1));
    assert!(
        text(&with_keys.stderr).contains("+  shop/new:\n"),
        "{}",
        text(&with_keys.stderr)
    );
    fs::write(&users, &users_yaml).unwrap();

    // Broken input is not "stale".
    edit(&users, "kind: User", "kind: Usr");
    let broken = check(dir.path(), &[]);
    assert_eq!(broken.status.code(), Some(2));
    let stderr = text(&broken.stderr);
    assert!(stderr.contains("has no kind \"Usr\""), "{stderr}");
    assert!(
        stderr.ends_with("problem(s) in the input; nothing was checked\n"),
        "{stderr}"
    );
    edit(&users, "kind: Usr", "kind: User");

    let out_dir = check(dir.path(), &["--out-dir", "out"]);
    assert_eq!(
        out_dir.status.code(),
        Some(2),
        "comparing signed output needs the account keys"
    );
    assert!(text(&out_dir.stderr).contains("no keys for this account"));
}

#[test]
fn explain_without_keys_answers_as_with_them() {
    let dir = tempfile::tempdir().unwrap();
    copy_quickstart(dir.path());
    fs::write(dir.path().join("billing-keys.sops.yaml"), SOPS_SECRET).unwrap();
    let explain = |extra: &[&str]| {
        let mut args = vec![
            "explain",
            dir.path().to_str().unwrap(),
            "--user",
            "shop/invoicer",
            "--request",
            "orders.lookup.42",
            "-o",
            "json",
        ];
        args.extend(extra);
        nauth_render(&args, "")
    };
    let keyless = explain(&[]);
    assert_eq!(keyless.status.code(), Some(0), "{}", text(&keyless.stderr));
    assert_eq!(text(&keyless.stderr), "");
    let seed_root = dir.path().join("seed-root");
    let keyed = explain(&["--seed-root", seed_root.to_str().unwrap()]);
    assert_eq!(keyed.status.code(), Some(0), "{}", text(&keyed.stderr));
    assert_eq!(text(&keyless.stdout), text(&keyed.stdout));
}

/// The shell block of the README that follows `marker`.
fn readme_block(marker: &str) -> String {
    let readme = fs::read_to_string(quickstart::dir().join("../../README.md")).unwrap();
    let after = &readme[readme.find(marker).expect("marker in README") + marker.len()..];
    let start = after.find("```sh\n").unwrap() + "```sh\n".len();
    let block = &after[start..];
    block[..block.find("```").unwrap()]
        .lines()
        .map(str::trim_start)
        .collect::<Vec<_>>()
        .join("\n")
}

fn git(dir: &Path, args: &[&str]) {
    let out = Command::new("git")
        .args(["-c", "user.name=t", "-c", "user.email=t@example.com"])
        .args(["-c", "init.defaultBranch=main"])
        .args(args)
        .current_dir(dir)
        .output()
        .unwrap();
    assert!(out.status.success(), "git {args:?}: {}", text(&out.stderr));
}

#[test]
fn the_readme_pull_request_commands_work_on_the_bundled_quickstart_as_written() {
    let commands = readme_block("The same two commands work in any CI:");
    assert!(commands.contains("nauth-render check nats/"), "{commands}");
    let repo = tempfile::tempdir().unwrap();
    let nats = repo.path().join("nats");
    copy_quickstart(&nats);
    git(repo.path(), &["init", "-q"]);
    git(repo.path(), &["add", "."]);
    git(repo.path(), &["commit", "-qm", "base"]);
    git(
        repo.path(),
        &["update-ref", "refs/remotes/origin/main", "HEAD"],
    );
    // The pull request: a limit changed, and the lock re-rendered with the keys.
    edit(&nats.join("accounts.yaml"), "conn: 100", "conn: 50");
    let rendered = nauth_render(
        &[
            "render",
            nats.to_str().unwrap(),
            "--seed-root",
            nats.join("seed-root").to_str().unwrap(),
            "--issued-at",
            "1800000000",
        ],
        "",
    );
    assert!(rendered.status.success(), "{}", text(&rendered.stderr));
    git(repo.path(), &["commit", "-qam", "head"]);

    let bin = Path::new(env!("CARGO_BIN_EXE_nauth-render"))
        .parent()
        .unwrap();
    let path = format!("{}:{}", bin.display(), std::env::var("PATH").unwrap());
    let out = Command::new("bash")
        .args(["-e", "-c", &commands])
        .current_dir(repo.path())
        .env("PATH", path)
        .env("BASE", "main")
        .env_remove("NAUTH_SEED_ROOT")
        .env_remove("SOURCE_DATE_EPOCH")
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out.stderr));
    let comment = fs::read_to_string(repo.path().join("comment.md")).unwrap();
    assert!(
        comment.contains("- limits.conn: 100\n+ limits.conn: 50\n"),
        "{comment}"
    );
}

#[test]
fn without_a_lock_check_and_explain_say_which_lock_does_not_exist_once() {
    let dir = tempfile::tempdir().unwrap();
    quickstart::copy_manifests(dir.path());
    let lock = dir.path().join("nauth.lock");
    fs::remove_file(&lock).unwrap();
    let expected = format!(
        "{}: the lock has no public key for 2 objects: this lock file does not exist",
        lock.display()
    );
    let out = check(dir.path(), &[]);
    assert_eq!(out.status.code(), Some(1));
    let stderr = text(&out.stderr);
    assert_eq!(
        stderr.matches("the lock has no public key").count(),
        1,
        "{stderr}"
    );
    assert!(stderr.contains(&expected), "{stderr}");
    assert!(
        stderr.contains("with the keys (--seed-root or --keys)"),
        "{stderr}"
    );

    let q = dir.path().to_str().unwrap();
    let args = ["explain", q, "--user", "shop/invoicer", "--pub", "a"];
    let out = nauth_render(&args, "");
    assert_eq!(out.status.code(), Some(2));
    let stderr = text(&out.stderr);
    assert_eq!(
        stderr.matches("the lock has no public key").count(),
        1,
        "{stderr}"
    );
    assert!(stderr.contains(&expected), "{stderr}");
}

#[test]
fn check_with_a_wrong_seed_root_reports_the_key_errors_not_a_stale_lock() {
    let dir = tempfile::tempdir().unwrap();
    copy_quickstart(dir.path());
    let wrong = dir.path().join("wrong-root");
    fs::write(&wrong, "another team's seed root, 32 bytes or more of it").unwrap();
    let out = check(dir.path(), &["--seed-root", wrong.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains("Account shop/billing: the account key found has public key")
            && stderr.contains("refusing to change an account's identity")
            && stderr.ends_with("nothing was checked\n")
            && !stderr.contains("run `nauth-render render`")
            && !stderr.contains("(rendered)"),
        "{stderr}"
    );
}
