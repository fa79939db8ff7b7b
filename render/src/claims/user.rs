//! User claims, as NAuth maps a User, plus bearer tokens, connection types and tags.

use crate::api;
use crate::jwt;

use super::convert::apply_permission_limits;
use super::{ClaimsError, blocking_errors};

/// Everything a user JWT is built from, with references already resolved.
#[derive(Clone, Debug)]
pub struct UserInput<'a> {
    /// The user's public key ("U…"): the JWT subject.
    pub user_key: &'a str,
    /// The account the user belongs to: always written as `issuer_account`.
    pub account_id: &'a str,
    /// The signing key's public key: the JWT issuer.
    pub issuer: &'a str,
    /// Whether the signing key is scoped; its template then decides permissions and limits.
    pub scoped: bool,
    /// JWT `name`: `spec.displayName`, or `<namespace>/<name>`.
    pub display_name: &'a str,
    /// The User's spec.
    pub spec: &'a api::UserSpec,
}

/// Builds a user's claims and validates them with NATS's rules.
pub fn user_claims(input: &UserInput) -> Result<jwt::Claims<jwt::User>, ClaimsError> {
    if input.scoped {
        reject_own_permissions(input.spec)?;
    }
    let claims = build(input);
    let mut vr = claims.validate(0);
    if input.scoped {
        jwt::validate_scoped_user(&claims.nats, &mut vr);
    }
    if let Some(message) = blocking_errors(&vr) {
        return Err(ClaimsError::new(None, message));
    }
    Ok(claims)
}

/// The claims before validation.
pub(crate) fn build(input: &UserInput) -> jwt::Claims<jwt::User> {
    let spec = input.spec;
    let mut body = if input.scoped {
        jwt::User::default()
    } else {
        user_body(spec)
    };
    body.issuer_account = input.account_id.to_string();
    body.generic.add_tags(spec.tags.iter().flatten());
    let mut claims = jwt::Claims::new(input.user_key, body);
    claims.data.name = input.display_name.to_string();
    claims.data.iss = input.issuer.to_string();
    claims.data.exp = spec.expires_at.as_ref().map_or(0, |t| t.0.as_second());
    claims
}

fn user_body(spec: &api::UserSpec) -> jwt::User {
    let mut body = jwt::User::new();
    apply_permission_limits(&mut body.permission_limits, &spec.permission_limits);
    body
}

/// A scoped key's template replaces the user's own permissions; NATS rejects users that carry
/// any, so say which field is in the way rather than let the server refuse the user later.
fn reject_own_permissions(spec: &api::UserSpec) -> Result<(), ClaimsError> {
    let own = &spec.permission_limits;
    let set = [
        ("spec.permissions", own.permissions.is_some()),
        ("spec.userLimits", own.user_limits.is_some()),
        ("spec.natsLimits", own.nats_limits.is_some()),
        ("spec.bearerToken", own.bearer_token.is_some()),
        (
            "spec.allowedConnectionTypes",
            own.allowed_connection_types.is_some(),
        ),
    ];
    match set.into_iter().find(|(_, present)| *present) {
        None => Ok(()),
        Some((field, _)) => Err(ClaimsError::new(
            Some(field),
            "users signed by a scoped signing key take their permissions and limits from the \
             key's template and must not set their own",
        )),
    }
}
