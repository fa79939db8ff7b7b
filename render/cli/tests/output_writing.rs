//! How the binary writes: whole files with creds readable by their owner only, nothing on
//! error, the lock only after the output, quiet stops when the reader goes away, SOPS-encrypted
//! files never replaced by plaintext, and committed Secrets never shown by `check`.

mod common;

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use common::{nauth_render, nauth_render_into, text};

fn quickstart() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/quickstart")
}

/// `COMMAND quickstart --seed-root … --lock LOCK EXTRA…` (the lock is not created here).
fn with_quickstart(command: &str, lock: &Path, extra: &[&str]) -> Vec<String> {
    with_tree(command, &quickstart(), lock, extra)
}

/// `COMMAND TREE` with the quickstart's seed root, `--lock LOCK EXTRA…`.
fn with_tree(command: &str, tree: &Path, lock: &Path, extra: &[&str]) -> Vec<String> {
    let mut args = vec![
        command.to_string(),
        tree.display().to_string(),
        "--seed-root".into(),
        quickstart().join("seed-root").display().to_string(),
        "--lock".into(),
        lock.display().to_string(),
    ];
    args.extend(extra.iter().map(|s| s.to_string()));
    args
}

fn run(args: &[String]) -> Output {
    nauth_render(&args.iter().map(String::as_str).collect::<Vec<_>>(), "")
}

/// `COMMAND quickstart … --lock LOCK EXTRA… --out-dir OUT`, run.
fn run_out_dir(command: &str, lock: &Path, extra: &[&str], out: &Path) -> Output {
    let out = ["--out-dir", out.to_str().unwrap()];
    run(&with_quickstart(command, lock, &[extra, &out].concat()))
}

/// A directory holding a copy of the quickstart's lock and its rendered `out/`.
fn rendered_out_dir() -> (tempfile::TempDir, PathBuf, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let lock = dir.path().join("nauth.lock");
    fs::copy(quickstart().join("nauth.lock"), &lock).unwrap();
    let out = dir.path().join("out");
    let r = run_out_dir("render", &lock, &["--locked"], &out);
    assert!(r.status.success(), "{}", text(&r.stderr));
    (dir, lock, out)
}

/// Every file under `dir` with its bytes.
fn snapshot(dir: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    let mut files = Vec::new();
    let mut todo = vec![dir.to_path_buf()];
    while let Some(d) = todo.pop() {
        for e in fs::read_dir(&d).unwrap() {
            let path = e.unwrap().path();
            if path.is_dir() {
                todo.push(path);
            } else {
                let bytes = fs::read(&path).unwrap();
                files.push((path, bytes));
            }
        }
    }
    files.sort();
    files
}

#[cfg(unix)]
fn mode(path: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    fs::metadata(path).unwrap().permissions().mode() & 0o777
}

#[cfg(unix)]
#[test]
fn out_dir_writes_creds_for_their_owner_only_and_no_temporary_files() {
    let (_dir, _lock, out) = rendered_out_dir();
    let files = snapshot(&out);
    assert_eq!(files.len(), 4, "{files:?}");
    for (path, _) in &files {
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        assert!(!name.starts_with('.'), "temporary file left: {name}");
        if name.starts_with("secret-") {
            assert_eq!(mode(path), 0o600, "{name}");
        } else {
            assert_ne!(mode(path) & 0o044, 0, "{name} stays readable");
        }
    }
    // A creds file left world-readable by an older version is tightened.
    let secret = out.join("shop/secret-invoicer-nats-user-creds.yaml");
    use std::os::unix::fs::PermissionsExt;
    fs::set_permissions(&secret, fs::Permissions::from_mode(0o644)).unwrap();
    let lock = _dir.path().join("nauth.lock");
    let again = run_out_dir("render", &lock, &["--locked"], &out);
    assert!(again.status.success(), "{}", text(&again.stderr));
    assert_eq!(mode(&secret), 0o600);
}

#[test]
fn a_failed_out_dir_render_leaves_the_directory_and_the_lock_as_they_were() {
    let (dir, _, out) = rendered_out_dir();
    // The last file cannot be written: a directory stands in its place.
    let blocked = out.join("shop/secret-orders-service-nats-user-creds.yaml");
    fs::remove_file(&blocked).unwrap();
    fs::create_dir(&blocked).unwrap();
    // A changed epoch-free input: a fresh lock makes every JWT new, so every file changes.
    let lock = dir.path().join("fresh.lock");
    let before = snapshot(&out);
    let failed = run_out_dir("render", &lock, &["--issued-at", "1900000000"], &out);
    assert_eq!(failed.status.code(), Some(2), "{}", text(&failed.stderr));
    assert!(
        text(&failed.stderr).contains("secret-orders-service-nats-user-creds.yaml"),
        "{}",
        text(&failed.stderr)
    );
    assert_eq!(snapshot(&out), before, "no file changed, none left behind");
    assert!(!lock.exists(), "no lock after a failed output");
}

#[test]
fn an_out_dir_that_is_a_file_is_named_as_the_option_before_anything_is_written() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("out");
    fs::write(&file, "not a directory\n").unwrap();
    let lock = dir.path().join("nauth.lock");
    for out in [file.clone(), file.join("shop")] {
        let failed = run_out_dir("render", &lock, &[], &out);
        let stderr = text(&failed.stderr);
        assert_eq!(failed.status.code(), Some(2), "{stderr}");
        assert_eq!(
            stderr,
            format!(
                "error: --out-dir {}: {} is a file, not a directory; give a directory (it is \
                 created if missing)\n",
                out.display(),
                file.display()
            )
        );
        assert!(!lock.exists(), "no lock written");
        assert_eq!(fs::read_to_string(&file).unwrap(), "not a directory\n");
    }
}

/// Standard output whose reader is already gone, as after `| head -1` stopped reading.
fn closed_pipe() -> Stdio {
    let (reader, writer) = std::io::pipe().unwrap();
    drop(reader);
    writer.into()
}

#[test]
fn commands_stop_quietly_when_their_reader_goes_away() {
    let dir = tempfile::tempdir().unwrap();
    let lock = dir.path().join("nauth.lock");
    let quick = quickstart().display().to_string();
    let ql = quickstart().join("nauth.lock").display().to_string();
    let seed_root = quickstart().join("seed-root").display().to_string();
    let lock_s = lock.display().to_string();
    let render = with_quickstart("render", &lock, &[]);
    let runs: Vec<Vec<&str>> = vec![
        render.iter().map(String::as_str).collect(),
        vec!["crds"],
        vec!["inspect", &ql],
        vec!["diff", &quick, &quick, "--format", "json"],
        vec![
            "explain",
            &quick,
            "--lock",
            &ql,
            "--user",
            "shop/invoicer",
            "--pub",
            "orders.lookup.1",
        ],
        vec!["inspect", "--output", "json", "-"],
    ];
    for args in runs {
        let stdin = if args.last() == Some(&"-") {
            "-----BEGIN NATS USER JWT-----\n"
        } else {
            ""
        };
        let out = nauth_render_into(&args, stdin, closed_pipe());
        assert_ne!(out.status.code(), Some(101), "{args:?} panicked");
        assert!(
            !text(&out.stderr).contains("panicked") && !text(&out.stderr).contains("Broken pipe"),
            "{args:?}: {}",
            text(&out.stderr)
        );
    }
    assert!(
        !lock.exists(),
        "render writes no lock for output nobody read ({lock_s}, {seed_root})"
    );
}

#[cfg(target_os = "linux")]
#[test]
fn a_full_disk_on_stdout_is_exit_2_and_no_lock() {
    let dir = tempfile::tempdir().unwrap();
    let lock = dir.path().join("nauth.lock");
    let full = || -> Stdio {
        fs::OpenOptions::new()
            .write(true)
            .open("/dev/full")
            .unwrap()
            .into()
    };
    let render = with_quickstart("render", &lock, &[]);
    let out = nauth_render_into(
        &render.iter().map(String::as_str).collect::<Vec<_>>(),
        "",
        full(),
    );
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
    assert!(
        text(&out.stderr).starts_with("error: standard output: "),
        "{}",
        text(&out.stderr)
    );
    assert!(
        !lock.exists(),
        "the lock follows the output, never precedes it"
    );
    let crds = nauth_render_into(&["crds"], "", full());
    assert_eq!(crds.status.code(), Some(2), "{}", text(&crds.stderr));
}

/// A committed creds Secret as SOPS leaves it with `--encrypted-regex '^(data|stringData)$'`:
/// metadata in clear, values encrypted, a `sops` block.
fn encrypt_like_sops(plain: &str) -> String {
    let mut out = String::new();
    let mut in_data = false;
    for line in plain.lines() {
        if !line.starts_with(' ') {
            in_data = line == "data:";
            out.push_str(line);
        } else if in_data {
            // The key line; the lines of its folded value go.
            match line.split_once(':') {
                Some((key, _)) if !key.starts_with("   ") => out.push_str(&format!(
                    "{key}: ENC[AES256_GCM,data:Zm9v,iv:YmFy,tag:YmF6,type:str]"
                )),
                _ => continue,
            }
        } else {
            out.push_str(line);
        }
        out.push('\n');
    }
    out.push_str(
        "sops:\n  age:\n    - recipient: age1qqqq\n      enc: |\n        -----BEGIN AGE ENCRYPTED FILE-----\n        -----END AGE ENCRYPTED FILE-----\n  lastmodified: \"2026-01-01T00:00:00Z\"\n  mac: ENC[AES256_GCM,data:bWFj,iv:aXY=,tag:dGFn,type:str]\n  encrypted_regex: ^(data|stringData)$\n  version: 3.11.0\n",
    );
    out
}

#[test]
fn render_refuses_to_replace_sops_encrypted_files_and_check_accepts_them() {
    let (dir, lock, out) = rendered_out_dir();
    let secret = out.join("shop/secret-invoicer-nats-user-creds.yaml");
    let encrypted = encrypt_like_sops(&fs::read_to_string(&secret).unwrap());
    fs::write(&secret, &encrypted).unwrap();
    let lock_before = fs::read(&lock).unwrap();
    let before = snapshot(&out);

    let refused = run_out_dir("render", &lock, &["--issued-at", "1900000000"], &out);
    assert_eq!(refused.status.code(), Some(1), "{}", text(&refused.stderr));
    let stderr = text(&refused.stderr);
    assert!(
        stderr.contains("secret-invoicer-nats-user-creds.yaml: SOPS-encrypted")
            && stderr.contains("sops --encrypt"),
        "{stderr}"
    );
    assert_eq!(snapshot(&out), before, "nothing written");
    assert_eq!(fs::read(&lock).unwrap(), lock_before);

    // Its public parts in clear are what check compares: up to date.
    let checked = run_out_dir("check", &lock, &[], &out);
    assert!(checked.status.success(), "{}", text(&checked.stderr));

    // An encrypted Secret among the inputs is recognised and passed over.
    let tree = dir.path().join("tree");
    fs::create_dir(&tree).unwrap();
    for f in fs::read_dir(quickstart()).unwrap() {
        let f = f.unwrap().path();
        if f.extension().is_some_and(|e| e == "yaml") {
            fs::copy(&f, tree.join(f.file_name().unwrap())).unwrap();
        }
    }
    fs::write(tree.join("encrypted.yaml"), &encrypted).unwrap();
    let with_encrypted_input = run(&with_tree("render", &tree, &lock, &["--locked"]));
    assert!(
        with_encrypted_input.status.success(),
        "{}",
        text(&with_encrypted_input.stderr)
    );
    assert!(
        text(&with_encrypted_input.stderr).contains("encrypted.yaml: ignored: encrypted with SOPS"),
        "{}",
        text(&with_encrypted_input.stderr)
    );
}

#[test]
fn check_never_shows_a_committed_secret_value_whatever_its_yaml_style() {
    let (_dir, lock, out) = rendered_out_dir();
    let secret = out.join("shop/secret-invoicer-nats-user-creds.yaml");
    let seed = "SUAIBDPBAUTWCWBKIO6XHQNINK5FWJW4OHLXC3HQ2KFE4PEJUA44CNHTC4";
    let committed = fs::read_to_string(&secret).unwrap();
    let (head, tail) = committed.split_once("data:\n").unwrap();
    let tail = tail.split_once("\nmetadata:").unwrap().1;
    for style in [
        format!("stringData:\n  user.creds: |\n    -----BEGIN NATS USER JWT-----\n\n    {seed}\n"),
        format!("stringData:\n  user.creds: \"first\n\n    {seed}\"\n"),
        format!("stringData: {{user.creds: '{seed}'}}\n"),
        format!("data:\n  user.creds: >-\n    a\n\n    {seed}\n"),
    ] {
        fs::write(&secret, format!("{head}{style}metadata:{tail}")).unwrap();
        let checked = run_out_dir("check", &lock, &[], &out);
        assert_eq!(checked.status.code(), Some(1), "{}", text(&checked.stderr));
        let stderr = text(&checked.stderr);
        assert!(!stderr.contains(&seed[2..20]), "{stderr}");
        assert!(
            stderr.contains("secret-invoicer-nats-user-creds.yaml"),
            "{stderr}"
        );
    }
}

/// The Flux + SOPS script of the README, run as written with the real `sops` that
/// `tests/testenv.sh` installs: it encrypts each Secret into the committed directory and checks
/// it; run again it changes no byte; after a User is deleted it deletes that User's file. `check`
/// advises deleting an encrypted file of an object no longer rendered, and a render over the
/// committed directory refuses instead of committing plaintext.
#[test]
#[ignore = "needs sops: run through tests/testenv.sh"]
fn the_flux_and_sops_flow_of_the_readme_works_with_the_real_sops() {
    let sops =
        PathBuf::from(std::env::var("NAUTH_SOPS").expect("tests/testenv.sh exports NAUTH_SOPS"));
    // A throwaway age key of this test only.
    let identity = "AGE-SECRET-KEY-1QP5ZF0MWDNQENGU6PYNYWE252GU5GM5VUVGV8LKAAX5SE702949QMLH25A";
    let recipient = "age1l8q4uxqwe76zzu3a9em8n4fl546u2wqfasdeh96fyg2533lfau6sxgcz7e";
    let readme =
        fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("../../README.md")).unwrap();
    let recipe = &readme[readme
        .find("Render outside git and encrypt from there:")
        .unwrap()..];
    let recipe = &recipe[recipe.find("```sh\n").unwrap() + 6..];
    let script = &recipe[..recipe.find("\n```").unwrap() + 1];
    assert!(script.contains("sops --encrypt"), "{script}");

    let dir = tempfile::tempdir().unwrap();
    let manifests = dir.path().join("manifests");
    fs::create_dir(&manifests).unwrap();
    for file in fs::read_dir(quickstart()).unwrap() {
        let file = file.unwrap().path();
        if file.extension().is_some_and(|e| e == "yaml" || e == "lock") {
            fs::copy(&file, manifests.join(file.file_name().unwrap())).unwrap();
        }
    }
    let bin = Path::new(env!("CARGO_BIN_EXE_nauth-render"))
        .parent()
        .unwrap();
    let path = std::env::join_paths(
        [bin, sops.parent().unwrap()]
            .into_iter()
            .map(Path::to_path_buf)
            .chain(std::env::split_paths(&std::env::var_os("PATH").unwrap())),
    )
    .unwrap();
    let run_script = || {
        let out = Command::new("sh")
            .args(["-c", script])
            .current_dir(dir.path())
            .env("PATH", &path)
            .env("SEED_ROOT", quickstart().join("seed-root"))
            .env("AGE_RECIPIENT", recipient)
            .env_remove("SOURCE_DATE_EPOCH")
            .env_remove("NAUTH_SEED_ROOT")
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", text(&out.stderr));
    };
    assert_eq!(sops.file_name().unwrap(), "sops", "the script calls `sops`");
    run_script();

    let committed = dir.path().join("rendered");
    let (scratch_dir, _, scratch) = rendered_out_dir();
    let plain = snapshot(&scratch);
    assert_eq!(plain.len(), 4, "two ConfigMaps, two Secrets");
    for (path, bytes) in &plain {
        let dest = committed.join(path.strip_prefix(&scratch).unwrap());
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        if !name.starts_with("secret-") {
            assert_eq!(&fs::read(&dest).unwrap(), bytes, "{name} copied");
            continue;
        }
        assert!(
            fs::read_to_string(&dest)
                .unwrap()
                .contains("user.creds: ENC[AES256_GCM,"),
            "{name}: values encrypted"
        );
        let decrypted = Command::new(&sops)
            .env("SOPS_AGE_KEY", identity)
            .arg("--decrypt")
            .arg(&dest)
            .output()
            .unwrap();
        assert!(decrypted.status.success(), "{}", text(&decrypted.stderr));
        let parse = |t: &[u8]| serde_saphyr::from_str::<serde_json::Value>(&text(t)).unwrap();
        assert_eq!(parse(&decrypted.stdout), parse(bytes), "{name} round-trips");
    }
    drop(scratch_dir);

    // Run again: nothing changed, so no byte changes (sops would encrypt differently).
    let first = snapshot(&committed);
    run_script();
    assert_eq!(
        snapshot(&committed),
        first,
        "an unchanged tree changes no file"
    );

    // A render over the committed directory refuses rather than commit plaintext.
    let lock = manifests.join("nauth.lock");
    let refused = run_out_dir("render", &lock, &["--issued-at", "1900000000"], &committed);
    assert_eq!(refused.status.code(), Some(1), "{}", text(&refused.stderr));
    assert!(
        text(&refused.stderr).contains("SOPS-encrypted"),
        "{}",
        text(&refused.stderr)
    );
    assert_eq!(snapshot(&committed), first, "nothing written");

    // Delete a User: the script deletes its committed Secret and changes no other file.
    let users = manifests.join("users.yaml");
    let kept: Vec<String> = fs::read_to_string(&users)
        .unwrap()
        .split("\n---\n")
        .filter(|doc| !doc.contains("name: orders-service\n"))
        .map(str::to_string)
        .collect();
    assert_eq!(
        kept.len(),
        1,
        "users.yaml holds orders-service and one more"
    );
    fs::write(&users, kept.join("\n---\n")).unwrap();
    let old_lock = fs::read(&lock).unwrap();
    let gone = committed.join("shop/secret-orders-service-nats-user-creds.yaml");
    let gone_bytes = fs::read(&gone).unwrap();
    run_script();
    assert!(!gone.exists());
    // Its Account's JWT now revokes its key (see README, Revocation); nothing else changed.
    let account = committed.join("shop/configmap-orders-nats-account-jwt.yaml");
    let others = |files: &[(PathBuf, Vec<u8>)]| -> Vec<(PathBuf, Vec<u8>)> {
        let skipped = [&gone, &account];
        (files.iter())
            .filter(|(p, _)| !skipped.contains(&p))
            .cloned()
            .collect()
    };
    assert_eq!(
        others(&snapshot(&committed)),
        others(&first),
        "no other file changed"
    );
    let key = text(&gone_bytes)
        .lines()
        .find_map(|l| l.trim().strip_prefix("user.nauth.io/id: "))
        .expect("the committed Secret names the user's key in a label")
        .to_string();
    let claims = fs::read_to_string(&account).unwrap();
    let revocations = &claims[claims.find("revocations:").expect("a revocation")..];
    assert!(
        revocations.lines().nth(1).is_some_and(|l| l.contains(&key)),
        "the Account revokes {key}:\n{claims}"
    );

    // The same deletion not yet rendered: check says to delete the encrypted file, which
    // render leaves alone.
    fs::write(&lock, old_lock).unwrap();
    fs::write(&gone, gone_bytes).unwrap();
    let seed_root = quickstart().join("seed-root");
    let checked = nauth_render(
        &[
            "check",
            manifests.to_str().unwrap(),
            "--lock",
            lock.to_str().unwrap(),
            "--seed-root",
            seed_root.to_str().unwrap(),
            "--out-dir",
            committed.to_str().unwrap(),
        ],
        "",
    );
    assert_eq!(checked.status.code(), Some(1), "{}", text(&checked.stderr));
    assert!(
        text(&checked.stderr).contains(&format!(
            "{}: no longer rendered; SOPS-encrypted, so render leaves it: delete it\n",
            gone.display()
        )),
        "{}",
        text(&checked.stderr)
    );
}

/// A copy of the quickstart (resources, seed root, lock) in `dir/qs`.
fn quickstart_copy(dir: &Path) -> PathBuf {
    let tree = dir.join("qs");
    fs::create_dir(&tree).unwrap();
    for e in fs::read_dir(quickstart()).unwrap() {
        let f = e.unwrap().path();
        fs::copy(&f, tree.join(f.file_name().unwrap())).unwrap();
    }
    tree
}

/// `render TREE --seed-root TREE/seed-root EXTRA…`.
fn render_tree(tree: &Path, extra: &[&str]) -> Output {
    let seed_root = tree.join("seed-root");
    let mut args = vec!["render", tree.to_str().unwrap(), "--seed-root"];
    args.push(seed_root.to_str().unwrap());
    args.extend(extra);
    nauth_render(&args, "")
}

const MANAGED: &str = "metadata:\n  labels:\n    app.kubernetes.io/managed-by: nauth-render\n";

#[test]
fn out_dir_removes_only_the_files_of_objects_the_lock_had_and_names_them() {
    let dir = tempfile::tempdir().unwrap();
    let tree = quickstart_copy(dir.path());
    let out = dir.path().join("out");
    let out_s = out.to_str().unwrap();
    let first = render_tree(&tree, &["--out-dir", out_s]);
    assert!(first.status.success(), "{}", text(&first.stderr));
    // Another tree's output below, a hand-written labelled file, one in a rendered namespace.
    let others = [
        out.join("deep/shop/secret-orders-service-nats-user-creds.yaml"),
        out.join("other/secret-x.yaml"),
        out.join("shop/secret-x-nats-user-creds.yaml"),
    ];
    for f in &others {
        fs::create_dir_all(f.parent().unwrap()).unwrap();
        fs::write(f, MANAGED).unwrap();
    }
    // The User orders-service is deleted.
    let users = fs::read_to_string(tree.join("users.yaml")).unwrap();
    fs::write(
        tree.join("users.yaml"),
        users.split("---\n").nth(1).unwrap(),
    )
    .unwrap();
    let gone = out.join("shop/secret-orders-service-nats-user-creds.yaml");

    let check = nauth_render(
        &[
            "check",
            tree.to_str().unwrap(),
            "--seed-root",
            tree.join("seed-root").to_str().unwrap(),
            "--out-dir",
            out_s,
        ],
        "",
    );
    assert_eq!(check.status.code(), Some(1), "{}", text(&check.stderr));
    let reported: Vec<String> = text(&check.stderr)
        .lines()
        .filter(|l| l.ends_with("no longer rendered; remove it"))
        .map(String::from)
        .collect();
    assert_eq!(
        reported,
        [format!("{}: no longer rendered; remove it", gone.display())]
    );

    let second = render_tree(&tree, &["--out-dir", out_s]);
    assert!(second.status.success(), "{}", text(&second.stderr));
    assert!(
        text(&second.stderr).contains(&format!("removed {}: no longer rendered", gone.display())),
        "{}",
        text(&second.stderr)
    );
    assert!(!gone.exists());
    for f in &others {
        assert_eq!(fs::read_to_string(f).unwrap(), MANAGED, "{}", f.display());
    }
}

#[test]
fn render_removes_temporary_files_interrupted_runs_left_and_check_reports_them() {
    let (dir, lock, out) = rendered_out_dir();
    let shop = out.join("shop");
    let leftovers = [
        shop.join(".secret-invoicer-nats-user-creds.yaml.4242.nauth-tmp"),
        shop.join(".secret-invoicer-nats-user-creds.yaml.4243.tmp"),
        dir.path().join(".nauth.lock.4242.nauth-tmp"),
    ];
    let unrelated = shop.join(".notes.yaml.4242.tmp");
    for f in leftovers.iter().chain([&unrelated]) {
        fs::write(f, "creds").unwrap();
    }
    let check = run(&with_quickstart(
        "check",
        &lock,
        &["--out-dir", out.to_str().unwrap()],
    ));
    assert_eq!(check.status.code(), Some(1), "{}", text(&check.stderr));
    for f in &leftovers {
        assert!(
            text(&check.stderr).contains(&format!(
                "{}: temporary file of an interrupted render (may hold creds); remove it",
                f.display()
            )),
            "{}",
            text(&check.stderr)
        );
    }
    let render = run(&with_quickstart(
        "render",
        &lock,
        &["--locked", "--out-dir", out.to_str().unwrap()],
    ));
    assert!(render.status.success(), "{}", text(&render.stderr));
    for f in &leftovers {
        assert!(!f.exists(), "{}", f.display());
        assert!(
            text(&render.stderr).contains(&format!(
                "removed {}: left by an interrupted render",
                f.display()
            )),
            "{}",
            text(&render.stderr)
        );
    }
    assert!(unrelated.exists());
    let again = run(&with_quickstart(
        "check",
        &lock,
        &["--out-dir", out.to_str().unwrap()],
    ));
    assert!(again.status.success(), "{}", text(&again.stderr));
}

/// A lock in /proc: readable (it does not exist), but nothing can be created there, even by
/// root, as the tests may run.
#[cfg(target_os = "linux")]
#[test]
fn an_unwritable_lock_is_found_before_any_output() {
    let lock = Path::new("/proc/nauth.lock");
    let out = run(&with_quickstart("render", lock, &[]));
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
    assert_eq!(text(&out.stdout), "");
    let stderr = text(&out.stderr);
    assert!(
        stderr.starts_with("error: cannot write the lock /proc/nauth.lock (")
            && stderr.ends_with("); nothing was changed\n"),
        "{stderr}"
    );
}

#[cfg(unix)]
#[test]
fn a_closed_stdout_is_exit_2_before_anything_is_written_and_dev_null_is_fine() {
    let dir = tempfile::tempdir().unwrap();
    let lock = dir.path().join("nauth.lock");
    let args = with_quickstart("render", &lock, &[]);
    let closed = Command::new("sh")
        .arg("-c")
        .arg("exec \"$0\" \"$@\" >&-")
        .arg(env!("CARGO_BIN_EXE_nauth-render"))
        .args(&args)
        .env_remove("SOURCE_DATE_EPOCH")
        .output()
        .unwrap();
    assert_eq!(closed.status.code(), Some(2), "{}", text(&closed.stderr));
    assert_eq!(
        text(&closed.stderr),
        "error: standard output is closed; nothing was rendered\n"
    );
    assert!(!lock.exists());
    let null = nauth_render_into(
        &args.iter().map(String::as_str).collect::<Vec<_>>(),
        "",
        Stdio::null(),
    );
    assert!(null.status.success(), "{}", text(&null.stderr));
    assert!(lock.exists());
}

#[test]
fn a_second_render_into_the_same_lock_waits_for_the_first() {
    use std::io::BufRead;
    let dir = tempfile::tempdir().unwrap();
    let lock = dir.path().join("nauth.lock");
    // Another render holds the lock's directory.
    let held = fs::File::open(dir.path()).unwrap();
    held.lock().unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_nauth-render"))
        .args(with_quickstart("render", &lock, &[]))
        .env_remove("SOURCE_DATE_EPOCH")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stderr = std::io::BufReader::new(child.stderr.take().unwrap());
    let mut line = String::new();
    stderr.read_line(&mut line).unwrap();
    assert!(
        line.starts_with("note: waiting for another nauth-render writing to "),
        "{line}"
    );
    assert!(
        !lock.exists(),
        "nothing is written while the other run holds the directory"
    );
    drop(held);
    assert!(child.wait().unwrap().success());
    assert!(lock.exists());
}

#[cfg(unix)]
#[test]
fn walks_skip_directory_links_dangling_links_and_fifos_read_file_links_and_a_linked_lock_is_updated_in_place()
 {
    use std::os::unix::fs::{PermissionsExt, symlink};
    let dir = tempfile::tempdir().unwrap();
    let tree = quickstart_copy(dir.path());
    symlink("..", tree.join("loop")).unwrap();
    symlink(".", tree.join("self")).unwrap();
    symlink("gone.yaml", tree.join("dangling.yaml")).unwrap();
    // A file link is read: the Users live outside the tree.
    fs::rename(tree.join("users.yaml"), dir.path().join("users.yaml")).unwrap();
    symlink("../users.yaml", tree.join("users.yaml")).unwrap();
    let fifo = tree.join("pipe.yaml");
    assert!(
        Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .unwrap()
            .success()
    );
    // The lock is a link to a restricted file, and stale, so the render rewrites it.
    let real_lock = dir.path().join("real.lock");
    let stale = fs::read_to_string(tree.join("nauth.lock"))
        .unwrap()
        .replacen("claimsHash: ", "claimsHash: 00", 1);
    fs::write(&real_lock, &stale).unwrap();
    fs::set_permissions(&real_lock, fs::Permissions::from_mode(0o640)).unwrap();
    fs::remove_file(tree.join("nauth.lock")).unwrap();
    symlink("../real.lock", tree.join("nauth.lock")).unwrap();

    let out = render_tree(&tree, &[]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let stderr = text(&out.stderr);
    for (name, why) in [
        ("loop", "a symbolic link to a directory, not followed"),
        ("self", "a symbolic link to a directory, not followed"),
        ("pipe.yaml", "not a regular file"),
        ("dangling.yaml", "a symbolic link to nothing"),
    ] {
        let shown = format!("{}", tree.join(name).display());
        assert!(
            stderr
                .lines()
                .any(|l| l.contains(&shown) && l.contains(why)),
            "{name}: {stderr}"
        );
    }
    assert_eq!(text(&out.stdout).matches("kind: Secret").count(), 2);
    assert!(
        fs::symlink_metadata(tree.join("nauth.lock"))
            .unwrap()
            .file_type()
            .is_symlink()
    );
    assert_ne!(fs::read_to_string(&real_lock).unwrap(), stale);
    assert_eq!(mode(&real_lock), 0o640);
}
