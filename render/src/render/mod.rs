//! The pure render: custom resources, keys, the lock and an epoch in; JWTs, creds, the new lock
//! and diagnostics out. No clock, no randomness, no network, and no dependence on input order.

mod accounts;
mod imports;
mod users;

use std::collections::BTreeMap;
use std::sync::Mutex;

use data_encoding::HEXLOWER;
use rayon::prelude::*;
use sha2::{Digest, Sha256};

use crate::diagnostic::Diagnostic;
use crate::input::{Inputs, Object};
use crate::jwt::{self, ClaimBody};
use crate::keys::{Key, KeySources, Keys};
use crate::lock::{self, Lock, LockEntry};
use crate::{api, claims};

/// Label that switches an Account or AccountSigningKey to NAuth's read-only observe mode.
pub const MANAGEMENT_POLICY_LABEL: &str = "nauth.io/management-policy";
/// Label carrying an Account's ID.
pub const ACCOUNT_ID_LABEL: &str = "account.nauth.io/id";

/// Settings of a render that are not in the custom resources.
#[derive(Clone, Debug, Default)]
pub struct Options {
    /// The operator's NatsCluster (`namespace`, `name`), like NAuth's `NATS_CLUSTER_REF`: it
    /// serves Accounts without `spec.natsClusterRef`, and an Account naming another cluster is
    /// an error unless `cluster_optional`.
    pub default_cluster: Option<(String, String)>,
    /// Whether `default_cluster` came from the `NATS_CLUSTER_REF` variable rather than
    /// `--nats-cluster`, so messages name what the user set.
    pub default_cluster_from_env: bool,
    /// Like NAuth's `NATS_CLUSTER_REF_OPTIONAL`: Accounts may name a cluster other than
    /// `default_cluster`.
    pub cluster_optional: bool,
    /// Every warning is an error (for CI).
    pub strict: bool,
    /// Told after each Account and User, so a terminal can show how far a large tree is.
    pub progress: Option<Progress>,
}

/// Observer of a render's progress: called with (objects done, objects in total). It sees
/// counts only and cannot change the output.
#[derive(Clone)]
pub struct Progress(pub std::sync::Arc<dyn Fn(usize, usize) + Send + Sync>);

impl std::fmt::Debug for Progress {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Progress")
    }
}

/// One account JWT.
#[derive(Clone, Debug)]
pub struct RenderedAccount {
    /// The Account's namespace.
    pub namespace: String,
    /// The Account's name.
    pub name: String,
    /// The signed JWT.
    pub jwt: String,
    /// Its claims, as encoded (with `iat` and `jti`).
    pub claims: jwt::Claims<jwt::Account>,
    /// Hash of the claims without `iat` and `jti`.
    pub claims_hash: String,
    /// What became of each AccountExport and AccountImport naming this Account, in adoption
    /// order: the data of NAuth's `status.adoptions`.
    pub adoptions: Adoptions,
}

/// Adoption outcomes of one account's AccountExports and AccountImports.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Adoptions {
    /// One per AccountExport, in adoption order (creation time, then name).
    pub exports: Vec<claims::GroupOutcome>,
    /// One per AccountImport whose exporter is known, in adoption order.
    pub imports: Vec<claims::GroupOutcome>,
}

/// One user's JWT and creds.
#[derive(Clone)]
pub struct RenderedUser {
    /// The User's namespace.
    pub namespace: String,
    /// The User's name.
    pub name: String,
    /// Its claims, as encoded.
    pub claims: jwt::Claims<jwt::User>,
    /// Hash of the claims without `iat` and `jti`.
    pub claims_hash: String,
    /// The creds file: JWT and seed. Secret; only ever written into the creds Secret.
    pub creds: String,
}

impl std::fmt::Debug for RenderedUser {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RenderedUser")
            .field("namespace", &self.namespace)
            .field("name", &self.name)
            .field("claims", &self.claims)
            .finish_non_exhaustive()
    }
}

/// Everything a render produces. Lists are sorted by namespace and name.
#[derive(Clone, Debug, Default)]
pub struct Rendered {
    /// Account JWTs of managed Accounts.
    pub accounts: Vec<RenderedAccount>,
    /// User JWTs and creds.
    pub users: Vec<RenderedUser>,
    /// The lock to write: an entry for every JWT above, and nothing else.
    pub lock: Lock,
    /// Warnings (the render succeeded).
    pub warnings: Vec<Diagnostic>,
}

/// Renders `inputs`. Errors come back all at once, so one run shows every problem.
pub fn render(
    inputs: &Inputs,
    keys: KeySources,
    lock: &Lock,
    epoch: i64,
    options: &Options,
) -> Result<Rendered, Vec<Diagnostic>> {
    run(Context {
        inputs,
        keys: Keys::Seeds(keys),
        lock,
        epoch,
        options,
    })
}

/// The claims a render of `inputs` at `epoch` would sign, and the lock it would write, built
/// from the public keys `lock` recorded and no seed at all: what `diff` compares, `explain`
/// reasons about and `check` verifies a lock with when it has no keys.
pub fn preview(
    inputs: &Inputs,
    lock: &Lock,
    epoch: i64,
    options: &Options,
) -> Result<Preview, Vec<Diagnostic>> {
    let rendered = run(Context {
        inputs,
        keys: Keys::Public(lock),
        lock,
        epoch,
        options,
    })?;
    Ok(Preview::from(rendered))
}

/// Like [`preview`], with seeds where `keys` hold them and the lock's public keys elsewhere: a
/// new User's key comes from the seed root, an Account whose seed is not at hand from the lock.
/// Nothing is signed, so answering a question about claims costs no signature.
pub fn preview_with_keys(
    inputs: &Inputs,
    keys: KeySources,
    lock: &Lock,
    epoch: i64,
    options: &Options,
) -> Result<Preview, Vec<Diagnostic>> {
    let rendered = run(Context {
        inputs,
        keys: Keys::Preview(keys, lock),
        lock,
        epoch,
        options,
    })?;
    Ok(Preview::from(rendered))
}

/// Unsigned claims of one Account or User.
#[derive(Clone, Debug)]
pub struct Previewed<T: ClaimBody> {
    /// The object's namespace.
    pub namespace: String,
    /// The object's name.
    pub name: String,
    /// The claims a render would sign.
    pub claims: jwt::Claims<T>,
}

impl<T: ClaimBody> Previewed<T> {
    /// `namespace/name`, as messages name the object.
    pub fn key(&self) -> String {
        format!("{}/{}", self.namespace, self.name)
    }
}

/// What [`preview`] produces. Lists are sorted by namespace and name.
#[derive(Clone, Debug, Default)]
pub struct Preview {
    /// Claims of managed Accounts.
    pub accounts: Vec<Previewed<jwt::Account>>,
    /// Claims of Users.
    pub users: Vec<Previewed<jwt::User>>,
    /// The lock a render would write: the same public keys, the new claims hashes and times.
    pub lock: Lock,
    /// Warnings (the preview succeeded).
    pub warnings: Vec<Diagnostic>,
}

impl From<Rendered> for Preview {
    /// The claims of a render, without tokens and creds: what reasoning about them needs.
    fn from(rendered: Rendered) -> Self {
        Preview {
            accounts: (rendered.accounts.into_iter())
                .map(|a| Previewed {
                    namespace: a.namespace,
                    name: a.name,
                    claims: a.claims,
                })
                .collect(),
            users: (rendered.users.into_iter())
                .map(|u| Previewed {
                    namespace: u.namespace,
                    name: u.name,
                    claims: u.claims,
                })
                .collect(),
            lock: rendered.lock,
            warnings: rendered.warnings,
        }
    }
}

fn run(cx: Context) -> Result<Rendered, Vec<Diagnostic>> {
    let mut report = Report::default();
    report.problems.extend(cx.inputs.duplicates());
    let inputs = cx.inputs;
    let identities = accounts::identities(&cx, &mut report);
    let (accounts, exports) = accounts::render(&cx, &identities, &mut report);
    imports::check(inputs, &identities, &accounts, &exports, &mut report);
    let users = users::render(&cx, &identities, &mut report);

    if cx.options.strict {
        report.problems = strict(report.problems);
    }
    let (errors, warnings): (Vec<_>, Vec<_>) =
        report.problems.into_iter().partition(Diagnostic::is_error);
    if !errors.is_empty() {
        return Err(sorted(errors));
    }
    let mut new_lock = Lock::new();
    new_lock.signing_keys = report.signing_keys;
    for a in &accounts {
        new_lock.accounts.insert(
            format!("{}/{}", a.namespace, a.name),
            entry(&a.claims, &a.claims_hash),
        );
    }
    for u in &users {
        new_lock.users.insert(
            format!("{}/{}", u.namespace, u.name),
            entry(&u.claims, &u.claims_hash),
        );
    }
    Ok(Rendered {
        accounts,
        users,
        lock: new_lock,
        warnings: sorted(warnings),
    })
}

/// `diagnostics` with every warning made an error, saying so: what `--strict` asks for.
pub fn strict(diagnostics: Vec<Diagnostic>) -> Vec<Diagnostic> {
    diagnostics
        .into_iter()
        .map(|mut d| {
            if !d.is_error() {
                d.severity = crate::diagnostic::Severity::Error;
                d.message.push_str(" (a warning, an error with --strict)");
            }
            d
        })
        .collect()
}

fn sorted(mut d: Vec<Diagnostic>) -> Vec<Diagnostic> {
    d.sort();
    d.dedup();
    d
}

/// What every step of a render reads.
#[derive(Clone, Copy)]
struct Context<'a> {
    inputs: &'a Inputs,
    keys: Keys<'a>,
    lock: &'a Lock,
    epoch: i64,
    options: &'a Options,
}

impl Context<'_> {
    /// Signs `claims` with `signer`, choosing `iat` from the lock so unchanged claims keep their
    /// bytes and changed ones move forward; `floor` is an `iat` the JWT must exceed. Without
    /// seeds (a preview) the claims get their `iat` and the token stays empty.
    fn sign<T: ClaimBody>(
        &self,
        mut claims: jwt::Claims<T>,
        signer: &Key,
        previous: Option<&LockEntry>,
        floor: Option<i64>,
    ) -> Result<(jwt::Claims<T>, String, String), String> {
        let hash = claims_hash(&claims)?;
        let mut iat = lock::issued_at(previous, &hash, self.epoch);
        if let Some(floor) = floor.filter(|f| iat <= *f) {
            iat = floor + 1;
        }
        if !self.keys.can_sign() {
            claims.data.iat = iat;
            return Ok((claims, hash, String::new()));
        }
        let signer = (signer.pair()).expect("a render with seeds holds every key's pair");
        let token = jwt::encode(&mut claims, signer, iat).map_err(|e| e.to_string())?;
        Ok((claims, hash, token))
    }
}

/// What a render collects besides its outputs.
#[derive(Default)]
struct Report {
    problems: Vec<Diagnostic>,
    /// Public signing keys resolved, by [`lock::owner`], for the new lock.
    signing_keys: BTreeMap<String, String>,
    /// Accounts and Users rendered so far. Locked while the observer is told, so it hears the
    /// counts in order even when objects are rendered on several threads.
    done: Mutex<usize>,
}

impl Report {
    /// Counts one Account or User as done and tells the progress observer.
    fn step(&self, cx: &Context) {
        let mut done = self.done.lock().unwrap_or_else(|e| e.into_inner());
        *done += 1;
        if let Some(progress) = &cx.options.progress {
            let total = cx.inputs.accounts.len() + cx.inputs.users.len();
            (progress.0)(*done, total);
        }
    }

    /// Renders `objects` with `render_one` on every core (rayon's pool), counting each as a
    /// step. Each object gets a report of its own, merged here in the objects' order, so the
    /// results and the report are the same whatever the number of threads.
    fn render_parallel<T: Sync, R: Send>(
        &mut self,
        cx: &Context,
        objects: &[T],
        render_one: impl Fn(&T, &mut Report) -> Option<R> + Sync,
    ) -> Vec<R> {
        let this = &*self;
        let done: Vec<(Option<R>, Report)> = objects
            .par_iter()
            .map(|o| {
                let mut own = Report::default();
                let result = render_one(o, &mut own);
                this.step(cx);
                (result, own)
            })
            .collect();
        let mut results = Vec::with_capacity(done.len());
        for (result, own) in done {
            self.problems.extend(own.problems);
            self.signing_keys.extend(own.signing_keys);
            results.extend(result);
        }
        results
    }

    fn push(&mut self, d: Diagnostic) {
        self.problems.push(d);
    }

    fn record_key(&mut self, kind: &str, key: String, signer: &Key) {
        self.signing_keys
            .insert(lock::owner(kind, &key), signer.public_key().to_string());
    }
}

fn entry<T: ClaimBody>(claims: &jwt::Claims<T>, hash: &str) -> LockEntry {
    LockEntry {
        public_key: claims.data.sub.clone(),
        issuer: claims.data.iss.clone(),
        claims_hash: hash.to_string(),
        issued_at: claims.data.iat,
    }
}

/// Lowercase hex SHA-256 of the claims' Go JSON with `iat` and `jti` blanked, as NAuth's
/// `claimsHash`: it changes with the content and with the issuer, never with the time. The
/// claims are first put in the order encoding uses, so the hash is that of the JWT's claims and
/// reordering exports in a manifest changes nothing.
pub fn claims_hash<T: ClaimBody>(claims: &jwt::Claims<T>) -> Result<String, String> {
    let mut normalized = claims.clone();
    normalized.nats.prepare()?;
    normalized.data.iat = 0;
    normalized.data.jti = String::new();
    let json = jwt::to_go_json(&normalized).map_err(|e| e.to_string())?;
    Ok(HEXLOWER.encode(&Sha256::digest(json)))
}

/// Objects sorted by `namespace/name`, so output never depends on input order.
fn by_key<T: kube::Resource<DynamicType = ()>>(objects: &[Object<T>]) -> Vec<&Object<T>> {
    let mut v: Vec<_> = objects.iter().collect();
    v.sort_by_cached_key(|o| o.key());
    v
}

/// An Account's resolved identity.
pub(crate) struct Identity {
    id: String,
    sign: Key,
    managed: bool,
}

/// Identities by Account `namespace/name`.
pub(crate) type Identities = BTreeMap<String, Identity>;

/// Whether `key` names an Account of the input without an identity. Its own error says why (a
/// key missing from the lock, a broken Secret), so what refers to it adds no error of its own.
fn identity_failed(inputs: &Inputs, identities: &Identities, key: &str) -> bool {
    !identities.contains_key(key) && inputs.accounts.iter().any(|a| a.has_key(key))
}

/// `namespace/name` of a reference whose empty namespace means the referrer's.
fn ref_key(namespace: Option<&str>, name: &str, own_namespace: &str) -> String {
    let ns = namespace.filter(|n| !n.is_empty()).unwrap_or(own_namespace);
    format!("{ns}/{name}")
}

/// Display name: `spec.displayName`, else `namespace/name`.
fn display_name<T: kube::Resource<DynamicType = ()>>(o: &Object<T>, given: Option<&str>) -> String {
    given
        .filter(|n| !n.is_empty())
        .map_or_else(|| o.key(), str::to_string)
}

/// Located error from a claims error.
fn claims_error<T: kube::Resource<DynamicType = ()>>(
    o: &Object<T>,
    e: claims::ClaimsError,
) -> Diagnostic {
    o.error(e.field.as_deref(), e.message)
}

/// Whether an object is in observe mode.
fn observed<T: kube::Resource<DynamicType = ()>>(o: &Object<T>) -> bool {
    o.label(MANAGEMENT_POLICY_LABEL) == Some("observe")
}

/// The AccountSigningKey a reference points to.
fn signing_key_object<'i>(
    inputs: &'i Inputs,
    r: &api::AccountSigningKeyRef,
    own_namespace: &str,
) -> Option<&'i Object<api::AccountSigningKey>> {
    let key = ref_key(r.namespace.as_deref(), &r.name, own_namespace);
    inputs.signing_keys.iter().find(|k| k.has_key(&key))
}

#[cfg(test)]
mod tests;
