//! The pure render: custom resources, keys, the lock and an epoch in; JWTs, creds, the new lock
//! and diagnostics out. No clock, no randomness, no network, and no dependence on input order.
//!
//! The entry points are per object: [`account`] renders one Account (its exports, imports and
//! trusted signing keys), [`user`] one User, each from a [`Context`] holding what it depends
//! on, the [`Identities`] of the Accounts involved, and its own previous lock record; each
//! returns an [`ObjectResult`] with its own diagnostics. The whole-tree [`render`] is a loop
//! over them plus the checks only the whole graph allows (duplicates, one account ID per
//! Account, imports against exports, unadopted exports and imports), so the CLI and a
//! controller reconciling one object produce the same bytes by construction.

mod accounts;
mod imports;
mod removed;
mod revocations;
mod users;

pub use removed::RenderedDeletion;
pub use revocations::{Members, Roster, UserRecord};

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Mutex;

use data_encoding::HEXLOWER;
use rayon::prelude::*;
use sha2::{Digest, Sha256};

use crate::diagnostic::{Code, Diagnostic};
use crate::input::{Inputs, Object};
use crate::jwt::{self, ClaimBody};
use crate::keys::{Key, KeySources, Keys};
use crate::lock::{self, Lock, LockEntry, owner};
use crate::{api, claims};

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
    /// Removed Accounts (`namespace/name`) the lock forgets: their revocations and deletion
    /// requests are no longer kept. Each must be one the lock keeps or that leaves now.
    pub forget_removed: BTreeSet<String>,
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
    /// Its automatic revocations (in the claims with `spec.revocations`): kept in its lock
    /// record, so later renders keep them.
    pub revocations: jwt::RevocationList,
    /// The users it has now ([`Members::current`]): what the next render compares with, where
    /// the lock holds no users (a controller).
    pub members: Roster,
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
    /// The deletion requests of the lock's removed Accounts (none without seeds).
    pub deletions: Vec<RenderedDeletion>,
    /// The lock to write: an entry for every JWT above, the removed Accounts, and nothing else.
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
    let cx = Context {
        inputs,
        keys: Keys::Seeds(keys),
        epoch,
        options,
    };
    run(&cx, lock)
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
    let cx = Context {
        inputs,
        keys: Keys::Public(lock),
        epoch,
        options,
    };
    let rendered = run(&cx, lock)?;
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
    let cx = Context {
        inputs,
        keys: Keys::Preview(keys, lock),
        epoch,
        options,
    };
    let rendered = run(&cx, lock)?;
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

/// What rendering one object gives: its output, its own diagnostics and the signing keys it
/// resolved. A controller turns `diagnostics` into the object's conditions and events; the
/// whole-tree [`render`] merges every object's.
#[derive(Clone, Debug)]
pub struct ObjectResult<T> {
    /// What was rendered; `None` when `diagnostics` hold an error, or when the object is not
    /// rendered here (an Account in observe mode, which a warning says).
    pub output: Option<T>,
    /// Errors and warnings about the object, with the errors of the objects it depends on (an
    /// Account it imports from without keys, the Account of a User), so a caller reconciling
    /// this object alone sees why it cannot be rendered. Sorted; warnings are errors with
    /// [`Options::strict`].
    pub diagnostics: Vec<Diagnostic>,
    /// Public signing keys the render resolved, by [`lock::owner`]: this object's part of
    /// [`Lock::signing_keys`].
    pub signing_keys: BTreeMap<String, String>,
}

impl<T> ObjectResult<T> {
    /// Whether the diagnostics hold an error (then there is no output).
    pub fn has_errors(&self) -> bool {
        self.diagnostics.iter().any(Diagnostic::is_error)
    }
}

/// Renders one managed Account: its JWT with the AccountExports and AccountImports naming it,
/// the signing keys it trusts, and what became of each export and import ([`Adoptions`]).
///
/// `cx.inputs` must hold what the Account depends on: its NatsCluster and that cluster's
/// operator signing key Secret (and system user creds Secret, to refuse the system account),
/// its AccountExports, AccountImports and AccountSigningKeys, and the Accounts it imports from;
/// `identities` must be resolved from them. Other objects may be there too: their problems do
/// not fail this Account. `previous` is the Account's lock record (the lock file's entry, or
/// what the controller keeps in status), which keeps `iat` and so the bytes when nothing
/// changed, and its automatic revocations; `members` are the users it knew and has, from which
/// new revocations are decided.
pub fn account(
    cx: &Context,
    identities: &Identities,
    account: &Object<api::Account>,
    previous: Option<&LockEntry>,
    members: &Members,
) -> ObjectResult<RenderedAccount> {
    let (output, report) = accounts::render_account(cx, identities, account, previous, members);
    report.into_result(output, cx.options)
}

/// Renders one User: its JWT and creds, signed by its Account's key or a signing key the
/// Account trusts.
///
/// `cx.inputs` must hold the User's Account, the AccountSigningKey it names (if any) and the
/// Secrets of their keys and of the User's creds; `identities` must be resolved from them.
/// `previous` is the User's lock record. (Each call indexes the Accounts of `cx.inputs`; the
/// whole-tree render indexes them once for all its Users.)
pub fn user(
    cx: &Context,
    identities: &Identities,
    user: &Object<api::User>,
    previous: Option<&LockEntry>,
) -> ObjectResult<RenderedUser> {
    let accounts = users::accounts(cx.inputs);
    let (output, report) = users::render_user(cx, identities, &accounts, user, previous);
    report.into_result(output, cx.options)
}

/// The whole-tree render: every object through the steps of [`account`] and [`user`], plus the
/// checks of the whole graph. Outputs are kept even when their object has an error (which
/// [`account`] withholds), so the whole-graph checks see every account; any error fails the
/// render anyway. Errors an object repeats from what it depends on are shown once.
fn run(cx: &Context, lock: &Lock) -> Result<Rendered, Vec<Diagnostic>> {
    let mut report = Report::default();
    report.problems.extend(cx.inputs.duplicates());
    let inputs = cx.inputs;
    let identities = Identities::resolve(cx, lock);
    accounts::check_identities(cx, &identities, &mut report);
    let progress = Steps::default();
    // Users need only their Account's identity; an Account needs its users' new records.
    let by_name = users::accounts(inputs);
    let rendered_users: Vec<_> = by_key(&inputs.users)
        .par_iter()
        .map(|u| {
            let previous = lock.users.get(&u.key());
            let rendered = users::render_user(cx, &identities, &by_name, u, previous);
            progress.step(cx);
            rendered
        })
        .collect();
    let mut users = Vec::with_capacity(rendered_users.len());
    for (output, own) in rendered_users {
        report.merge(own);
        users.extend(output);
    }
    let rosters = Rosters::new(lock, &users);
    let mut accounts = Vec::new();
    for a in by_key(&inputs.accounts) {
        progress.step(cx);
        let id = identities.get(&a.key()).map_or("", Identity::id);
        let previous = removed::previous(lock, &a.key(), id);
        let members = rosters.members(lock, &identities, a);
        let (output, own) =
            accounts::render_account(cx, &identities, a, previous.as_deref(), &members);
        report.merge(own);
        accounts.extend(output);
    }
    accounts::unbound(cx, &identities, &mut report);
    imports::check(inputs, &identities, &accounts, &mut report);
    let (mut deletions, mut removed_accounts) = (Vec::new(), BTreeMap::new());

    match removed::tombstones(cx, lock, &rosters) {
        Ok(tombstones) => {
            match removed::deletions(cx, &tombstones, &mut report.problems) {
                Ok(d) => deletions = d,
                Err(e) => report.problems.extend(e),
            }
            removed_accounts = tombstones;
        }
        Err(e) => report.problems.extend(e),
    }

    operator_key_changes(inputs, lock, &report.signing_keys, &mut report.problems);
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
    new_lock.removed_accounts = removed_accounts;
    for a in &accounts {
        let mut entry = entry(&a.claims, &a.claims_hash);
        entry.revocations = a.revocations.clone();
        new_lock
            .accounts
            .insert(format!("{}/{}", a.namespace, a.name), entry);
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
        deletions,
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

/// What rendering an object reads besides the object and its lock record: the objects it may
/// depend on, where keys come from, the time of the render and its settings.
#[derive(Clone, Copy)]
pub struct Context<'a> {
    /// The objects of the render: the whole tree, or (in a controller) the object being
    /// reconciled with what it depends on.
    pub inputs: &'a Inputs,
    /// Seeds to sign with, or public keys to preview with.
    pub keys: Keys<'a>,
    /// The render's time: the `iat` of what changed.
    pub epoch: i64,
    /// Settings not in the custom resources.
    pub options: &'a Options,
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

/// What rendering collects besides outputs: of one object, or merged, of the whole tree.
#[derive(Clone, Default)]
struct Report {
    problems: Vec<Diagnostic>,
    /// Public signing keys resolved, by [`lock::owner`], for the new lock.
    signing_keys: BTreeMap<String, String>,
}

impl Report {
    fn push(&mut self, d: Diagnostic) {
        self.problems.push(d);
    }

    /// Adds the errors of an object this one depends on: its own result says why it failed,
    /// and a caller of this object alone must see it too (the whole tree shows it once).
    fn depends_on(&mut self, failed: &[Diagnostic]) {
        self.problems
            .extend(failed.iter().filter(|d| d.is_error()).cloned());
    }

    /// Adds what one object's render collected.
    fn merge(&mut self, other: Report) {
        self.problems.extend(other.problems);
        self.signing_keys.extend(other.signing_keys);
    }

    /// One object's result: sorted diagnostics, made errors with `--strict`, and no output
    /// when one is an error.
    fn into_result<T>(self, output: Option<T>, options: &Options) -> ObjectResult<T> {
        let diagnostics = match options.strict {
            true => sorted(strict(self.problems)),
            false => sorted(self.problems),
        };
        let failed = diagnostics.iter().any(Diagnostic::is_error);
        ObjectResult {
            output: output.filter(|_| !failed),
            diagnostics,
            signing_keys: self.signing_keys,
        }
    }

    fn record_key(&mut self, kind: &str, key: String, signer: &Key) {
        self.signing_keys
            .insert(lock::owner(kind, &key), signer.public_key().to_string());
    }
}

/// Warns of a NatsCluster whose operator signing key is not the one the lock records: every
/// Account bound to it is signed again, by another key. A rotation does that on purpose; the
/// keys of another environment do it by mistake, and the servers would refuse the JWTs.
fn operator_key_changes(
    inputs: &Inputs,
    lock: &Lock,
    resolved: &BTreeMap<String, String>,
    problems: &mut Vec<Diagnostic>,
) {
    for c in by_key(&inputs.clusters) {
        let owner = owner("NatsCluster", &c.key());
        let (Some(was), Some(now)) = (lock.signing_keys.get(&owner), resolved.get(&owner)) else {
            continue;
        };
        if was != now {
            let message = format!(
                "the operator signing key is {now}, not {was} as the lock records: every Account \
                 of this cluster is signed again by it, and NATS servers refuse the JWTs unless \
                 their operator trusts it (the keys of another environment?)"
            );
            let at = Some("spec.operatorSigningKeySecretRef");
            problems.push(c.warning(at, message).with_code(Code::KeyRotation));
        }
    }
}

fn entry<T: ClaimBody>(claims: &jwt::Claims<T>, hash: &str) -> LockEntry {
    LockEntry {
        public_key: claims.data.sub.clone(),
        issuer: claims.data.iss.clone(),
        claims_hash: hash.to_string(),
        issued_at: claims.data.iat,
        revocations: BTreeMap::new(),
    }
}

/// The lock record an account JWT already in NATS stands for: when the record written beside
/// it is lost (a deleted ConfigMap), rendering from nothing would drop the automatic
/// revocations and let revoked creds connect again. Entries the Account's `spec.revocations`
/// gives with the same time are the spec's, not automatic: they go when the spec drops them.
pub fn recovered_account_entry(
    claims: &jwt::Claims<jwt::Account>,
    account: &api::Account,
) -> Result<LockEntry, String> {
    let mut recovered = entry(claims, &claims_hash(claims)?);
    let spec = account.spec.revocations.as_ref();
    recovered.revocations = (claims.nats.revocations.iter())
        .filter(|(key, at)| spec.and_then(|s| s.get(*key)) != Some(*at))
        .map(|(key, at)| (key.clone(), *at))
        .collect();
    Ok(recovered)
}

/// The users of the whole tree as each Account's [`Members`]: before, the lock's Users its keys
/// signed (a JWT signed by a key it no longer trusts is dead already); now, the Users rendered
/// for it.
struct Rosters<'a> {
    /// Lock records by (namespace, issuer).
    previous: HashMap<(&'a str, &'a str), Vec<(&'a String, &'a LockEntry)>>,
    /// Rendered users by (namespace, account ID).
    current: HashMap<(&'a str, &'a str), Vec<&'a RenderedUser>>,
}

impl<'a> Rosters<'a> {
    fn new(lock: &'a Lock, users: &'a [RenderedUser]) -> Self {
        let mut previous: HashMap<_, Vec<_>> = HashMap::new();
        for (key, entry) in &lock.users {
            let namespace = key.split_once('/').map_or("", |(ns, _)| ns);
            (previous
                .entry((namespace, entry.issuer.as_str()))
                .or_default())
            .push((key, entry));
        }
        let mut current: HashMap<_, Vec<_>> = HashMap::new();
        for u in users {
            let account = u.claims.nats.issuer_account.as_str();
            (current.entry((u.namespace.as_str(), account)).or_default()).push(u);
        }
        Rosters { previous, current }
    }

    fn members(&self, lock: &Lock, identities: &Identities, a: &Object<api::Account>) -> Members {
        let Some(identity) = identities.get(&a.key()) else {
            return Members::default();
        };
        let ns = a.namespace();
        let trusted_keys = (a.resource.spec.signing_key_refs.iter().flatten())
            .map(|r| {
                owner(
                    "AccountSigningKey",
                    &ref_key(r.namespace.as_deref(), &r.name, ns),
                )
            })
            .chain([owner("Account", &a.key())])
            .filter_map(|o| lock.signing_keys.get(&o).map(String::as_str));
        let mut issuers: Vec<&str> = trusted_keys.chain([identity.sign.public_key()]).collect();
        issuers.sort_unstable();
        issuers.dedup();
        let previous = (issuers.iter())
            .flat_map(|issuer| self.previous.get(&(ns, *issuer)).into_iter().flatten())
            .map(|(key, e)| ((*key).clone(), record(&e.public_key, e.issued_at)))
            .collect();
        let current = (self
            .current
            .get(&(ns, identity.id.as_str()))
            .into_iter()
            .flatten())
        .map(|u| {
            let key = format!("{}/{}", u.namespace, u.name);
            (key, record(&u.claims.data.sub, u.claims.data.iat))
        })
        .collect();
        Members { previous, current }
    }
}

impl Rosters<'_> {
    /// The users the lock records for the removed Account `key` (ID `id`): those signed by its
    /// ID, its own signing key, or an AccountSigningKey no Account of the inputs trusts (`trusted`).
    fn removed_members(
        &self,
        lock: &Lock,
        key: &str,
        id: &str,
        trusted: &BTreeSet<String>,
    ) -> Roster {
        let ns = key.split_once('/').map_or("", |(ns, _)| ns);
        let own = lock.signing_keys.get(&owner("Account", key));
        let orphaned = (lock.signing_keys.iter())
            .filter(|(o, _)| o.starts_with("AccountSigningKey ") && !trusted.contains(*o))
            .map(|(_, k)| k);
        let mut issuers: Vec<&str> = (own.into_iter().chain(orphaned))
            .map(String::as_str)
            .chain([id])
            .collect();
        issuers.sort_unstable();
        issuers.dedup();
        (issuers.iter())
            .flat_map(|issuer| self.previous.get(&(ns, *issuer)).into_iter().flatten())
            .map(|(key, e)| ((*key).clone(), record(&e.public_key, e.issued_at)))
            .collect()
    }
}

fn record(public_key: &str, issued_at: i64) -> UserRecord {
    UserRecord {
        public_key: public_key.to_string(),
        issued_at,
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

/// Accounts and Users rendered so far. Locked while the observer is told, so it hears the
/// counts in order even when objects are rendered on several threads.
#[derive(Default)]
struct Steps(Mutex<usize>);

impl Steps {
    /// Counts one Account or User as done and tells the progress observer.
    fn step(&self, cx: &Context) {
        let mut done = self.0.lock().unwrap_or_else(|e| e.into_inner());
        *done += 1;
        if let Some(progress) = &cx.options.progress {
            let total = cx.inputs.accounts.len() + cx.inputs.users.len();
            (progress.0)(*done, total);
        }
    }
}

/// An Account's resolved identity: its ID and the key that signs its users. Holds a seed when
/// the render signs, so it is neither printed nor compared.
pub struct Identity {
    id: String,
    sign: Key,
    managed: bool,
    /// Its automatic revocations, from its lock record: a user key among them is issued after.
    revoked: jwt::RevocationList,
}

impl Identity {
    /// The account ID (the public key of its root key).
    pub fn id(&self) -> &str {
        &self.id
    }

    /// Whether the Account is rendered here rather than observed (read from NATS).
    pub fn is_managed(&self) -> bool {
        self.managed
    }
}

/// The identities of the Accounts of a [`Context`], resolved once before any object is
/// rendered, because imports and Users name other Accounts by ID; and the system account of
/// each NatsCluster, which is never rendered.
pub struct Identities {
    /// Each Account's identity, or the diagnostics of why it has none, by `namespace/name`.
    accounts: BTreeMap<String, (Option<Identity>, Report)>,
    /// Each NatsCluster's system account ID, or why it is unknown (a warning), by
    /// `namespace/name`; clusters whose system user creds Secret is not at hand are absent.
    system_accounts: BTreeMap<String, Result<String, Diagnostic>>,
}

impl Identities {
    /// Resolves every Account and NatsCluster of `cx.inputs`. The ID an Account must keep is
    /// its `account.nauth.io/id` label, else the one `lock` records for it.
    pub fn resolve(cx: &Context, lock: &Lock) -> Self {
        let accounts = by_key(&cx.inputs.accounts)
            .into_iter()
            .map(|a| {
                let previous = lock.accounts.get(&a.key());
                let (mut identity, report) = accounts::identity(cx, a, previous);
                // Added back with the ID it had: it refuses what it refused before.
                if let Some(identity) = identity.as_mut().filter(|_| previous.is_none()) {
                    let entry = removed::previous(lock, &a.key(), &identity.id);
                    identity.revoked = entry
                        .map(|e| e.into_owned().revocations)
                        .unwrap_or_default();
                }
                (a.key(), (identity, report))
            })
            .collect();
        Identities {
            accounts,
            system_accounts: accounts::system_accounts(cx.inputs),
        }
    }

    /// The identity of Account `namespace/name`, when it has one.
    pub fn get(&self, key: &str) -> Option<&Identity> {
        self.accounts
            .get(key)
            .and_then(|(identity, _)| identity.as_ref())
    }

    /// The diagnostics of an Account of the inputs that has no identity: what refers to it
    /// cannot be rendered either, and repeats its errors.
    fn failure(&self, key: &str) -> Option<&[Diagnostic]> {
        match self.accounts.get(key)? {
            (None, report) => Some(&report.problems),
            (Some(_), _) => None,
        }
    }
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
    (o.error(e.field.as_deref(), e.message)).with_code(Code::InvalidSpec)
}

/// Whether an object is in observe mode.
fn observed<T: kube::Resource<DynamicType = ()>>(o: &Object<T>) -> bool {
    o.label(api::MANAGEMENT_POLICY_LABEL) == Some("observe")
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
