//! User JWTs and creds.

use std::collections::HashMap;

use nkeys::KeyPair;

use crate::claims::{self, UserInput};
use crate::diagnostic::Code;
use crate::input::{Inputs, Object};
use crate::keys::{KEY_GENERATION_ANNOTATION, Key, Keys, UserKey};
use crate::lock::LockEntry;
use crate::{api, jwt};

use super::{
    Context, Identities, RenderedUser, Report, claims_error, display_name, ref_key,
    signing_key_object,
};

/// Accounts by namespace and name, the first of duplicates (which are an error of their own).
pub(super) type Accounts<'i> = HashMap<(&'i str, &'i str), &'i Object<api::Account>>;

/// The Accounts of `inputs`, indexed once for all the Users rendered from them.
pub(super) fn accounts(inputs: &Inputs) -> Accounts<'_> {
    let mut accounts = Accounts::new();
    for a in &inputs.accounts {
        accounts.entry((a.namespace(), a.name())).or_insert(a);
    }
    accounts
}

/// Renders one User (see [`super::user`]), its Account found in `accounts`; `None` when it has
/// an error.
pub(super) fn render_user(
    cx: &Context,
    identities: &Identities,
    accounts: &Accounts,
    u: &Object<api::User>,
    previous: Option<&LockEntry>,
) -> (Option<RenderedUser>, Report) {
    let mut report = Report::default();
    let account = format!("{}/{}", u.namespace(), u.resource.spec.account_name);
    if let Some(failed) = identities.failure(&account) {
        // The Account's own errors say why.
        report.depends_on(failed);
        return (None, report);
    }
    let output = render_one(cx, identities, accounts, u, previous, &mut report)
        .map_err(|d| report.push(d))
        .ok();
    (output, report)
}

fn render_one(
    cx: &Context,
    identities: &Identities,
    accounts: &Accounts,
    u: &Object<api::User>,
    previous: Option<&LockEntry>,
    report: &mut Report,
) -> Result<RenderedUser, crate::diagnostic::Diagnostic> {
    let Context { inputs, keys, .. } = *cx;
    let spec = &u.resource.spec;
    let account_key = format!("{}/{}", u.namespace(), spec.account_name);
    let identity = identities.get(&account_key).ok_or_else(|| {
        u.error(
            Some("spec.accountName"),
            format!("Account {account_key} is not in the input (or has no keys)"),
        )
        .with_code(Code::NotFound)
    })?;
    let account = accounts
        .get(&(u.namespace(), spec.account_name.as_str()))
        .copied();
    let (signer, scoped) = match &spec.signing_key_ref {
        None => (identity.sign.clone(), false),
        Some(r) => signing_key(inputs, keys, u, r, account, report)?,
    };
    let UserKey {
        key: user_key,
        rotated_from,
        issued,
    } = keys.user(u).map_err(|e| {
        u.error(None, &e.message)
            .with_code(e.code())
            .with_hint(e.hint.clone())
    })?;
    let name = display_name(u, spec.display_name.as_deref());
    let (public, issuer) = (user_key.public_key(), signer.public_key());
    let input = UserInput {
        user_key: public,
        account_id: &identity.id,
        issuer,
        scoped,
        display_name: &name,
        spec,
    };
    let built = claims::user_claims(&input).map_err(|e| claims_error(u, e))?;
    if let Some(old) = rotated_from {
        report.push(u.warning(
            Some(&format!(
                "metadata.annotations[{KEY_GENERATION_ANNOTATION}]"
            )),
            format!(
                "rotates the user key: {old} (its creds Secret) becomes {public}; the Account's \
                 JWT revokes the old key, so its creds stop working"
            ),
        ).with_code(Code::KeyRotation));
    }
    check_usable(cx, u, account, &built, report)?;
    let revocations = account.and_then(|a| a.resource.spec.revocations.as_ref());
    if let Some(at) = revocations.and_then(|r| r.get(public)) {
        return Err(u.error(
            None,
            format!(
                "the user's key {public} is revoked by Account {account_key} (at {at}); raise the \
                 nauth.io/key-generation annotation or replace its creds to issue a new key"
            ),
        ).with_code(Code::Revoked));
    }
    // A revocation of all users before a time is how an account forces re-issue, and a key
    // the account revoked by itself (a deleted user's, re-created) may be used again: either
    // way new JWTs must be issued after it.
    let floor = (revocations.and_then(|r| r.get(jwt::REVOKE_ALL)).copied())
        .max(identity.revoked.get(public).copied());
    let adopted = match previous {
        Some(_) => None,
        None => issued.and_then(|token| adopted_record(&token, public, issuer)),
    };
    let (claims, claims_hash, token) = cx
        .sign(built, &signer, previous.or(adopted.as_ref()), floor)
        .map_err(|e| u.error(None, e).with_code(Code::InvalidSpec))?;
    // A preview signs nothing: no token, so no creds, even where a seed is at hand.
    let creds = match user_key.pair().map(KeyPair::seed) {
        Some(Ok(seed)) if keys.can_sign() => jwt::creds::format_user_creds(&token, &seed),
        _ => String::new(),
    };
    Ok(RenderedUser {
        namespace: u.namespace().to_string(),
        name: u.name().to_string(),
        claims,
        claims_hash,
        creds,
    })
}

/// The lock record of the JWT in a User's creds Secret, for a User the lock does not know
/// (NAuth wrote the Secret): when render's claims are the same, its `iat` is kept and so are
/// the creds, byte for byte, so adopting what NAuth managed re-issues nothing. `None` for a
/// JWT of another key or signer, or one that does not verify.
fn adopted_record(token: &str, user_key: &str, issuer: &str) -> Option<LockEntry> {
    let jwt::AnyClaims::User(claims) = jwt::decode(token).ok()?.claims else {
        return None;
    };
    (claims.data.sub == user_key && claims.data.iss == issuer).then_some(())?;
    Some(LockEntry {
        claims_hash: super::claims_hash(&claims).ok()?,
        public_key: claims.data.sub,
        issuer: claims.data.iss,
        issued_at: claims.data.iat,
        revocations: Default::default(),
    })
}

/// What nats-server would refuse or not expect of valid claims: a bearer user in an account
/// that disallows bearer tokens is refused at connect (error); an expiry already past when the
/// render runs makes a user that can never connect (warning).
fn check_usable(
    cx: &Context,
    u: &Object<api::User>,
    account: Option<&Object<api::Account>>,
    claims: &jwt::Claims<jwt::User>,
    report: &mut Report,
) -> Result<(), crate::diagnostic::Diagnostic> {
    let limits = account.and_then(|a| a.resource.spec.account_limits.as_ref());
    let disallowed = limits.and_then(|l| l.disallow_bearer) == Some(true);
    if disallowed && claims.nats.permission_limits.bearer_token {
        return Err(u.error(
            Some("spec.bearerToken"),
            format!(
                "Account {}/{} disallows bearer tokens (spec.accountLimits.disallowBearer): NATS \
                 would refuse this user",
                u.namespace(),
                u.resource.spec.account_name
            ),
        ).with_code(Code::BearerNotAllowed));
    }
    if let Some(at) = &u.resource.spec.expires_at
        && claims.data.exp != 0
        && claims.data.exp <= cx.epoch
    {
        report.push(
            u.warning(
                Some("spec.expiresAt"),
                format!(
                    "expired at {} before the render's time: NATS will refuse this user",
                    at.0
                ),
            )
            .with_code(Code::Expired),
        );
    }
    Ok(())
}

/// The key of a User's `signingKeyRef`, which its Account must trust, and whether it is scoped.
fn signing_key(
    inputs: &Inputs,
    keys: Keys,
    u: &Object<api::User>,
    r: &api::AccountSigningKeyRef,
    account: Option<&Object<api::Account>>,
    report: &mut Report,
) -> Result<(Key, bool), crate::diagnostic::Diagnostic> {
    const FIELD: &str = "spec.signingKeyRef";
    let target = ref_key(r.namespace.as_deref(), &r.name, u.namespace());
    let ask = signing_key_object(inputs, r, u.namespace()).ok_or_else(|| {
        u.error(
            Some(FIELD),
            format!("AccountSigningKey {target} is not in the input"),
        )
        .with_code(Code::NotFound)
    })?;
    let trusted = account.is_some_and(|a| {
        a.resource
            .spec
            .signing_key_refs
            .iter()
            .flatten()
            .any(|ar| ref_key(ar.namespace.as_deref(), &ar.name, a.namespace()) == target)
    });
    if !trusted {
        return Err(u.error(
            Some(FIELD),
            format!(
                "AccountSigningKey {target} is not listed in spec.signingKeyRefs of Account {}/{}",
                u.namespace(),
                u.resource.spec.account_name
            ),
        ).with_code(Code::InvalidReference));
    }
    let kp = (keys.signing_key(ask)).map_err(|e| {
        ask.error(None, &e.message)
            .with_code(e.code())
            .with_hint(e.hint.clone())
    })?;
    report.record_key("AccountSigningKey", ask.key(), &kp);
    Ok((kp, ask.resource.spec.scope.is_some()))
}
