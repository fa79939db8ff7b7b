//! The pull-request commands as a job without keys runs them: `diff` of two git revisions or
//! two directories, and `check` of a lock against the resources.

mod common;
mod quickstart;

use common::{nauth_render, text};
use quickstart::copy_manifests;

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

/// Edits a copy, then re-renders its lock with the quickstart's keys, as the author of a pull
/// request does.
fn edit(dir: &Path, file: &str, from: &str, to: &str) {
    let path = dir.join(file);
    let content = fs::read_to_string(&path).unwrap();
    assert!(content.contains(from), "{file} has no {from:?}");
    fs::write(&path, content.replace(from, to)).unwrap();
    let rendered = nauth_render(
        &[
            "render",
            dir.to_str().unwrap(),
            quickstart::dir()
                .join("operator-signing-key.yaml")
                .to_str()
                .unwrap(),
            "--seed-root",
            quickstart::dir().join("seed-root").to_str().unwrap(),
            "--lock",
            dir.join("nauth.lock").to_str().unwrap(),
            "--issued-at",
            "1800000000",
        ],
        "",
    );
    assert!(rendered.status.success(), "{}", text(&rendered.stderr));
}

fn git(dir: &Path, args: &[&str]) {
    let status = Command::new("git")
        .args([
            "-c",
            "user.name=t",
            "-c",
            "user.email=t@example.com",
            "-c",
            "init.defaultBranch=main",
        ])
        .args(args)
        .current_dir(dir)
        .output()
        .unwrap();
    assert!(
        status.status.success(),
        "git {args:?}: {}",
        text(&status.stderr)
    );
}

/// What the change below shows, in text: the re-issued user's earlier JWTs are revoked.
const EXPECTED: &str = "\
Account shop/billing (changed)
  + revocations[User shop/invoicer (UASZGOTI…)]: 2027-01-15T07:59:59Z
Account shop/orders (changed)
  + exports[service \"orders.admin.>\"]: name=\"admin\"
  ~ limits.conn: 100 → 50
User shop/invoicer (changed)
  - sub.allow[\"_INBOX.>\"]
2 accounts and 1 user changed.
";

fn change(dir: &Path) {
    edit(
        dir,
        "accounts.yaml",
        "conn: 100",
        "conn: 50\n  exports:\n    - {name: admin, subject: 'orders.admin.>', type: service}",
    );
    edit(
        dir,
        "users.yaml",
        "[\"_INBOX.>\", \"billing.orders.>\"]",
        "[\"billing.orders.>\"]",
    );
}

/// A repository whose `nats/` holds the quickstart at `origin/main` (HEAD~1) and the change at
/// HEAD, as a pull request's checkout has it.
fn pull_request_repo() -> (tempfile::TempDir, PathBuf) {
    let repo = tempfile::tempdir().unwrap();
    let dir = repo.path().join("nats");
    fs::create_dir(&dir).unwrap();
    copy_manifests(&dir);
    git(repo.path(), &["init", "-q"]);
    git(repo.path(), &["add", "."]);
    git(repo.path(), &["commit", "-qm", "base"]);
    let origin = ["update-ref", "refs/remotes/origin/main", "HEAD"];
    git(repo.path(), &origin);
    change(&dir);
    git(repo.path(), &["commit", "-qam", "head"]);
    (repo, dir)
}

#[test]
fn two_git_revisions_show_what_a_pull_request_changes_in_who_may_do_what() {
    let (_repo, dir) = pull_request_repo();

    let out = nauth_render(&["diff", "HEAD~1", "HEAD", "-C", dir.to_str().unwrap()], "");
    assert_eq!(text(&out.stderr), "");
    assert_eq!(text(&out.stdout), EXPECTED);
    assert_eq!(out.status.code(), Some(1), "changes exit 1");

    let same = nauth_render(&["diff", "HEAD", "HEAD", "-C", dir.to_str().unwrap()], "");
    assert_eq!(
        text(&same.stdout),
        "No change to the effective authorization.\n"
    );
    assert_eq!(same.status.code(), Some(0));

    let formatted = |format| {
        let dir = dir.to_str().unwrap();
        nauth_render(
            &["diff", "HEAD~1", "HEAD", "-C", dir, "--format", format],
            "",
        )
    };
    let md = formatted("markdown");
    assert_eq!(
        text(&md.stdout),
        "### NATS authorization changes\n\n2 accounts and 1 user changed.\n\n\
         **Account `shop/billing`** (changed)\n\n```diff\n\
         + revocations[User shop/invoicer (UASZGOTI…)]: 2027-01-15T07:59:59Z\n```\n\n\
         **Account `shop/orders`** (changed)\n\n```diff\n\
         + exports[service \"orders.admin.>\"]: name=\"admin\"\n\
         - limits.conn: 100\n+ limits.conn: 50\n```\n\n\
         **User `shop/invoicer`** (changed)\n\n```diff\n\
         - sub.allow[\"_INBOX.>\"]\n```\n"
    );

    let json = formatted("json");
    let v: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap();
    assert_eq!(v["changed"], true);
    assert_eq!(
        v["objects"][1]["changes"][2],
        serde_json::json!({"path": "limits.conn", "old": 100, "new": 50})
    );
    assert_eq!(v["objects"][2]["object"], "shop/invoicer");
}

#[test]
fn two_directories_compare_the_same_way_and_a_terminal_gets_colors_only_when_asked() {
    let (base, head) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    copy_manifests(base.path());
    copy_manifests(head.path());
    change(head.path());
    // Keys lying next to the manifests are not read, and never shown.
    let key = quickstart::dir().join("operator-signing-key.yaml");
    fs::copy(&key, head.path().join("operator-signing-key.yaml")).unwrap();
    let seed = fs::read_to_string(&key).unwrap();
    let seed = seed.split("default: ").nth(1).unwrap().trim().to_string();
    assert!(seed.starts_with("SO"));
    let args = |extra: &'static str| {
        vec![
            "diff".to_string(),
            base.path().display().to_string(),
            head.path().display().to_string(),
            "--color".into(),
            extra.into(),
        ]
    };
    let run = |a: Vec<String>| nauth_render(&a.iter().map(String::as_str).collect::<Vec<_>>(), "");
    let plain = run(args("never"));
    assert_eq!(text(&plain.stdout), EXPECTED);
    assert_eq!(plain.status.code(), Some(1));
    assert!(!text(&plain.stdout).contains(&seed) && !text(&plain.stderr).contains(&seed));
    let colored = text(&run(args("always")).stdout);
    assert!(
        colored.contains("\x1b[33m  ~ limits.conn: 100 → 50\x1b[0m"),
        "{colored}"
    );
}

#[test]
fn errors_exit_2_and_name_the_side_file_and_object() {
    let repo = tempfile::tempdir().unwrap();
    copy_manifests(repo.path());
    git(repo.path(), &["init", "-q"]);
    git(repo.path(), &["add", "."]);
    git(repo.path(), &["commit", "-qm", "base"]);
    let dir = repo.path().to_str().unwrap();

    let out = nauth_render(&["diff", "no-such-rev", "HEAD", "-C", dir], "");
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(
        text(&out.stderr),
        format!(
            "error: no-such-rev: not a directory, and not a git revision of {dir}: unknown revision\n"
        )
    );

    // A head whose lock was not re-rendered after adding a user cannot be previewed.
    let head = tempfile::tempdir().unwrap();
    copy_manifests(head.path());
    let users = head.path().join("users.yaml");
    let mut text_users = fs::read_to_string(&users).unwrap();
    text_users.push_str("---\napiVersion: nauth.io/v1alpha1\nkind: User\nmetadata: {name: new, namespace: shop}\nspec: {accountName: orders}\n");
    fs::write(&users, text_users).unwrap();
    let out = nauth_render(&["diff", dir, head.path().to_str().unwrap()], "");
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(
        text(&out.stderr),
        format!(
            "{}: User shop/new: the lock has no public key for this user; run `nauth-render \
             render` with the keys to record it\nerror: 1 problem(s) in the input; nothing was compared\n",
            users.display()
        )
    );

    fs::write(&users, "kind: User\n  broken: [").unwrap();
    let out = nauth_render(&["diff", dir, head.path().to_str().unwrap()], "");
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(
        text(&out.stderr),
        format!(
            "{}: not valid YAML: mapping values are not allowed in this context at line 2, column \
             9\nerror: 1 problem(s) in the input; nothing was compared\n",
            users.display()
        )
    );

    // Kinds nauth-render does not read are left out with a warning, as in `render`.
    fs::write(
        &users,
        "apiVersion: example.com/v1\nkind: Gadget\nmetadata: {name: x}\n",
    )
    .unwrap();
    let empty = tempfile::tempdir().unwrap();
    let out = nauth_render(
        &[
            "diff",
            empty.path().to_str().unwrap(),
            head.path().to_str().unwrap(),
        ],
        "",
    );
    assert_eq!(
        text(&out.stderr),
        format!(
            "warning: {}: Gadget default/x: ignored: example.com/v1 Gadget is not an input of nauth-render\n",
            users.display()
        )
    );
    assert_eq!(
        out.status.code(),
        Some(1),
        "the head's other resources are all added"
    );
}

/// The `run` script of the step `id` of the example workflow.
fn workflow_step(id: &str) -> String {
    let path =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/ci/github-pull-request.yaml");
    let workflow: serde_json::Value =
        serde_saphyr::from_str(&fs::read_to_string(path).unwrap()).unwrap();
    let steps = workflow["jobs"]["review"]["steps"].as_array().unwrap();
    let step = steps.iter().find(|s| s["id"] == id).unwrap();
    step["run"].as_str().unwrap().to_string()
}

#[test]
fn the_example_pull_request_job_checks_the_lock_and_writes_the_markdown_diff() {
    let (repo, _) = pull_request_repo();

    let bin = Path::new(env!("CARGO_BIN_EXE_nauth-render"))
        .parent()
        .unwrap();
    let path = format!("{}:{}", bin.display(), std::env::var("PATH").unwrap());
    let output = repo.path().join("github-output");
    let step = |id: &str| {
        Command::new("bash")
            .args(["-eo", "pipefail", "-c", &workflow_step(id)])
            .current_dir(repo.path())
            .env("PATH", &path)
            .env("NATS_DIR", "nats")
            .env("BASE_REF", "main")
            .env("GITHUB_OUTPUT", &output)
            .output()
            .unwrap()
    };
    let check = step("check");
    assert!(check.status.success(), "{}", text(&check.stderr));
    let run = step("diff");
    assert!(run.status.success(), "{}", text(&run.stderr));
    let comment = fs::read_to_string(repo.path().join("nauth-diff.md")).unwrap();
    assert!(
        comment.starts_with("### NATS authorization changes\n\n2 accounts and 1 user changed.\n")
    );
    assert!(
        comment.contains("- limits.conn: 100\n+ limits.conn: 50\n"),
        "{comment}"
    );
    assert_eq!(fs::read_to_string(output).unwrap(), "changed=1\n");
}

#[test]
fn check_without_keys_verifies_the_lock_from_its_public_keys() {
    let dir = tempfile::tempdir().unwrap();
    copy_manifests(dir.path());
    let lock = dir.path().join("nauth.lock");
    let check = |extra: &[&str]| {
        let mut args = vec![
            "check",
            dir.path().to_str().unwrap(),
            "--lock",
            lock.to_str().unwrap(),
        ];
        args.extend(extra);
        nauth_render(&args, "")
    };
    let fresh = check(&[]);
    assert_eq!(text(&fresh.stderr), "");
    assert_eq!(fresh.status.code(), Some(0));

    let accounts = dir.path().join("accounts.yaml");
    let yaml = fs::read_to_string(&accounts).unwrap();
    fs::write(&accounts, yaml.replace("conn: 100", "conn: 50")).unwrap();
    let stale = check(&["--issued-at", "1800000000"]);
    assert_eq!(stale.status.code(), Some(1));
    let stderr = text(&stale.stderr);
    assert!(stderr.contains("\n-    issuedAt: 1764288000\n"), "{stderr}");
    assert!(stderr.contains("\n+    issuedAt: 1800000000\n"), "{stderr}");
    assert!(stderr.ends_with("commit the result\n"), "{stderr}");

    let out = check(&["--out-dir", "out"]);
    assert_eq!(out.status.code(), Some(2), "not checkable without keys");
    assert_eq!(
        text(&out.stderr),
        "--out-dir compares signed output, which needs keys: pass --seed-root or --keys\n\
         error: 1 problem(s) in the input; nothing was checked\n"
    );
}

#[test]
fn a_directory_the_change_deletes_or_adds_is_an_empty_side() {
    let (repo, dir) = pull_request_repo();
    git(repo.path(), &["rm", "-rq", "nats"]);
    git(repo.path(), &["commit", "-qm", "delete"]);
    let out = nauth_render(&["diff", "HEAD~1", "HEAD", "-C", dir.to_str().unwrap()], "");
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    assert!(
        text(&out.stderr).contains("does not exist at HEAD (added or deleted by the change)"),
        "{}",
        text(&out.stderr)
    );
    assert!(
        text(&out.stdout).contains("(removed)"),
        "{}",
        text(&out.stdout)
    );
    let back = nauth_render(&["diff", "HEAD", "HEAD~1", "-C", dir.to_str().unwrap()], "");
    assert_eq!(back.status.code(), Some(1), "{}", text(&back.stderr));
}

#[test]
fn a_missing_lock_is_named_once() {
    let (repo, dir) = pull_request_repo();
    let _ = repo;
    fs::remove_file(dir.join("nauth.lock")).unwrap();
    let out = nauth_render(&["diff", dir.to_str().unwrap(), dir.to_str().unwrap()], "");
    assert_eq!(out.status.code(), Some(2));
    let stderr = text(&out.stderr);
    assert_eq!(
        stderr.matches("the lock has no public key").count(),
        1,
        "{stderr}"
    );
    assert!(
        stderr.contains(&format!(
            "{}: the lock has no public key for 2 objects: this lock file does not exist",
            dir.join("nauth.lock").display()
        )),
        "{stderr}"
    );
}
