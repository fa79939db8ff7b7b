//! Importing a trust root from an nsc store, so clusters set up with nsc keep their operator.
//!
//! Layout (nsc `cmd/store`): `DIR/stores/<operator>/<operator>.jwt`,
//! `…/accounts/<account>/<account>.jwt`, `…/accounts/<account>/users/<user>.jwt`; seeds in
//! `DIR/keys/keys/<first letter>/<next two letters>/<public key>.nk`.

use std::fs;
use std::path::{Path, PathBuf};

use nkeys::KeyPair;

use super::nsc_specs::{account_spec, user_spec};
use super::{Identity, ImportedAccount, ImportedUser, OfflineSeed};
use crate::api::is_dns_label;
use crate::inspect::{account_link, claim_type, user_link};
use crate::jwt::{self, Account, AnyClaims, Claims, Operator, User};

/// Reads the operator named `operator` (or the store's only one) with its system account and a
/// system user, and refuses, saying what is missing, when any piece or seed is absent. Its other
/// accounts and their users come along as Accounts of the NatsCluster `cluster` (see
/// [`import_account`]).
pub fn import(dir: &Path, operator: Option<&str>, cluster: &str) -> Result<Identity, String> {
    if !dir.is_dir() {
        return Err(format!(
            "{}: no such directory (expected an nsc home holding stores/ and keys/)",
            dir.display()
        ));
    }
    let stores = dir.join("stores");
    let names = entities(&stores)?;
    let name = match (operator, names.as_slice()) {
        (Some(n), _) if names.iter().any(|m| m == n) => n.to_string(),
        (Some(n), _) => {
            return Err(format!(
                "operator {n} is not in {} (found: {})",
                stores.display(),
                list(&names)
            ));
        }
        (None, [one]) => one.clone(),
        (None, []) => {
            return Err(format!(
                "{}: no operator found (expected stores/<operator>/<operator>.jwt)",
                dir.display()
            ));
        }
        (None, many) => {
            return Err(format!(
                "{} holds several operators ({}); choose one with --nsc-operator NAME",
                stores.display(),
                many.join(", ")
            ));
        }
    };
    let keys = Keys(dir.join("keys").join("keys"));
    let op_dir = stores.join(&name);
    let (operator_jwt, operator) = load(&op_dir.join(format!("{name}.jwt")), |c| match c {
        AnyClaims::Operator(o) => Some(o),
        _ => None,
    })?;
    let signing_key = signing_seed(&operator, &name, &keys)?;
    let sys = &operator.nats.system_account;
    if sys.is_empty() {
        return Err(format!(
            "operator {name} names no system account (set one with `nsc edit operator \
             --system-account NAME`)"
        ));
    }
    let accounts_dir = op_dir.join("accounts");
    let mut all = entities(&accounts_dir)?
        .into_iter()
        .map(|a| {
            let (jwt, claims) = load(
                &accounts_dir.join(&a).join(format!("{a}.jwt")),
                |c| match c {
                    AnyClaims::Account(acc) => Some(acc),
                    _ => None,
                },
            )?;
            Ok((a, jwt, claims))
        })
        .collect::<Result<Vec<_>, String>>()?;
    let at = all
        .iter()
        .position(|(_, _, c)| &c.data.sub == sys)
        .ok_or_else(|| {
            format!(
                "system account {sys} of operator {name} is not in {}",
                accounts_dir.display()
            )
        })?;
    let (account_name, account_jwt, account) = all.remove(at);
    account_link(sys, &account.data.iss, &operator)
        .map_err(|e| format!("system account {account_name}: {e}"))?;
    let users_dir = accounts_dir.join(&account_name).join("users");
    let creds = system_user_creds(&users_dir, &account, &keys)?.ok_or_else(|| {
        format!(
            "no user of system account {account_name} has its seed in {} (users in {}); add \
             one with `nsc add user -a {account_name} sys`",
            keys.0.display(),
            users_dir.display()
        )
    })?;
    let mut offline_seeds = Vec::new();
    for (role, key) in std::iter::once(("operator", &operator.data.sub))
        .chain(std::iter::once(("system-account", sys)))
        .chain(
            account
                .nats
                .signing_keys
                .0
                .keys()
                .map(|k| ("system-account-signing-key", k)),
        )
    {
        if let Some(kp) = keys.get(key)? {
            let seed = kp.seed().map_err(|e| format!("{key}: {e}"))?;
            offline_seeds.push(OfflineSeed::new(role, &kp, seed));
        }
    }
    let mut accounts = Vec::new();
    let mut skipped = Vec::new();
    for (account_name, _, claims) in all {
        account_link(&claims.data.sub, &claims.data.iss, &operator)
            .map_err(|e| format!("account {account_name}: {e}"))?;
        let users_dir = accounts_dir.join(&account_name).join("users");
        match import_account(&account_name, &claims, &users_dir, &keys, cluster)? {
            Imported::Account(a, mut notes) => {
                if let Some(twin) = accounts.iter().find_map(|b: &ImportedAccount| {
                    let names = b.users.iter().map(|u| &u.name);
                    names
                        .into_iter()
                        .find(|n| a.users.iter().any(|u| &u.name == *n))
                }) {
                    return Err(format!(
                        "user {twin} is in two accounts; Users share one namespace, so their \
                         names must differ (rename one in nsc first)"
                    ));
                }
                accounts.push(*a);
                skipped.append(&mut notes);
            }
            Imported::Skipped(why) => skipped.push(why),
        }
    }
    Ok(Identity {
        operator_jwt,
        operator,
        operator_signing_key: signing_key,
        system_account_jwt: account_jwt,
        system_user_creds: creds,
        offline_seeds,
        accounts,
        skipped,
    })
}

/// An account imported (with notes on users left out), or why the whole account was left out.
enum Imported {
    Account(Box<ImportedAccount>, Vec<String>),
    Skipped(String),
}

/// The account `name` with its one plain signing key and every user whose seed the store holds.
/// Without its root seed it is left out (its JWT could not be signed again); a missing or
/// ambiguous signing key, a name Kubernetes refuses or a claim without a spec field is an error.
fn import_account(
    name: &str,
    claims: &Claims<Account>,
    users_dir: &Path,
    keys: &Keys,
    cluster: &str,
) -> Result<Imported, String> {
    let id = &claims.data.sub;
    let Some(root) = keys.get(id)? else {
        return Ok(Imported::Skipped(format!(
            "account {name} ({id}): its root seed is not in the store"
        )));
    };
    check_name("account", name)?;
    let signing: Vec<&String> = claims.nats.signing_keys.0.keys().collect();
    let [signing] = signing.as_slice() else {
        return Err(format!(
            "account {name} has {} signing keys; the import needs exactly one, which becomes              the Account's signing key (`nsc edit account {name} --sk generate` adds one)",
            signing.len()
        ));
    };
    let signing_kp = keys.get(signing)?.ok_or_else(|| {
        format!("account {name}: the store has no seed for its signing key {signing}")
    })?;
    let spec =
        account_spec(claims, signing, cluster).map_err(|e| format!("account {name}: {e}"))?;
    let mut users = Vec::new();
    let mut skipped = Vec::new();
    for user_name in user_names(users_dir)? {
        let (token, user): (String, Claims<User>) =
            load(&users_dir.join(format!("{user_name}.jwt")), |c| match c {
                AnyClaims::User(u) => Some(u),
                _ => None,
            })?;
        let what = format!("user {user_name} of account {name}");
        user_link(&user, claims).map_err(|e| format!("{what}: {e}"))?;
        let Some(kp) = keys.get(&user.data.sub)? else {
            skipped.push(format!(
                "{what} ({}): its seed is not in the store",
                user.data.sub
            ));
            continue;
        };
        check_name("user", &user_name)?;
        let spec = user_spec(&user, name, id).map_err(|e| format!("{what}: {e}"))?;
        let seed = kp.seed().map_err(|e| format!("{}: {e}", user.data.sub))?;
        users.push(ImportedUser {
            name: user_name,
            spec,
            creds: jwt::creds::format_user_creds(&token, &seed),
        });
    }
    let seed = |kp: &KeyPair| kp.seed().map_err(|e| format!("{}: {e}", kp.public_key()));
    Ok(Imported::Account(
        Box::new(ImportedAccount {
            name: name.to_string(),
            id: id.clone(),
            spec,
            root_seed: seed(&root)?,
            signing_seed: seed(&signing_kp)?,
            users,
        }),
        skipped,
    ))
}

/// nsc names become object names: refuse those Kubernetes (and NAuth's labels) would.
fn check_name(kind: &str, name: &str) -> Result<(), String> {
    if is_dns_label(name) && name.len() <= 63 {
        return Ok(());
    }
    Err(format!(
        "{kind} {name:?}: its name becomes the {kind}'s object name, which must be a DNS label \
         (at most 63 lowercase letters, digits and '-'); rename it in nsc first"
    ))
}

/// The names of the user JWT files (`<name>.jwt`) in `dir`, sorted.
fn user_names(dir: &Path) -> Result<Vec<String>, String> {
    let mut files = jwt_files(dir)?;
    files.sort();
    Ok(files
        .iter()
        .filter_map(|p| p.file_stem()?.to_str().map(str::to_string))
        .collect())
}

/// The seed of the first operator signing key (in the operator JWT's order) the store holds.
fn signing_seed(operator: &Claims<Operator>, name: &str, keys: &Keys) -> Result<String, String> {
    let listed = &operator.nats.signing_keys;
    if listed.is_empty() {
        return Err(format!(
            "operator {name} has no signing key (add one with `nsc edit operator --sk generate`)"
        ));
    }
    for key in listed {
        if let Some(kp) = keys.get(key)? {
            return kp.seed().map_err(|e| format!("{key}: {e}"));
        }
    }
    Err(format!(
        "the nsc store has no seed for any signing key of operator {name} ({}) in {}",
        list(listed),
        keys.0.display()
    ))
}

/// Creds of the first user (by file name) issued by the system account whose seed is present.
fn system_user_creds(
    users_dir: &Path,
    account: &Claims<Account>,
    keys: &Keys,
) -> Result<Option<String>, String> {
    let mut files = jwt_files(users_dir)?;
    files.sort();
    for file in files {
        let (token, user): (String, Claims<User>) = load(&file, |c| match c {
            AnyClaims::User(u) => Some(u),
            _ => None,
        })?;
        if user_link(&user, account).is_err() {
            continue;
        }
        if let Some(kp) = keys.get(&user.data.sub)? {
            let seed = kp.seed().map_err(|e| format!("{}: {e}", user.data.sub))?;
            return Ok(Some(jwt::creds::format_user_creds(&token, &seed)));
        }
    }
    Ok(None)
}

/// The `*.jwt` files in `dir`; none if `dir` is absent.
fn jwt_files(dir: &Path) -> Result<Vec<PathBuf>, String> {
    match fs::read_dir(dir) {
        Ok(entries) => Ok(entries
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|e| e == "jwt"))
            .collect()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Vec::new()),
        Err(e) => Err(format!("{}: {e}", dir.display())),
    }
}

/// nsc's key directory (`DIR/keys/keys`).
struct Keys(PathBuf);

impl Keys {
    /// The key pair stored for `public_key`, if its seed file exists.
    fn get(&self, public_key: &str) -> Result<Option<KeyPair>, String> {
        if public_key.len() < 3 || !public_key.is_ascii() {
            return Err(format!("{public_key:?} is not a public key"));
        }
        let path = self
            .0
            .join(&public_key[..1])
            .join(&public_key[1..3])
            .join(format!("{public_key}.nk"));
        let text = match fs::read_to_string(&path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(format!("{}: {e}", path.display())),
        };
        let kp = KeyPair::from_seed(text.trim())
            .map_err(|_| format!("{}: not an nkey seed", path.display()))?;
        if kp.public_key() != public_key {
            return Err(format!(
                "{}: the seed belongs to {}, not to the key its file is named after",
                path.display(),
                kp.public_key()
            ));
        }
        Ok(Some(kp))
    }
}

/// Names of the subdirectories `d` of `dir` holding `d/d.jwt`, sorted; none if `dir` is absent.
fn entities(dir: &Path) -> Result<Vec<String>, String> {
    let entries = match fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(format!("{}: {e}", dir.display())),
    };
    let mut names: Vec<String> = entries
        .filter_map(|e| e.ok())
        .filter_map(|e| e.file_name().into_string().ok())
        .filter(|n| dir.join(n).join(format!("{n}.jwt")).is_file())
        .collect();
    names.sort();
    Ok(names)
}

/// A verified JWT file of the kind `pick` accepts.
fn load<T>(path: &Path, pick: impl Fn(AnyClaims) -> Option<T>) -> Result<(String, T), String> {
    let text = fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let token = text.trim().to_string();
    let claims = jwt::decode(&token)
        .map_err(|e| format!("{}: {e}", path.display()))?
        .claims;
    let kind = claim_type(&claims);
    let claims =
        pick(claims).ok_or_else(|| format!("{}: unexpected {kind} JWT", path.display()))?;
    Ok((token, claims))
}

fn list(keys: &[String]) -> String {
    if keys.is_empty() {
        "none".into()
    } else {
        keys.join(", ")
    }
}
