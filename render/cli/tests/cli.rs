//! The `nauth-render` binary as users run it: exit codes, stdout, stderr, files.

mod argocd;
mod common;

use common::{command, nauth_render, text};

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Output;

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn quickstart() -> PathBuf {
    repo().join("examples/quickstart")
}

/// Renders the quickstart with a copy of its lock in `dir`.
fn render_quickstart(dir: &Path, extra: &[&str]) -> Output {
    let lock = dir.join("nauth.lock");
    if !lock.exists() {
        fs::copy(quickstart().join("nauth.lock"), &lock).unwrap();
    }
    let mut args = vec![
        "render".to_string(),
        quickstart().display().to_string(),
        "--seed-root".into(),
        quickstart().join("seed-root").display().to_string(),
        "--lock".into(),
        lock.display().to_string(),
    ];
    args.extend(extra.iter().map(|s| s.to_string()));
    nauth_render(&args.iter().map(String::as_str).collect::<Vec<_>>(), "")
}

/// `user.creds` of the Secret `name` among the YAML documents `yaml` (`stringData` or `data`).
fn creds_in(yaml: &str, name: &str) -> String {
    let docs: Vec<serde_json::Value> = serde_saphyr::from_multiple(yaml).unwrap();
    let secret = (docs.iter())
        .find(|d| d["kind"] == "Secret" && d["metadata"]["name"] == name)
        .unwrap_or_else(|| panic!("no Secret {name}"));
    match secret["stringData"]["user.creds"].as_str() {
        Some(creds) => creds.to_string(),
        None => {
            let data = secret["data"]["user.creds"].as_str().unwrap();
            text(&data_encoding::BASE64.decode(data.as_bytes()).unwrap())
        }
    }
}

#[test]
fn creds_nauth_wrote_are_rendered_byte_for_byte_into_a_new_lock() {
    let example = repo().join("examples/migrate-from-nauth");
    let dir = tempfile::tempdir().unwrap();
    let lock = dir.path().join("nauth.lock");
    let out = nauth_render(
        &[
            "render",
            &example.display().to_string(),
            "--lock",
            &lock.display().to_string(),
        ],
        "",
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let nauth = fs::read_to_string(example.join("user-creds.yaml")).unwrap();
    let rendered = text(&out.stdout);
    let name = "sensor-nats-user-creds";
    assert!(
        creds_in(&rendered, name) == creds_in(&nauth, name),
        "the creds changed"
    );
    let lock = fs::read_to_string(lock).unwrap();
    assert!(
        lock.contains("issuedAt: 1764547200"),
        "NAuth's iat kept:\n{lock}"
    );
}

#[test]
fn the_quickstart_renders_identically_with_its_committed_lock() {
    let dir = tempfile::tempdir().unwrap();
    let first = render_quickstart(dir.path(), &["--locked"]);
    assert!(first.status.success(), "{}", text(&first.stderr));
    assert_eq!(text(&first.stderr), "");
    let second = render_quickstart(dir.path(), &["--locked", "--issued-at", "4000000000"]);
    assert_eq!(
        first.stdout, second.stdout,
        "unchanged claims keep their bytes whatever the epoch"
    );
    let out = text(&first.stdout);
    for name in [
        "name: billing-nats-account-jwt",
        "name: orders-nats-account-jwt",
        "name: invoicer-nats-user-creds",
        "name: orders-service-nats-user-creds",
    ] {
        assert!(out.contains(name), "missing {name}");
    }
    assert_eq!(out.matches("\n---\n").count() + 1, 4, "four documents");
}

#[test]
fn a_stale_lock_fails_with_locked_and_is_left_untouched() {
    let dir = tempfile::tempdir().unwrap();
    let lock = dir.path().join("nauth.lock");
    let committed = fs::read_to_string(quickstart().join("nauth.lock")).unwrap();
    let stale = committed.replacen("claimsHash: ", "claimsHash: 00", 1);
    fs::write(&lock, &stale).unwrap();
    let out = render_quickstart(dir.path(), &["--locked"]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(out.stdout, b"");
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains("needs to be updated but --locked was passed"),
        "{stderr}"
    );
    assert!(stderr.contains("Account shop/billing"), "{stderr}");
    assert_eq!(fs::read_to_string(&lock).unwrap(), stale);

    let out = render_quickstart(dir.path(), &["--issued-at", "1900000000"]);
    assert!(out.status.success());
    let updated = fs::read_to_string(&lock).unwrap();
    assert!(
        updated.contains("issuedAt: 1900000000"),
        "the changed account moves forward"
    );
}

#[test]
fn invalid_input_exits_1_naming_file_object_and_field() {
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad.yaml");
    fs::write(
        &bad,
        "apiVersion: nauth.io/v1alpha1\nkind: Account\nmetadata: {name: a, namespace: ns}\n\
         spec:\n  exports: [{subject: 'a.>', type: queue}]\n",
    )
    .unwrap();
    let out = nauth_render(
        &[
            "render",
            bad.to_str().unwrap(),
            "--lock",
            dir.path().join("l").to_str().unwrap(),
        ],
        "",
    );
    assert_eq!(out.status.code(), Some(1));
    let stderr = text(&out.stderr);
    let first = stderr.lines().next().unwrap();
    assert!(
        first.starts_with(&format!(
            "{}: Account ns/a: spec.exports[0].type: unknown variant `queue`",
            bad.display()
        )),
        "{stderr}"
    );
    assert!(
        stderr.ends_with("error: 1 problem(s) in the input; nothing was rendered\n"),
        "{stderr}"
    );
    assert!(
        !dir.path().join("l").exists(),
        "no lock is written for invalid input"
    );
}

#[test]
fn missing_keys_are_an_input_error_and_seeds_never_reach_stderr() {
    let dir = tempfile::tempdir().unwrap();
    let out = nauth_render(
        &[
            "render",
            quickstart().to_str().unwrap(),
            "--lock",
            dir.path().join("l").to_str().unwrap(),
        ],
        "",
    );
    assert_eq!(out.status.code(), Some(1));
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains("Account shop/orders: no keys for this account: no Secret labelled account.nauth.io/name=orders"),
        "{stderr}"
    );
    let operator_seed = fs::read_to_string(quickstart().join("operator-signing-key.yaml")).unwrap();
    let seed = operator_seed
        .lines()
        .find_map(|l| l.trim().strip_prefix("default: "))
        .unwrap();
    assert!(!stderr.contains(seed));
}

#[test]
fn standard_input_and_io_errors() {
    let dir = tempfile::tempdir().unwrap();
    let lock = dir.path().join("l");
    let out = nauth_render(
        &["render", "-", "--lock", lock.to_str().unwrap()],
        "a: [broken\n",
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).starts_with("-: not valid YAML"),
        "{}",
        text(&out.stderr)
    );

    let out = nauth_render(
        &[
            "render",
            "/nonexistent/manifests",
            "--lock",
            lock.to_str().unwrap(),
        ],
        "",
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).starts_with("error: /nonexistent/manifests: "),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn a_secret_data_value_that_is_not_base64_is_named_without_quoting_it() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("keys.yaml");
    // A seed pasted under data instead of stringData: base32, so not base64 of a whole length.
    let seed = "SAAPQGHCXP3M5THZ4JIJ2X6DJPXIBDX4DHVEI2ODY37NKI7R7YTIHNSTW4";
    fs::write(
        &file,
        format!(
            "apiVersion: v1\nkind: Secret\nmetadata: {{name: orders-ac-root, namespace: shop}}\n\
             data:\n  default: {seed}\n"
        ),
    )
    .unwrap();
    let lock = dir.path().join("nauth.lock");
    let out = nauth_render(
        &[
            "render",
            file.to_str().unwrap(),
            "--lock",
            lock.to_str().unwrap(),
        ],
        "",
    );
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        text(&out.stderr),
        format!(
            "{}: Secret shop/orders-ac-root: data.default: not valid base64: values under data \
             are base64-encoded (put plain text under stringData)\n\
             error: 1 problem(s) in the input; nothing was rendered\n",
            file.display()
        )
    );
    assert!(!lock.exists());
}

#[test]
fn check_of_an_out_dir_that_does_not_exist_says_so_once() {
    let dir = tempfile::tempdir().unwrap();
    let lock = dir.path().join("nauth.lock");
    fs::copy(quickstart().join("nauth.lock"), &lock).unwrap();
    let missing = dir.path().join("out");
    let out = nauth_render(
        &[
            "check",
            quickstart().to_str().unwrap(),
            "--seed-root",
            quickstart().join("seed-root").to_str().unwrap(),
            "--lock",
            lock.to_str().unwrap(),
            "--out-dir",
            missing.to_str().unwrap(),
        ],
        "",
    );
    assert_eq!(out.status.code(), Some(1), "stale: run render");
    assert_eq!(
        text(&out.stderr),
        format!(
            "error: --out-dir {dir} does not exist, so no rendered output is committed there; \
             run `nauth-render render --out-dir {dir}` on the same paths with the keys \
             (--seed-root or --keys) and commit the result, or correct the path\n",
            dir = missing.display()
        )
    );
    assert!(!missing.exists(), "check writes nothing");
}

#[test]
fn out_dir_gets_one_file_per_object_and_keeps_files_the_lock_never_had() {
    let dir = tempfile::tempdir().unwrap();
    let out_dir = dir.path().join("rendered");
    // Labelled, but the lock has no User gone: not this tree's output.
    let other = out_dir.join("shop/secret-gone-nats-user-creds.yaml");
    fs::create_dir_all(other.parent().unwrap()).unwrap();
    fs::write(
        &other,
        "metadata:\n  labels:\n    app.kubernetes.io/managed-by: nauth-render\n",
    )
    .unwrap();
    let mine = out_dir.join("shop/notes.yaml");
    fs::write(&mine, "kept: true\n").unwrap();
    let out = render_quickstart(
        dir.path(),
        &["--locked", "--out-dir", out_dir.to_str().unwrap()],
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(out.stdout, b"");
    let mut files: Vec<String> = fs::read_dir(out_dir.join("shop"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    files.sort();
    assert_eq!(
        files,
        [
            "configmap-billing-nats-account-jwt.yaml",
            "configmap-orders-nats-account-jwt.yaml",
            "notes.yaml",
            "secret-gone-nats-user-creds.yaml",
            "secret-invoicer-nats-user-creds.yaml",
            "secret-orders-service-nats-user-creds.yaml",
        ]
    );
}

#[test]
fn crds_prints_the_six_definitions() {
    let out = nauth_render(&["crds"], "");
    assert!(out.status.success());
    let yaml = text(&out.stdout);
    assert_eq!(yaml.matches("kind: CustomResourceDefinition").count(), 6);
    assert!(yaml.contains("name: accounts.nauth.io"));
}

#[test]
fn check_passes_on_the_committed_quickstart_and_fails_with_a_diff_when_stale() {
    let dir = tempfile::tempdir().unwrap();
    let lock = dir.path().join("nauth.lock");
    fs::copy(quickstart().join("nauth.lock"), &lock).unwrap();
    let args = |extra: &[&str]| {
        let mut v = vec![
            "check".to_string(),
            quickstart().display().to_string(),
            "--seed-root".into(),
            quickstart().join("seed-root").display().to_string(),
            "--lock".into(),
            lock.display().to_string(),
        ];
        v.extend(extra.iter().map(|s| s.to_string()));
        v
    };
    let run = |extra: &[&str]| {
        let a = args(extra);
        nauth_render(&a.iter().map(String::as_str).collect::<Vec<_>>(), "")
    };
    let ok = run(&[]);
    assert!(ok.status.success(), "{}", text(&ok.stderr));

    // A committed output directory, then one User's creds go stale.
    let out_dir = dir.path().join("out");
    let rendered = render_quickstart(
        dir.path(),
        &["--locked", "--out-dir", out_dir.to_str().unwrap()],
    );
    assert!(rendered.status.success());
    assert!(
        run(&["--out-dir", out_dir.to_str().unwrap()])
            .status
            .success()
    );
    let secret = out_dir.join("shop/secret-invoicer-nats-user-creds.yaml");
    let edited = fs::read_to_string(&secret).unwrap().replace(
        "nauth.io/issued-at: \"1764288000\"",
        "nauth.io/issued-at: \"1\"",
    );
    fs::write(&secret, edited).unwrap();
    let stale = run(&["--out-dir", out_dir.to_str().unwrap()]);
    assert_eq!(stale.status.code(), Some(1));
    let stderr = text(&stale.stderr);
    assert!(
        stderr.contains("-    nauth.io/issued-at: \"1\"\n+    nauth.io/issued-at: \"1764288000\""),
        "{stderr}"
    );
    assert!(stderr.ends_with("commit the result\n"), "{stderr}");

    // Changed creds data alone is reported, but never shown.
    render_quickstart(
        dir.path(),
        &["--locked", "--out-dir", out_dir.to_str().unwrap()],
    );
    let yaml = fs::read_to_string(&secret).unwrap();
    let data_line = yaml
        .lines()
        .find(|l| l.trim_start().starts_with("user.creds: "))
        .unwrap();
    fs::write(&secret, yaml.replace(data_line, "  user.creds: AAAA")).unwrap();
    let stale = run(&["--out-dir", out_dir.to_str().unwrap()]);
    assert_eq!(stale.status.code(), Some(1));
    let stderr = text(&stale.stderr);
    assert!(
        stderr.contains("secret-invoicer-nats-user-creds.yaml: Secret data differs (not shown)"),
        "{stderr}"
    );
    assert!(
        !stderr.contains(data_line.trim_start()),
        "no creds data in the report"
    );
}

/// A KRM `ResourceList` holding the quickstart's documents, plus `extra`.
fn resource_list(extra: &[serde_json::Value]) -> String {
    let mut items = Vec::new();
    let mut files: Vec<_> = fs::read_dir(quickstart())
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    for f in files
        .iter()
        .filter(|f| f.extension().is_some_and(|e| e == "yaml"))
    {
        let docs: Vec<serde_json::Value> =
            serde_saphyr::from_multiple(&fs::read_to_string(f).unwrap()).unwrap();
        items.extend(docs);
    }
    items.extend(extra.iter().cloned());
    let list = serde_json::json!({"apiVersion": "config.kubernetes.io/v1", "kind": "ResourceList", "items": items});
    serde_saphyr::to_string(&list).unwrap()
}

fn krm(list: &str) -> (Output, serde_json::Value) {
    let seed_root = quickstart().join("seed-root");
    let lock = quickstart().join("nauth.lock");
    let out = nauth_render(
        &[
            "krm",
            "--seed-root",
            seed_root.to_str().unwrap(),
            "--lock",
            lock.to_str().unwrap(),
        ],
        list,
    );
    let parsed = serde_saphyr::from_str(&text(&out.stdout)).unwrap();
    (out, parsed)
}

#[test]
fn krm_appends_the_rendered_objects_to_the_resource_list() {
    let (out, list) = krm(&resource_list(&[]));
    assert!(out.status.success(), "{}", text(&out.stderr));
    let items = list["items"].as_array().unwrap();
    let kinds: Vec<&str> = items[items.len() - 4..]
        .iter()
        .map(|i| i["kind"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["ConfigMap", "ConfigMap", "Secret", "Secret"]);
    assert_eq!(list["results"], serde_json::json!([]));
}

#[test]
fn krm_reports_problems_as_results_and_exits_1() {
    let bad = serde_json::json!({
        "apiVersion": "nauth.io/v1alpha1", "kind": "User",
        "metadata": {"name": "ghost", "namespace": "shop",
                     "annotations": {"config.kubernetes.io/path": "users/ghost.yaml"}},
        "spec": {"accountName": "nowhere"}
    });
    let (out, list) = krm(&resource_list(&[bad]));
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        list["results"],
        serde_json::json!([{
            "message": "Account shop/nowhere is not in the input (or has no keys)",
            "severity": "error",
            "tags": {"code": "NotFound"},
            "resourceRef": {"apiVersion": "nauth.io/v1alpha1", "kind": "User", "namespace": "shop", "name": "ghost"},
            "field": {"path": "spec.accountName"},
            "file": {"path": "users/ghost.yaml"}
        }])
    );
    // kustomize shows a failed function's stderr, not its results: the error is there too.
    assert_eq!(
        text(&out.stderr),
        "users/ghost.yaml: User shop/ghost: spec.accountName: Account shop/nowhere is not in the \
         input (or has no keys)\nerror: 1 problem(s); the ResourceList's results name them too\n"
    );
}

#[test]
fn non_utf8_input_is_invalid_input_naming_the_file_and_line() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("latin1.yaml");
    fs::write(
        &file,
        b"apiVersion: v1\nkind: ConfigMap\nmetadata: {name: caf\xe9}\n",
    )
    .unwrap();
    let lock = dir.path().join("nauth.lock");
    let out = nauth_render(
        &[
            "render",
            dir.path().to_str().unwrap(),
            "--lock",
            lock.to_str().unwrap(),
        ],
        "",
    );
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    assert!(
        text(&out.stderr).starts_with(&format!(
            "{}: not UTF-8 text (line 3, byte 21 of the line); save it as UTF-8\n",
            file.display()
        )),
        "{}",
        text(&out.stderr)
    );
    assert!(!lock.exists(), "nothing written");
}

#[test]
fn yaml_errors_speak_of_the_yaml_not_of_the_parser() {
    let out = nauth_render(
        &["render", "-", "--lock", "/nonexistent/nauth.lock"],
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\nmetadata: {name: b}\n",
    );
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        text(&out.stderr).lines().next(),
        Some(
            "-: not valid YAML: duplicate mapping key `metadata` is not allowed here at line 4, column 1"
        )
    );
}

#[test]
fn krm_results_name_a_secret_by_api_version_kind_namespace_and_name() {
    let secret = serde_json::json!({
        "apiVersion": "v1", "kind": "Secret",
        "metadata": {"name": "broken", "namespace": "shop"}, "stringData": ["not a map"]
    });
    let (out, list) = krm(&resource_list(&[secret]));
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        list["results"][0]["resourceRef"],
        serde_json::json!({"apiVersion": "v1", "kind": "Secret", "namespace": "shop", "name": "broken"})
    );
}

#[test]
fn krm_refuses_paths_instead_of_ignoring_them() {
    // No stdin: the arguments are refused before it would be read.
    let out = nauth_render(&["krm", "examples/quickstart"], "");
    assert_eq!(out.status.code(), Some(2), "a usage error");
    assert_eq!(text(&out.stdout), "");
    assert!(
        text(&out.stderr).contains(
            "krm takes no PATH: kustomize passes the resources on standard input, as a ResourceList"
        ),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn the_committed_crd_chart_is_what_crds_generates() {
    let committed =
        fs::read_to_string(repo().join("charts/nauth-crds/crds/nauth.io.yaml")).unwrap();
    let generated = nauth_render(&["crds"], "");
    assert_eq!(
        text(&generated.stdout),
        committed,
        "charts/nauth-crds/crds/nauth.io.yaml is stale: regenerate it with `nauth-render crds`"
    );
}

#[test]
fn the_argo_cd_plugin_command_renders_an_application_directory() {
    let plugin: serde_json::Value = serde_saphyr::from_str(
        &fs::read_to_string(repo().join("kustomize/argocd/plugin.yaml")).unwrap(),
    )
    .unwrap();
    let keys = tempfile::tempdir().unwrap();
    let env = [
        (
            "NAUTH_KEYS_DIR".to_string(),
            keys.path().display().to_string(),
        ),
        (
            "NAUTH_SEED_ROOT".to_string(),
            quickstart().join("seed-root").display().to_string(),
        ),
    ];
    let out = argocd::generate(&plugin, &quickstart(), &env);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let expected = render_quickstart(keys.path(), &["--locked"]);
    assert_eq!(text(&out.stdout), text(&expected.stdout));
}

#[test]
fn errors_name_the_option_or_variable_that_was_set() {
    let dir = tempfile::tempdir().unwrap();
    let lock = dir.path().join("nauth.lock");
    let qs = quickstart().display().to_string();
    let lock = lock.to_str().unwrap();
    let out = nauth_render(
        &[
            "render",
            &qs,
            "--lock",
            lock,
            "--seed-root",
            "/nonexistent/seed-rot",
        ],
        "",
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).starts_with("error: --seed-root /nonexistent/seed-rot: "),
        "{}",
        text(&out.stderr)
    );

    let out = std::process::Command::new(env!("CARGO_BIN_EXE_nauth-render"))
        .args(["render", &qs, "--lock", lock])
        .env("NATS_CLUSTER_REF", "junk")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).contains("NATS_CLUSTER_REF must be NAMESPACE/NAME, got \"junk\""),
        "{}",
        text(&out.stderr)
    );
}

/// `render` of the quickstart with its seed root (unless `seed_root` is false), lock and
/// `--locked`, so nothing is written, with `env` set and `extra` arguments.
fn render_quickstart_with(env: &[(&str, &str)], seed_root: bool, extra: &[&str]) -> Output {
    let (qs, key) = (quickstart(), quickstart().join("seed-root"));
    let lock = qs.join("nauth.lock");
    let mut args = vec!["render", qs.to_str().unwrap(), "--locked", "--lock"];
    args.push(lock.to_str().unwrap());
    if seed_root {
        args.extend(["--seed-root", key.to_str().unwrap()]);
    }
    let mut command = command();
    command.args(args).args(extra);
    for (name, value) in env {
        command.env(name, value);
    }
    command.output().unwrap()
}

#[test]
fn empty_variables_count_as_unset() {
    let empty = [
        ("NAUTH_SEED_ROOT", ""),
        ("NATS_CLUSTER_REF", ""),
        ("NATS_CLUSTER_REF_OPTIONAL", ""),
        ("SOURCE_DATE_EPOCH", ""),
    ];
    let keyless = render_quickstart_with(&empty, false, &[]);
    assert_eq!(keyless.status.code(), Some(1), "{}", text(&keyless.stderr));
    assert!(
        text(&keyless.stderr).contains("--seed-root"),
        "unset, so no key: {}",
        text(&keyless.stderr)
    );
    let out = render_quickstart_with(&empty, true, &[]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let expected = render_quickstart_with(&[], true, &[]);
    assert_eq!(out.stdout, expected.stdout);
}

#[test]
fn a_negative_epoch_is_said_to_be_negative() {
    for (env, extra, named) in [
        (
            &[("SOURCE_DATE_EPOCH", "-5")][..],
            &[][..],
            "SOURCE_DATE_EPOCH",
        ),
        (&[], &["--issued-at=-5"][..], "--issued-at"),
    ] {
        let out = render_quickstart_with(env, true, extra);
        assert_eq!(out.status.code(), Some(1));
        let stderr = text(&out.stderr);
        assert!(
            stderr.contains(&format!("{named} must not be negative")) && !stderr.contains("large"),
            "{stderr}"
        );
    }
}

#[test]
fn a_cluster_reference_is_two_dns_labels_named_by_where_it_came_from() {
    for (env, extra, named) in [
        (
            &[("NATS_CLUSTER_REF", "a/b/c")][..],
            &[][..],
            "NATS_CLUSTER_REF",
        ),
        (&[], &["--nats-cluster", "nats/Local"][..], "--nats-cluster"),
        (&[], &["--nats-cluster", "/nats"][..], "--nats-cluster"),
    ] {
        let out = render_quickstart_with(env, true, extra);
        assert_eq!(out.status.code(), Some(1));
        let stderr = text(&out.stderr);
        assert!(
            stderr.contains(&format!("{named} must be NAMESPACE/NAME, got "))
                && stderr.contains(": one '/' between two DNS-1123 labels"),
            "{stderr}"
        );
    }
}

#[test]
fn a_secret_string_data_number_must_be_a_string_and_is_not_shown() {
    let secret = "apiVersion: v1\nkind: Secret\nmetadata: {name: key, namespace: nats}\n\
                  stringData:\n  default: 8675309\n";
    let dir = tempfile::tempdir().unwrap();
    let lock = dir.path().join("nauth.lock");
    let out = nauth_render(&["render", "-", "--lock", lock.to_str().unwrap()], secret);
    assert_eq!(out.status.code(), Some(1));
    let stderr = text(&out.stderr);
    assert!(
        stderr.starts_with(
            "-: Secret nats/key: stringData.default: must be a string: quote a value YAML would \
             read as a number or boolean\n"
        ) && !stderr.contains("8675309"),
        "{stderr}"
    );
    assert!(!lock.exists());
}
