//! Render throughput against the floor set by Ed25519 itself, on all cores and on one; and
//! `diff` of two versions of the same tree against a render of it.
//!
//! A tree of 1,000 Accounts × 10 Users (11,000 JWTs), built once in memory, is rendered with
//! every key derived from a seed root (derivation is part of rendering: a user's public key is
//! its JWT's subject). Next to it, in the same process, the same number of raw Ed25519
//! signatures over inputs the size of a rendered user JWT's `header.payload`. See BENCHMARKS.md.

use std::hint::black_box;
use std::time::Duration;

use criterion::{Criterion, SamplingMode, Throughput, criterion_group, criterion_main};
use nauth_render::diff::{self, Side, Style};
use nauth_render::input::shared::ParsedFiles;
use nauth_render::input::{Contents, Inputs};
use nauth_render::jwt::creds::parse_creds;
use nauth_render::keys::{KeySources, SeedRoot};
use nauth_render::lock::Lock;
use nauth_render::output;
use nauth_render::render::{Options, Preview, Rendered, preview, render};
use nkeys::{KeyPair, KeyPairType};

const NAMESPACES: usize = 4;
const ACCOUNTS: usize = 1_000;
const USERS_PER_ACCOUNT: usize = 10;
const USERS: usize = ACCOUNTS * USERS_PER_ACCOUNT;
const JWTS: usize = ACCOUNTS + USERS;
const EPOCH: i64 = 1_800_000_000;

/// The namespace and name of account `i`.
fn account_ref(i: usize) -> (String, String) {
    (format!("team-{}", i % NAMESPACES), format!("acc-{i:04}"))
}

/// The operator key Secret and its NatsCluster.
fn cluster_yaml() -> String {
    let operator = KeyPair::new_from_raw(KeyPairType::Operator, [1; 32]).unwrap();
    format!(
        "apiVersion: v1\nkind: Secret\nmetadata: {{name: op, namespace: nats}}\n\
         stringData: {{default: {}}}\n---\n\
         apiVersion: nauth.io/v1alpha1\nkind: NatsCluster\nmetadata: {{name: nats, namespace: nats}}\n\
         spec: {{url: 'nats://nats.nats:4222', operatorSigningKeySecretRef: {{name: op}}, \
         systemAccountUserCredsSecretRef: {{name: sys}}}}\n",
        operator.seed().unwrap()
    )
}

/// Account `i` exports a service and a stream, and imports the service of the next account
/// (in another namespace), so the import check has a real export to match against.
fn account_yaml(i: usize) -> String {
    let (ns, name) = account_ref(i);
    let (next_ns, next) = account_ref((i + 1) % ACCOUNTS);
    format!(
        "apiVersion: nauth.io/v1alpha1\nkind: Account\nmetadata: {{name: {name}, namespace: {ns}}}\n\
         spec:\n  natsClusterRef: {{name: nats, namespace: nats}}\n\
         \x20 natsLimits: {{subs: 1000, payload: 1048576}}\n\
         \x20 exports:\n\
         \x20 - {{name: api, subject: 'svc.{name}.>', type: service}}\n\
         \x20 - {{name: events, subject: 'events.{name}.>', type: stream}}\n\
         \x20 imports:\n\
         \x20 - {{name: next, accountRef: {{name: {next}, namespace: {next_ns}}}, \
         subject: 'svc.{next}.ping', type: service}}\n"
    )
}

/// User `k` of account `i`, with publish, subscribe and response permissions.
fn user_yaml(i: usize, k: usize) -> String {
    let (ns, account) = account_ref(i);
    let (_, next) = account_ref((i + 1) % ACCOUNTS);
    format!(
        "apiVersion: nauth.io/v1alpha1\nkind: User\nmetadata: {{name: {account}-u{k}, namespace: {ns}}}\n\
         spec:\n  accountName: {account}\n  permissions:\n\
         \x20   pub: {{allow: ['svc.{next}.ping', 'events.{account}.u{k}.>'], deny: ['events.{account}.admin.>']}}\n\
         \x20   sub: {{allow: ['_INBOX.>', 'svc.{account}.>', 'events.>']}}\n\
         \x20   resp: {{max: 1}}\n"
    )
}

/// The tree as files: the cluster, then one file per Account holding it and its Users, as a
/// GitOps repository would lay it out (a file holds at most 1,024 YAML documents).
fn tree_files() -> Vec<(String, String)> {
    let mut files = vec![("cluster.yaml".to_string(), cluster_yaml())];
    for i in 0..ACCOUNTS {
        let mut docs = vec![account_yaml(i)];
        docs.extend((0..USERS_PER_ACCOUNT).map(|k| user_yaml(i, k)));
        let (ns, name) = account_ref(i);
        files.push((format!("{ns}/{name}.yaml"), docs.join("---\n")));
    }
    files
}

/// The tree after a small pull request: two Users get another publish subject and one Account
/// a lower subscription limit.
fn changed_tree_files() -> Vec<(String, String)> {
    let mut files = tree_files();
    for (i, k) in [(3, 0), (500, 9)] {
        let (ns, name) = account_ref(i);
        let file = files
            .iter_mut()
            .find(|f| f.0 == format!("{ns}/{name}.yaml"))
            .unwrap();
        let before = user_yaml(i, k);
        let after = before.replace("pub: {allow: [", "pub: {allow: ['audit.>', ");
        file.1 = file.1.replace(&before, &after);
    }
    let (ns, name) = account_ref(900);
    let file = files
        .iter_mut()
        .find(|f| f.0 == format!("{ns}/{name}.yaml"))
        .unwrap();
    file.1 = file.1.replacen("subs: 1000", "subs: 100", 1);
    files
}

/// The texts of `sides`, each as often as `diff` reads it.
fn texts<'t>(sides: &[&'t [(String, String)]]) -> ParsedFiles<'t> {
    let texts = sides
        .iter()
        .flat_map(|files| files.iter().map(|(_, t)| t.as_str()));
    ParsedFiles::expecting(texts, Contents::Everything)
}

/// Parses `files` as `diff` does, reusing what `parsed` already holds.
fn parse<'t>(files: &'t [(String, String)], parsed: &mut ParsedFiles<'t>) -> Inputs {
    let mut inputs = Inputs::default();
    for (file, text) in files {
        let problems = parsed.add_yaml(&mut inputs, file, text, Contents::Everything);
        assert!(problems.is_empty(), "{problems:?}");
    }
    inputs
}

/// Everything a render reads, loaded once outside the timed loops.
struct Fixture {
    inputs: Inputs,
    root: SeedRoot,
    lock: Lock,
}

impl Fixture {
    fn new() -> Self {
        let mut inputs = Inputs::default();
        for (file, text) in tree_files() {
            let problems = inputs.add_yaml(&file, &text, Contents::Everything);
            assert!(problems.is_empty(), "{problems:?}");
        }
        assert_eq!(
            (inputs.accounts.len(), inputs.users.len()),
            (ACCOUNTS, USERS)
        );
        let mut fixture = Fixture {
            inputs,
            root: SeedRoot::new(&[7; 32]).unwrap(),
            lock: Lock::new(),
        };
        // A steady-state run: the lock of a previous render, as CI re-renders a committed tree.
        fixture.lock = fixture.render().lock;
        fixture
    }

    fn render(&self) -> Rendered {
        let keys = KeySources {
            secrets: &self.inputs.secrets,
            seed_root: Some(&self.root),
        };
        let rendered = render(&self.inputs, keys, &self.lock, EPOCH, &Options::default())
            .unwrap_or_else(|e| panic!("the benchmark tree renders: {e:?}"));
        assert!(rendered.warnings.is_empty(), "{:?}", rendered.warnings);
        rendered
    }
}

/// Both sides of a `diff`: each side's files and the lock committed with them.
struct DiffFixture {
    base: (Vec<(String, String)>, Lock),
    head: (Vec<(String, String)>, Lock),
}

impl DiffFixture {
    /// The base tree with the lock of its render, and the changed tree with the lock of its
    /// render a day later.
    fn new(fixture: &Fixture) -> Self {
        let head_files = changed_tree_files();
        let head_inputs = parse(&head_files, &mut texts(&[&head_files]));
        let keys = KeySources {
            secrets: &head_inputs.secrets,
            seed_root: Some(&fixture.root),
        };
        let head_lock = render(
            &head_inputs,
            keys,
            &fixture.lock,
            EPOCH + 86_400,
            &Options::default(),
        )
        .expect("the changed tree renders")
        .lock;
        let d = DiffFixture {
            base: (tree_files(), fixture.lock.clone()),
            head: (head_files, head_lock),
        };
        let text = d.diff();
        assert_eq!(
            text.lines().filter(|l| l.ends_with("(changed)")).count(),
            3,
            "{text}"
        );
        d
    }

    /// What `nauth-render diff BASE HEAD` computes once it has read the files: both sides
    /// parsed (each distinct file once), previewed from their locks, compared, and the text.
    fn diff(&self) -> String {
        let mut parsed = texts(&[&self.base.0, &self.head.0]);
        let base: Preview = side(&self.base, &mut parsed);
        let head: Preview = side(&self.head, &mut parsed);
        let diffs = diff::diff(
            Side {
                preview: &base,
                lock: &self.base.1,
            },
            Side {
                preview: &head,
                lock: &self.head.1,
            },
        );
        diff::text(&diffs, Style { color: false })
    }
}

/// One side of a `diff`, parsed with the other's texts at hand and previewed from its lock.
fn side<'t>(
    (files, lock): &'t (Vec<(String, String)>, Lock),
    parsed: &mut ParsedFiles<'t>,
) -> Preview {
    let inputs = parse(files, parsed);
    preview(&inputs, lock, 0, &Options::default()).expect("each side previews")
}

/// Mean length of a rendered user JWT's signing input (`header.payload`).
fn user_signing_input_len(rendered: &Rendered) -> usize {
    let total: usize = rendered
        .users
        .iter()
        .map(|u| {
            let (jwt, _) = parse_creds(&u.creds).expect("rendered creds parse");
            jwt.rfind('.').expect("a JWT has a signature")
        })
        .sum();
    total / rendered.users.len()
}

/// The Ed25519 work no render of the tree can avoid: an nkey's public key is computed when its
/// seed is loaded, and every account ID, signing key and user subject is a public key. So: the
/// operator key once, per account its root and signing keys and one signature, per user its
/// key and one signature (by the account's signing key).
fn ed25519_floor(payload: &[u8]) {
    let key = |kind, n: usize, role: u8| {
        let mut seed = [role; 32];
        seed[..8].copy_from_slice(&(n as u64).to_le_bytes());
        KeyPair::new_from_raw(kind, seed).unwrap()
    };
    let operator = key(KeyPairType::Operator, 0, 0);
    for i in 0..ACCOUNTS {
        black_box(key(KeyPairType::Account, i, 1).public_key());
        let sign = key(KeyPairType::Account, i, 2);
        black_box(operator.sign(payload).unwrap());
        for k in 0..USERS_PER_ACCOUNT {
            black_box(key(KeyPairType::User, i * USERS_PER_ACCOUNT + k, 3).public_key());
            black_box(sign.sign(payload).unwrap());
        }
    }
}

fn benches(c: &mut Criterion) {
    let fixture = Fixture::new();
    let first = fixture.render();
    assert_eq!(first.accounts.len() + first.users.len(), JWTS);
    let payload = vec![b'e'; user_signing_input_len(&first)];
    let signer = KeyPair::new_from_raw(KeyPairType::Account, [9; 32]).unwrap();

    let mut group = c.benchmark_group("render");
    group
        .sample_size(10)
        .sampling_mode(SamplingMode::Flat)
        .warm_up_time(Duration::from_secs(2))
        .measurement_time(Duration::from_secs(12));

    group.throughput(Throughput::Elements(USERS as u64));
    group.bench_function("render/1000x10", |b| b.iter(|| fixture.render()));
    let one_thread = rayon::ThreadPoolBuilder::new()
        .num_threads(1)
        .build()
        .unwrap();
    group.bench_function("render_one_thread/1000x10", |b| {
        b.iter(|| one_thread.install(|| fixture.render()))
    });
    let diffed = DiffFixture::new(&fixture);
    group.bench_function("diff/1000x10", |b| b.iter(|| diffed.diff()));
    group.bench_function("render_and_output/1000x10", |b| {
        b.iter(|| {
            let rendered = fixture.render();
            output::stream(&output::manifests(&rendered))
        })
    });

    group.bench_function("ed25519_floor/1000x10", |b| {
        b.iter(|| ed25519_floor(&payload))
    });

    group.throughput(Throughput::Elements(JWTS as u64));
    group.bench_function(format!("raw_ed25519_sign/{JWTS}x{}B", payload.len()), |b| {
        b.iter(|| {
            for _ in 0..JWTS {
                black_box(signer.sign(black_box(&payload)).unwrap());
            }
        })
    });
    group.finish();
}

criterion_group!(render_benches, benches);
criterion_main!(render_benches);
