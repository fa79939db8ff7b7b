//! Mistakes that used to drop objects, lock entries and rendered output without a word: an empty
//! or wrong input path, a misspelt kind or version of the `nauth.io` group, a name the API server
//! refuses, a lock looked for in the wrong directory. Each is an error (or a note) and nothing is
//! written.

mod common;
mod quickstart;

use common::{command, nauth_render, text};

use std::fs;
use std::path::Path;
use std::process::Output;

/// The quickstart's manifests, operator key Secret and lock in `to`; its seed root stays put.
fn copy_tree(to: &Path) {
    quickstart::copy_manifests(to);
    let key = "operator-signing-key.yaml";
    fs::copy(quickstart::dir().join(key), to.join(key)).unwrap();
}

fn seed_root() -> String {
    quickstart::dir().join("seed-root").display().to_string()
}

/// `nauth-render ARGS` run in `cwd`.
fn run_in(cwd: &Path, args: &[&str]) -> Output {
    command().args(args).current_dir(cwd).output().unwrap()
}

/// `render DIR --seed-root <quickstart's> EXTRA…`.
fn render_tree(dir: &Path, extra: &[&str]) -> Output {
    let (dir, seed_root) = (dir.to_str().unwrap(), seed_root());
    let args = [&["render", dir, "--seed-root", &seed_root], extra].concat();
    nauth_render(&args, "")
}

/// The lock in `dir`, as text.
fn lock_in(dir: &Path) -> String {
    fs::read_to_string(dir.join("nauth.lock")).unwrap()
}

/// `path` with the first `from` replaced by `to`.
fn replace_in(path: &Path, from: &str, to: &str) {
    let yaml = fs::read_to_string(path).unwrap();
    fs::write(path, yaml.replacen(from, to, 1)).unwrap();
}

#[test]
fn inputs_without_any_nauth_object_never_empty_a_lock() {
    let dir = tempfile::tempdir().unwrap();
    let lock = dir.path().join("nauth.lock");
    fs::copy(quickstart::dir().join("nauth.lock"), &lock).unwrap();
    let committed = fs::read_to_string(&lock).unwrap();
    let empty = dir.path().join("empty");
    fs::create_dir(&empty).unwrap();
    let out_dir = dir.path().join("rendered");
    let (empty, lock_arg) = (empty.to_str().unwrap(), lock.to_str().unwrap());
    let named = "the inputs hold no NAuth object, so every entry of the lock would be removed (4): \
                 Account shop/billing, Account shop/orders, User shop/invoicer, User \
                 shop/orders-service; check the paths, or pass --allow-empty to remove them on \
                 purpose";

    let render = nauth_render(
        &[
            "render",
            empty,
            "--lock",
            lock_arg,
            "--out-dir",
            out_dir.to_str().unwrap(),
        ],
        "",
    );
    assert_eq!(render.status.code(), Some(1));
    assert_eq!(
        text(&render.stderr),
        format!("{lock_arg}: {named}\nerror: 1 problem(s) in the input; nothing was rendered\n")
    );
    let check = nauth_render(&["check", empty, "--lock", lock_arg], "");
    assert_eq!(check.status.code(), Some(2), "not checkable, not stale");
    assert!(
        text(&check.stderr).contains(named),
        "{}",
        text(&check.stderr)
    );
    let list = "apiVersion: config.kubernetes.io/v1\nkind: ResourceList\nitems: []\n";
    let krm = nauth_render(&["krm", "--lock", lock_arg], list);
    assert_eq!(krm.status.code(), Some(1));
    assert!(text(&krm.stdout).contains(named), "{}", text(&krm.stdout));
    assert_eq!(fs::read_to_string(&lock).unwrap(), committed);
    assert!(!out_dir.exists());

    // On purpose, the whole tree goes.
    let allowed = nauth_render(&["render", empty, "--lock", lock_arg, "--allow-empty"], "");
    assert_eq!(allowed.status.code(), Some(0), "{}", text(&allowed.stderr));
    let emptied = fs::read_to_string(&lock).unwrap();
    let (live, removed) = emptied
        .split_once("removedAccounts:\n")
        .unwrap_or_else(|| panic!("{emptied}"));
    assert!(!live.contains("shop/"), "{emptied}");
    // The Accounts are kept as removed, their revocations with them.
    assert!(removed.contains("  shop/billing:\n") && removed.contains("  shop/orders:\n"));
}

#[test]
fn an_empty_tree_without_a_lock_renders_nothing_but_says_so() {
    let dir = tempfile::tempdir().unwrap();
    let out = run_in(dir.path(), &["render", "."]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(
        text(&out.stderr).contains(
            "note: the inputs hold no NAuth object: nothing to render (check the paths)\n"
        ),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn removing_some_objects_from_a_tree_removes_their_lock_entries() {
    let dir = tempfile::tempdir().unwrap();
    copy_tree(dir.path());
    let users = dir.path().join("users.yaml");
    let yaml = fs::read_to_string(&users).unwrap();
    let kept = yaml.split("\n---\n").next().unwrap();
    assert!(kept.contains("name: orders-service"), "{kept}");
    fs::write(&users, kept).unwrap();
    let out = render_tree(dir.path(), &[]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let lock = lock_in(dir.path());
    assert!(lock.contains("shop/orders-service:"));
    assert!(!lock.contains("shop/invoicer:"), "{lock}");
    assert!(
        text(&out.stderr).contains(
            "note: 1 lock entries removed (their objects are no longer in the input): User \
             shop/invoicer\n"
        ),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn rendering_part_of_a_tree_with_the_whole_trees_lock_names_the_removed_entries() {
    let dir = tempfile::tempdir().unwrap();
    copy_tree(dir.path());
    let part = dir.path().join("part");
    fs::create_dir(&part).unwrap();
    for file in [
        "accounts.yaml",
        "nats-cluster.yaml",
        "operator-signing-key.yaml",
    ] {
        fs::rename(dir.path().join(file), part.join(file)).unwrap();
    }
    let lock = dir.path().join("nauth.lock");
    let (part, seed_root) = (part.to_str().unwrap(), seed_root());
    let args = ["render", part, "--seed-root", &seed_root, "--lock"];
    let out = nauth_render(&[&args[..], &[lock.to_str().unwrap()]].concat(), "");
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(
        text(&out.stderr).contains(
            "note: 2 lock entries removed (their objects are no longer in the input): User \
             shop/invoicer, User shop/orders-service\n"
        ),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn inputs_sharing_no_object_with_the_lock_are_refused_unless_allowed() {
    let dir = tempfile::tempdir().unwrap();
    copy_tree(dir.path());
    for file in ["accounts.yaml", "users.yaml", "exports-imports.yaml"] {
        let path = dir.path().join(file);
        let yaml = fs::read_to_string(&path).unwrap();
        fs::write(&path, yaml.replace("namespace: shop", "namespace: store")).unwrap();
    }
    let lock = lock_in(dir.path());
    let out_dir = dir.path().join("out");
    let out = render_tree(dir.path(), &["--out-dir", out_dir.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        text(&out.stderr),
        format!(
            "{}: the inputs share no Account or User with this lock, so every entry of it would \
             be removed (4): Account shop/billing, Account shop/orders, User shop/invoicer, User \
             shop/orders-service; check the paths and --lock (is this the lock of another \
             tree?), or pass --allow-empty to replace them on purpose\nerror: 1 problem(s) in \
             the input; nothing was rendered\n",
            dir.path().join("nauth.lock").display()
        )
    );
    assert_eq!(lock_in(dir.path()), lock);
    assert!(!out_dir.exists());

    let allowed = render_tree(dir.path(), &["--allow-empty"]);
    assert_eq!(allowed.status.code(), Some(0), "{}", text(&allowed.stderr));
    let replaced = lock_in(dir.path());
    let (live, removed) = replaced
        .split_once("removedAccounts:\n")
        .unwrap_or_else(|| panic!("{replaced}"));
    assert!(
        !live.contains("shop/") && live.contains("store/"),
        "{replaced}"
    );
    assert!(removed.contains("  shop/billing:\n"), "{replaced}");
    assert!(
        text(&allowed.stderr).contains("note: 2 lock entries removed")
            && text(&allowed.stderr)
                .contains("note: Account shop/billing is no longer in the input"),
        "{}",
        text(&allowed.stderr)
    );
}

#[test]
fn a_misspelt_kind_or_version_of_the_nauth_group_is_an_error_and_nothing_is_written() {
    for (from, to, message) in [
        (
            "kind: User",
            "kind: Usr",
            "kind: nauth.io/v1alpha1 has no kind \"Usr\"",
        ),
        (
            "apiVersion: nauth.io/v1alpha1\nkind: User",
            "apiVersion: nauth.io/v1\nkind: User",
            "apiVersion: nauth.io/v1 is not served",
        ),
    ] {
        let dir = tempfile::tempdir().unwrap();
        copy_tree(dir.path());
        let users = dir.path().join("users.yaml");
        assert!(fs::read_to_string(&users).unwrap().contains(from));
        replace_in(&users, from, to);
        let lock = lock_in(dir.path());
        let out = render_tree(dir.path(), &[]);
        assert_eq!(out.status.code(), Some(1));
        assert_eq!(out.stdout, b"");
        let stderr = text(&out.stderr);
        assert!(
            stderr.starts_with(&format!("{}: ", users.display())) && stderr.contains(message),
            "{stderr}"
        );
        assert_eq!(lock_in(dir.path()), lock);
    }
}

#[test]
fn names_the_api_server_would_refuse_are_errors_and_nothing_is_written() {
    let dir = tempfile::tempdir().unwrap();
    copy_tree(dir.path());
    let long = "i".repeat(240);
    let users = dir.path().join("users.yaml");
    replace_in(&users, "name: invoicer", &format!("name: {long}"));
    let accounts = dir.path().join("accounts.yaml");
    replace_in(&accounts, "namespace: shop", "namespace: Shop");
    let lock = lock_in(dir.path());
    let out_dir = dir.path().join("out");
    let out = render_tree(dir.path(), &["--out-dir", out_dir.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains(&format!(
            "{}: Account Shop/orders: metadata.namespace: namespace \"Shop\" is not a DNS-1123 label",
            accounts.display()
        )),
        "{stderr}"
    );
    assert!(
        stderr.contains(&format!(
            "{}: User shop/{long}: metadata.name: the creds Secret name \"{long}-nats-user-creds\" \
             would be 256 characters, more than the 253 the API server accepts",
            users.display()
        )),
        "{stderr}"
    );
    assert!(!out_dir.exists());
    assert_eq!(lock_in(dir.path()), lock);
}

#[test]
fn without_lock_the_input_directorys_lock_is_used_and_a_new_one_is_announced() {
    let elsewhere = tempfile::tempdir().unwrap();
    let dir = tempfile::tempdir().unwrap();
    copy_tree(dir.path());
    let tree = dir.path().to_str().unwrap();
    let locked = run_in(
        elsewhere.path(),
        &["render", tree, "--seed-root", &seed_root(), "--locked"],
    );
    assert_eq!(locked.status.code(), Some(0), "{}", text(&locked.stderr));
    assert_eq!(text(&locked.stderr), "");

    fs::remove_file(dir.path().join("nauth.lock")).unwrap();
    let fresh = run_in(
        elsewhere.path(),
        &[
            "render",
            tree,
            "--seed-root",
            &seed_root(),
            "--issued-at",
            "1800000000",
        ],
    );
    assert_eq!(fresh.status.code(), Some(0), "{}", text(&fresh.stderr));
    let lock = dir.path().join("nauth.lock");
    assert_eq!(
        text(&fresh.stderr),
        format!(
            "note: created the lock file {}; commit it next to the resources\n",
            lock.display()
        )
    );
    assert!(lock.exists());
    assert!(!elsewhere.path().join("nauth.lock").exists());

    // Several paths have no one directory: the lock is ./nauth.lock.
    let more = tempfile::tempdir().unwrap();
    let two = run_in(
        elsewhere.path(),
        &[
            "render",
            more.path().to_str().unwrap(),
            tree,
            "--seed-root",
            &seed_root(),
            "--locked",
        ],
    );
    assert_eq!(two.status.code(), Some(1));
    assert!(
        text(&two.stderr).contains("nauth.lock needs to be updated but --locked was passed"),
        "{}",
        text(&two.stderr)
    );
}
