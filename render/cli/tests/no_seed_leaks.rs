//! No seed, and nothing of the seed root, reaches stdout or stderr outside a rendered creds
//! Secret, whatever is broken in the input: a property test over every command of the binary.
//!
//! Each case puts fresh keys in every place a key can be (Secret `stringData` and `data`, a
//! creds Secret, a `--keys` file, the seed root, a KRM ResourceList, an nsc store), breaks one
//! of them at random (cut, bad indentation, bad base64, wrong types, stray quotes or document
//! markers), runs every command that reads them and scans what they print.

mod common;

use std::fs;
use std::path::Path;
use std::process::Output;

use common::{nauth_render, text};
use data_encoding::BASE64;
use nkeys::{KeyPair, KeyPairType};
use serde_json::Value;

/// Cases per run: every case runs each command once, so this keeps a debug run short.
const CASES: u64 = 24;

/// SplitMix64: a fixed sequence, so a failing case is reproduced by its number.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    fn bytes(&mut self) -> [u8; 32] {
        let mut out = [0; 32];
        out.iter_mut().for_each(|b| *b = self.next() as u8);
        out
    }

    fn key(&mut self, kind: KeyPairType) -> String {
        KeyPair::new_from_raw(kind, self.bytes())
            .unwrap()
            .seed()
            .unwrap()
    }
}

/// The key material of one case, and the texts that must never be printed.
struct Case {
    files: Vec<(&'static str, String)>,
    secrets: Vec<String>,
}

fn case(rng: &mut Rng) -> Case {
    let seeds: Vec<String> = [
        KeyPairType::Account,
        KeyPairType::Account,
        KeyPairType::Account,
        KeyPairType::Account,
        KeyPairType::User,
        KeyPairType::Operator,
    ]
    .into_iter()
    .map(|k| rng.key(k))
    .collect();
    let seed_root = format!("{}\n", BASE64.encode(&rng.bytes()));
    let b64 = |s: &str| BASE64.encode(s.as_bytes());
    let creds = format!(
        "-----BEGIN NATS USER JWT-----\neyJhbGciOiJlZDI1NTE5LW5rZXkifQ.e30.c2ln\n------END NATS USER JWT------\n\n\
         -----BEGIN USER NKEY SEED-----\n{}\n------END USER NKEY SEED------\n",
        seeds[4]
    );
    let in_tree = format!(
        "apiVersion: v1\nkind: Secret\nmetadata:\n  name: orders-ac-root\n  namespace: shop\n\
         stringData:\n  default: {}\n---\n\
         apiVersion: v1\nkind: Secret\nmetadata:\n  name: orders-ac-sign\n  namespace: shop\n\
         data:\n  default: {}\n---\n\
         apiVersion: v1\nkind: Secret\nmetadata:\n  name: invoicer-nats-user-creds\n  namespace: shop\n\
         stringData:\n  user.creds: |\n{}\
         ---\napiVersion: v1\nkind: Secret\nmetadata:\n  name: operator-signing-key\n  namespace: nats\n\
         stringData: {{default: \"{}\"}}\n",
        seeds[0],
        b64(&seeds[1]),
        creds
            .lines()
            .map(|l| format!("    {l}\n"))
            .collect::<String>(),
        seeds[5],
    );
    let keys = format!(
        "apiVersion: v1\nkind: List\nitems:\n\
         - apiVersion: v1\n  kind: Secret\n  metadata:\n    name: billing-ac-root\n    namespace: shop\n\
         \x20 data:\n    default: {}\n\
         - apiVersion: v1\n  kind: Secret\n  metadata:\n    name: billing-ac-sign\n    namespace: shop\n\
         \x20 stringData:\n    default: '{}'\n",
        b64(&seeds[2]),
        seeds[3],
    );
    let mut secrets = seeds.clone();
    secrets.extend(seeds.iter().map(|s| b64(s)));
    secrets.push(seed_root.trim().to_string());
    secrets.push(b64(&creds));
    Case {
        files: vec![
            ("secrets.yaml", in_tree),
            ("keys.yaml", keys),
            ("seed-root", seed_root),
        ],
        secrets,
    }
}

/// `text` broken in one to three random ways.
fn break_text(rng: &mut Rng, text: &str) -> String {
    let mut t = text.to_string();
    for _ in 0..1 + rng.below(3) {
        let at = floor_char(&t, rng.below(t.len().max(1)));
        t = match rng.below(8) {
            0 => t[..at].to_string(),
            1 => reindent(rng, &t),
            2 => {
                // A character that is not base64 inside a value.
                let mut s = t.clone();
                s.insert(at, ['!', '%', '*', ' ', '\t'][rng.below(5)]);
                s
            }
            3 => {
                let (from, to) = [
                    ("stringData:", "stringData: 3\n  x:"),
                    ("data:", "data: [\n"),
                    ("default: ", "default: [1, "),
                    ("default: ", "default:\n  - "),
                    ("kind: Secret", "kind: [Secret"),
                    ("metadata:", "metadata: true\n  z:"),
                    ("user.creds: |", "user.creds: {"),
                    ("items:", "items: 5\n"),
                ][rng.below(8)];
                t.replacen(from, to, 1)
            }
            4 => {
                let mut s = t.clone();
                s.insert(at, ['"', '\'', '{', '[', ':', '&', '*'][rng.below(7)]);
                s
            }
            5 => {
                let mut s = t.clone();
                s.insert_str(at, "\n---\n");
                s
            }
            6 => duplicate_line(rng, &t),
            _ => {
                // A seed's key as a mapping key, so a field path would name it.
                let mut s = t.clone();
                s.insert_str(at, ":\n  ");
                s
            }
        };
    }
    t
}

fn floor_char(t: &str, mut at: usize) -> usize {
    while !t.is_char_boundary(at) {
        at -= 1;
    }
    at
}

fn reindent(rng: &mut Rng, t: &str) -> String {
    let lines: Vec<&str> = t.lines().collect();
    let n = rng.below(lines.len().max(1));
    lines
        .iter()
        .enumerate()
        .map(|(i, l)| match (i == n, rng.below(3)) {
            (true, 0) => format!("   {l}\n"),
            (true, 1) => format!("{}\n", l.trim_start()),
            (true, _) => format!("\t{l}\n"),
            _ => format!("{l}\n"),
        })
        .collect()
}

fn duplicate_line(rng: &mut Rng, t: &str) -> String {
    let lines: Vec<&str> = t.lines().collect();
    let n = rng.below(lines.len().max(1));
    let mut out = String::new();
    for (i, l) in lines.iter().enumerate() {
        out.push_str(l);
        out.push('\n');
        if i == n {
            out.push_str(l);
            out.push('\n');
        }
    }
    out
}

/// A KRM ResourceList with the quickstart's documents and the case's Secrets as items.
fn resource_list(dir: &Path) -> String {
    let mut items = String::new();
    let mut names: Vec<_> = fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "yaml"))
        .collect();
    names.sort();
    for path in names {
        for doc in fs::read_to_string(path).unwrap().split("\n---\n") {
            let body: String = doc
                .lines()
                .filter(|l| !l.starts_with('#') && *l != "---")
                .enumerate()
                .map(|(i, l)| format!("{}{l}\n", if i == 0 { "- " } else { "  " }))
                .collect();
            items.push_str(&body);
        }
    }
    format!("apiVersion: config.kubernetes.io/v1\nkind: ResourceList\nitems:\n{items}")
}

/// The first leak in `printed`: a seed-shaped word, or 16 characters of a known secret.
fn leak(printed: &str, secrets: &[String]) -> Option<String> {
    let b = printed.as_bytes();
    let base32 = |c: &u8| c.is_ascii_uppercase() || (b'2'..=b'7').contains(c);
    for i in 0..b.len().saturating_sub(1) {
        // A seed starts a word (`OBTSOJ…`, a public key, holds `SO` inside).
        let starts_word = i == 0 || !base32(&b[i - 1]);
        if starts_word && b[i] == b'S' && b"OAUNCXP".contains(&b[i + 1]) {
            let run = b[i + 2..].iter().take_while(|c| base32(c)).count();
            // A JWT's `jti` is base32 of a hash and may start the same way.
            let jti = printed[i.saturating_sub(8)..i].contains("jti");
            if run >= 50 && !jti {
                return Some(printed[i..i + 2 + run].to_string());
            }
        }
    }
    for secret in secrets {
        for w in 0..secret.len().saturating_sub(15) {
            let window = &secret[w..w + 16];
            if printed.contains(window) {
                return Some(format!("{window} (of a known secret)"));
            }
        }
    }
    None
}

/// What a command printed that may not hold keys: all of stderr; stdout without the data of
/// rendered creds Secrets (render) or the items passed through (krm).
fn scanned(command: &str, out: &Output) -> String {
    let stdout = text(&out.stdout);
    let stdout = match command {
        "render" if out.status.success() => {
            let docs: Vec<Value> = serde_saphyr::from_multiple(&stdout).unwrap();
            docs.into_iter()
                .map(|mut d| {
                    if d["kind"] == "Secret" {
                        d["data"] = Value::Null;
                    }
                    d.to_string()
                })
                .collect()
        }
        "krm" => match serde_saphyr::from_str::<Value>(&stdout) {
            Ok(list) => list["results"].to_string(),
            Err(_) => stdout,
        },
        _ => stdout,
    };
    format!("{stdout}\n{}", text(&out.stderr))
}

/// Issue 8 item 1: a parser's error message with a snippet of the text around the error
/// quoted the `stringData` line just above it.
#[test]
fn every_command_reports_broken_yaml_without_quoting_it() {
    let seed = KeyPair::new_from_raw(KeyPairType::Account, [7; 32])
        .unwrap()
        .seed()
        .unwrap();
    let broken = format!(
        "apiVersion: v1\nkind: Secret\nmetadata:\n  name: orders-ac-root\n  namespace: shop\n\
         stringData:\n  default: {seed}\n  other: [unclosed\n  more: \"x\n"
    );
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("secret.yaml");
    fs::write(&file, &broken).unwrap();
    let f = file.display().to_string();
    let d = dir.path().display().to_string();
    let lock = dir.path().join("nauth.lock").display().to_string();
    let list = format!(
        "apiVersion: config.kubernetes.io/v1\nkind: ResourceList\nitems:\n{}",
        broken
            .lines()
            .enumerate()
            .map(|(i, l)| format!("{}{l}\n", if i == 0 { "- " } else { "  " }))
            .collect::<String>()
    );
    let runs: Vec<(Vec<&str>, &str)> = vec![
        (vec!["render", &f, "--lock", &lock], ""),
        (vec!["render", "-", "--lock", &lock], &broken),
        (vec!["render", &d, "--keys", &f, "--lock", &lock], ""),
        (vec!["check", &f, "--lock", &lock], ""),
        (vec!["diff", &d, &d], ""),
        (vec!["krm", "--lock", &lock], &list),
        (
            vec![
                "explain", &f, "--lock", &lock, "--user", "a/b", "--pub", "x",
            ],
            "",
        ),
        (vec!["inspect", &f], ""),
        (vec!["inspect", "-"], &broken),
    ];
    for (args, stdin) in runs {
        let out = nauth_render(&args, stdin);
        assert_ne!(out.status.code(), Some(0), "{args:?}");
        let printed = format!("{}{}", text(&out.stdout), text(&out.stderr));
        assert!(
            !printed.contains(&seed[..20]),
            "{args:?} quoted the seed: {printed}"
        );
        assert!(
            !printed.contains("unclosed"),
            "{args:?} quoted the input: {printed}"
        );
    }
}

#[test]
fn no_command_prints_a_key_from_broken_input() {
    let quickstart = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/quickstart");
    let mut rng = Rng(0x6e61_7574_6872_7331);
    for n in 0..CASES {
        let Case { files, secrets } = case(&mut rng);
        let dir = tempfile::tempdir().unwrap();
        let tree = dir.path().join("tree");
        fs::create_dir(&tree).unwrap();
        for f in [
            "accounts.yaml",
            "exports-imports.yaml",
            "nats-cluster.yaml",
            "users.yaml",
        ] {
            fs::copy(quickstart.join(f), tree.join(f)).unwrap();
        }
        let broken = rng.below(files.len() + 2);
        let path_of = |name: &str| match name {
            "secrets.yaml" => tree.join(name),
            _ => dir.path().join(name),
        };
        for (i, (name, content)) in files.iter().enumerate() {
            let content = if i == broken {
                break_text(&mut rng, content)
            } else {
                content.clone()
            };
            fs::write(path_of(name), content).unwrap();
        }
        let mut list = resource_list(&tree);
        if broken == files.len() {
            list = break_text(&mut rng, &list);
        }
        // An nsc store whose operator JWT and key file hold (broken) seeds.
        let nsc = dir.path().join("nsc");
        let op = KeyPair::new_from_raw(KeyPairType::Operator, rng.bytes()).unwrap();
        let nk = nsc.join(format!(
            "keys/keys/O/{}/{}.nk",
            &op.public_key()[1..3],
            op.public_key()
        ));
        fs::create_dir_all(nk.parent().unwrap()).unwrap();
        fs::create_dir_all(nsc.join("stores/acme")).unwrap();
        let op_seed = op.seed().unwrap();
        let (jwt_text, nk_text) = if broken == files.len() + 1 {
            (
                break_text(&mut rng, &op_seed),
                break_text(&mut rng, &op_seed),
            )
        } else {
            (op_seed.clone(), op_seed.clone())
        };
        fs::write(nsc.join("stores/acme/acme.jwt"), jwt_text).unwrap();
        fs::write(&nk, nk_text).unwrap();
        let mut secrets = secrets;
        secrets.push(op_seed);

        let p = |p: &Path| p.display().to_string();
        let (tree_s, keys, root) = (
            p(&tree),
            p(&dir.path().join("keys.yaml")),
            p(&dir.path().join("seed-root")),
        );
        let lock = p(&dir.path().join("nauth.lock"));
        let out_dir = p(&dir.path().join("out"));
        let secrets_file = fs::read_to_string(tree.join("secrets.yaml")).unwrap();
        let with_keys = ["--keys", &keys, "--seed-root", &root, "--lock", &lock];
        let runs: Vec<(&str, Vec<&str>, &str)> = vec![
            (
                "render",
                [&["render", &tree_s][..], &with_keys].concat(),
                "",
            ),
            (
                "render",
                [&["render", "-"][..], &with_keys].concat(),
                &secrets_file,
            ),
            (
                "check",
                [&["check", &tree_s, "--out-dir", &out_dir][..], &with_keys].concat(),
                "",
            ),
            ("check", vec!["check", &tree_s, "--lock", &lock], ""),
            ("diff", vec!["diff", &tree_s, &tree_s], ""),
            ("krm", [&["krm"][..], &with_keys].concat(), &list),
            (
                "explain",
                [
                    &[
                        "explain",
                        &tree_s,
                        "--user",
                        "shop/invoicer",
                        "--pub",
                        "a.b",
                    ][..],
                    &with_keys,
                ]
                .concat(),
                "",
            ),
            ("inspect", vec!["inspect", &keys], ""),
            ("inspect", vec!["inspect", "-"], &secrets_file),
            (
                "bootstrap",
                vec![
                    "bootstrap",
                    "--out",
                    &out_dir,
                    "--from-nsc",
                    nsc.to_str().unwrap(),
                ],
                "",
            ),
        ];
        for (command, args, stdin) in runs {
            let out = nauth_render(&args, stdin);
            assert_ne!(out.status.code(), Some(101), "case {n}: {args:?} panicked");
            if let Some(found) = leak(&scanned(command, &out), &secrets) {
                panic!(
                    "case {n}: {args:?} printed key material {found}\nstdout: {}\nstderr: {}",
                    text(&out.stdout),
                    text(&out.stderr)
                );
            }
        }
    }
}
