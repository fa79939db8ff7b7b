//! Every command the documentation shows runs (issue 11 §5): the ```sh blocks of each covered
//! Markdown file, joined in order into one bash script (`nauth_tests::doc_commands`), run from
//! the root of a fresh copy of the repository with the project's binaries and the pinned tools
//! of tests/testenv.sh first on PATH. A failure names FILE:LINE of the block that failed.
//! Scripts that need servers start their own (`tests/testenv.sh up`); the variables of the
//! environment this test runs in are removed, so no script talks to it by accident.

use std::fs;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use nauth_tests::doc_commands::{blocks, covered_files, fence_problems, script};
use nauth_tests::testenv;
use nauth_tests::tools::{cargo_build, repo};

/// A script still running after this long hangs (the contract asks for ~90 s): it is killed.
const HANG: Duration = Duration::from_secs(600);

/// Variables of the surrounding test environment that a script must not inherit.
const TESTENV_VARS: [&str; 8] = [
    "NAUTH_TESTENV",
    "NAUTH_TESTENV_DIR",
    "KUBECONFIG",
    "NATS_URL",
    "NATS_MONITOR_URL",
    "NATS_SYSTEM_CREDS",
    "NATS_OPERATOR_SIGNING_SEED",
    "NATS_OPERATOR_JWT",
];

#[test]
#[ignore = "needs tests/testenv.sh"]
fn every_sh_block_of_the_docs_runs() {
    testenv::require();
    let work = tempfile::tempdir().unwrap();
    let bin = tools_on_path(&work.path().join("bin"));
    let bootstrap = cargo_build(
        &["-p", "nauth-tests", "-p", "nauth-apply"],
        "testenv-bootstrap",
    );
    let root = repo();
    let mut problems = Vec::new();
    let files = covered_files(&root);
    assert!(files.contains(&PathBuf::from("README.md")), "{files:?}");
    for file in files {
        let name = file.display().to_string();
        let markdown = fs::read_to_string(root.join(&file)).unwrap();
        let fences = fence_problems(&name, &markdown);
        if !fences.is_empty() {
            problems.extend(fences);
            continue;
        }
        let Some(script) = script(&name, &blocks(&markdown).unwrap()) else {
            continue;
        };
        let scratch = work.path().join("repo");
        copy_repository(&root, &scratch);
        eprintln!("doc_commands: running the sh blocks of {name}");
        if let Err(problem) = run(&script, &scratch, &bin, &bootstrap, work.path()) {
            problems.push(problem);
        }
        fs::remove_dir_all(&scratch).unwrap();
    }
    assert!(problems.is_empty(), "\n{}", problems.join("\n\n"));
}

/// A directory of links to `nauth-render`, `nauth-apply` (built here) and the pinned tools of
/// tests/testenv.sh, under the names a reader types.
fn tools_on_path(dir: &Path) -> PathBuf {
    fs::create_dir_all(dir).unwrap();
    let built = [
        cargo_build(&["-p", "nauth-render-cli"], "nauth-render"),
        cargo_build(&["-p", "nauth-tests", "-p", "nauth-apply"], "nauth-apply"),
    ];
    let pinned = [
        ("kubectl", "KUBECTL_BIN"),
        ("helm", "HELM_BIN"),
        ("kustomize", "KUSTOMIZE_BIN"),
        ("nats-server", "NATS_SERVER_BIN"),
        ("sops", "NAUTH_SOPS"),
    ]
    .map(|(name, var)| (name.to_string(), PathBuf::from(testenv::var(var))));
    let built = built.map(|path| {
        (
            path.file_name().unwrap().to_str().unwrap().to_string(),
            path,
        )
    });
    for (name, target) in built.into_iter().chain(pinned) {
        std::os::unix::fs::symlink(&target, dir.join(name)).unwrap();
    }
    dir.to_path_buf()
}

/// Copies the files git tracks, and the untracked ones it does not ignore, from `root` to `to`.
fn copy_repository(root: &Path, to: &Path) {
    let listing = Command::new("git")
        .args([
            "ls-files",
            "-z",
            "--cached",
            "--others",
            "--exclude-standard",
        ])
        .current_dir(root)
        .output()
        .expect("running git ls-files");
    assert!(listing.status.success(), "git ls-files failed");
    for file in listing.stdout.split(|b| *b == 0).filter(|f| !f.is_empty()) {
        let file = Path::new(std::str::from_utf8(file).unwrap());
        let source = root.join(file);
        // A tracked file deleted in the work tree is not part of it.
        if !source.is_file() {
            continue;
        }
        let target = to.join(file);
        fs::create_dir_all(target.parent().unwrap()).unwrap();
        fs::copy(&source, &target).unwrap_or_else(|e| panic!("copying {file:?}: {e}"));
    }
}

/// Runs `script` in `scratch`; on failure, the block that failed and the end of its output.
fn run(
    script: &str,
    scratch: &Path,
    bin: &Path,
    bootstrap: &Path,
    work: &Path,
) -> Result<(), String> {
    let marker = work.join("block");
    let log = work.join("output");
    let _ = fs::remove_file(&marker);
    let path = format!(
        "{}:{}",
        bin.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let output = fs::File::create(&log).unwrap();
    let mut command = Command::new("bash");
    command
        .args(["-c", script])
        .current_dir(scratch)
        .env("PATH", path)
        .env("NAUTH_DOC_BLOCK_FILE", &marker)
        .env("NAUTH_TESTENV_BOOTSTRAP", bootstrap)
        .stdin(Stdio::null())
        .stdout(output.try_clone().unwrap())
        .stderr(output)
        // Its own process group, so what it leaves running can be stopped with it.
        .process_group(0);
    for var in TESTENV_VARS {
        command.env_remove(var);
    }
    let mut child = command.spawn().expect("running bash");
    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break Some(status);
        }
        if started.elapsed() > HANG {
            break None;
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    // Background jobs the script left behind (it should have stopped them).
    let _ = Command::new("kill")
        .args(["-KILL", "--", &format!("-{}", child.id())])
        .stderr(Stdio::null())
        .status();
    let block = fs::read_to_string(&marker).unwrap_or_default();
    let block = block.trim();
    let failure = match status {
        Some(status) if status.success() && block == "done" => return Ok(()),
        Some(status) if status.success() => format!("{block}: the script ended in this block"),
        Some(status) => format!("{block}: this block failed ({status})"),
        None => format!("{block}: still running after {HANG:?}, killed"),
    };
    let output = fs::read_to_string(&log).unwrap_or_default();
    let lines: Vec<&str> = output.lines().collect();
    let tail = lines[lines.len().saturating_sub(60)..].join("\n");
    Err(format!(
        "{failure}\n--- last lines of its output ---\n{tail}"
    ))
}
