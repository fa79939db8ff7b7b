//! Account claims: NAuth's build order, then the JWT v2 fields NAuth does not model.

use crate::api;
use crate::jwt;

use super::adoption::{GroupOutcome, RuleGroup, adopt};
use super::convert::{
    apply_account_limits, apply_jetstream_limits, apply_nats_limits, apply_permission_limits,
    permissions,
};
use super::{ClaimsError, blocking_errors};

/// A public key the account trusts to sign users, optionally scoped to a user template.
#[derive(Clone, Debug, PartialEq)]
pub struct SigningKeyEntry {
    /// The signing key's public key ("A…").
    pub key: String,
    /// The AccountSigningKey's scope, when it has one.
    pub scope: Option<api::SigningKeyScope>,
}

/// Everything an account JWT is built from, with references already resolved.
#[derive(Clone, Debug)]
pub struct AccountInput<'a> {
    /// The account ID (public key of the account's root key): the JWT subject.
    pub account_id: &'a str,
    /// The public key that will sign the JWT (an operator signing key): the JWT issuer.
    pub issuer: &'a str,
    /// JWT `name`: `spec.displayName`, or `<namespace>/<name>`.
    pub display_name: &'a str,
    /// The Account's spec.
    pub spec: &'a api::AccountSpec,
    /// The implicit signing key and the keys of ready `signingKeyRefs`, in any order.
    pub signing_keys: Vec<SigningKeyEntry>,
    /// Inline exports first, then AccountExport groups in adoption order.
    pub exports: Vec<RuleGroup<jwt::Export>>,
    /// Inline imports first, then AccountImport groups in adoption order.
    pub imports: Vec<RuleGroup<jwt::Import>>,
    /// Revocations decided by render from the users it knew, merged with `spec.revocations`
    /// (the later time of a key wins).
    pub revocations: &'a jwt::RevocationList,
}

/// The claims of one account and what happened to its export and import groups.
#[derive(Clone, Debug)]
pub struct AccountRendering {
    /// Claims ready to encode; `iat` and `jti` are set by encoding.
    pub claims: jwt::Claims<jwt::Account>,
    /// Adoption of each AccountExport, in input order.
    pub exports: Vec<GroupOutcome>,
    /// Adoption of each AccountImport, in input order.
    pub imports: Vec<GroupOutcome>,
}

const JS_ENABLED_WITHOUT_STORAGE: &str = "ambiguous JetStream config; requested to be enabled, \
     but no allowed MemoryStorage or DiskStorage supplied";
const JS_DISABLED_WITH_STORAGE: &str = "ambiguous JetStream config; requested to be disabled, \
     but supplied MemoryStorage and/or DiskStorage would implicitly enables it";

/// Builds an account's claims exactly as NAuth does, then validates them with NATS's rules.
pub fn account_claims(input: &AccountInput) -> Result<AccountRendering, ClaimsError> {
    let spec = input.spec;
    let mut body = jwt::Account::new();
    let limits = &mut body.limits;

    // NAuth keeps JetStream unlimited unless it is explicitly disabled (its #245). Tiered
    // limits (an extension) replace the untiered ones, so they get no seed.
    let tiered = spec.jet_stream_tiered_limits.as_ref();
    if spec.jet_stream_enabled != Some(false) && tiered.is_none() {
        let js = &mut limits.jetstream;
        js.mem_storage = jwt::NO_LIMIT;
        js.disk_storage = jwt::NO_LIMIT;
        js.streams = jwt::NO_LIMIT;
        js.consumer = jwt::NO_LIMIT;
        js.max_ack_pending = jwt::NO_LIMIT;
    }
    if let Some(l) = &spec.account_limits {
        apply_account_limits(&mut limits.account, l);
    }
    if let Some(l) = &spec.jet_stream_limits {
        if tiered.is_some() {
            return Err(ClaimsError::new(
                Some("spec.jetStreamLimits"),
                "jetStreamLimits and jetStreamTieredLimits are exclusive: JetStream limits are \
                 either untiered or per tier",
            ));
        }
        apply_jetstream_limits(&mut limits.jetstream, l);
    }
    for (tier, l) in tiered.into_iter().flatten() {
        let mut tier_limits = jwt::JetStreamLimits::default();
        apply_jetstream_limits(&mut tier_limits, l);
        limits.tiered_limits.insert(tier.clone(), tier_limits);
    }
    if let Some(l) = &spec.nats_limits {
        apply_nats_limits(&mut limits.nats, l);
    }

    for entry in &input.signing_keys {
        match &entry.scope {
            None => body.signing_keys.add(entry.key.clone()),
            Some(scope) => {
                let scope = user_scope(&entry.key, scope);
                // nats-server applies the template, then refuses the bearer user it yields.
                if scope.template.bearer_token && body.limits.account.disallow_bearer {
                    return Err(ClaimsError::new(
                        Some("spec.signingKeyRefs"),
                        format!(
                            "the scoped signing key {} (role {:?}) makes its users bearer \
                             tokens, which spec.accountLimits.disallowBearer forbids: NATS would \
                             refuse every user it signs",
                            entry.key, scope.role
                        ),
                    ));
                }
                body.signing_keys.add_scoped(scope)
            }
        }
    }

    let (exports, export_outcomes) = adopt(&input.exports, "spec.exports", |rules, vr| {
        jwt::validate_exports(rules, vr)
    })?;
    let (imports, import_outcomes) = adopt(&input.imports, "spec.imports", |rules, vr| {
        jwt::validate_imports(rules, input.account_id, vr)
    })?;
    body.exports = exports;
    body.imports = imports;

    if let Some(enabled) = spec.jet_stream_enabled {
        match (enabled, body.limits.is_jetstream_enabled()) {
            (true, false) => {
                return Err(ClaimsError::new(
                    Some("spec.jetStreamEnabled"),
                    JS_ENABLED_WITHOUT_STORAGE,
                ));
            }
            (false, true) => {
                return Err(ClaimsError::new(
                    Some("spec.jetStreamEnabled"),
                    JS_DISABLED_WITH_STORAGE,
                ));
            }
            _ => {}
        }
    }

    apply_extensions(&mut body, spec);
    for (key, at) in input.revocations {
        jwt::revoke(&mut body.revocations, key.clone(), *at);
    }

    let mut claims = jwt::Claims::new(input.account_id, body);
    claims.data.name = input.display_name.to_string();
    claims.data.iss = input.issuer.to_string();
    if let Some(message) = blocking_errors(&claims.validate(0)) {
        return Err(ClaimsError::new(None, message));
    }
    Ok(AccountRendering {
        claims,
        exports: export_outcomes,
        imports: import_outcomes,
    })
}

/// The JWT v2 account fields beyond NAuth's model.
fn apply_extensions(body: &mut jwt::Account, spec: &api::AccountSpec) {
    for (subject, targets) in spec.mappings.iter().flatten() {
        let targets = targets
            .iter()
            .map(|t| jwt::WeightedMapping {
                subject: t.subject.clone(),
                // The schema bounds weight to 0..=100; out-of-range input was reported by
                // the spec's validation before claims are built.
                weight: t.weight.map_or(0, |w| w.clamp(0, 100) as u8),
                cluster: t.cluster.clone().unwrap_or_default(),
            })
            .collect();
        body.mappings.insert(subject.clone(), targets);
    }
    if let Some(p) = &spec.default_permissions {
        body.default_permissions = permissions(p);
    }
    for (key, at) in spec.revocations.iter().flatten() {
        jwt::revoke(&mut body.revocations, key.clone(), *at);
    }
    if let Some(a) = &spec.authorization {
        body.authorization = jwt::ExternalAuthorization {
            auth_users: a.auth_users.clone().unwrap_or_default(),
            allowed_accounts: a.allowed_accounts.clone().unwrap_or_default(),
            xkey: a.xkey.clone().unwrap_or_default(),
        };
    }
    if let Some(t) = &spec.trace {
        body.trace = Some(jwt::MsgTrace {
            destination: t.destination.clone(),
            sampling: t.sampling.unwrap_or_default(),
        });
    }
    body.generic.add_tags(spec.tags.iter().flatten());
    body.info.description = spec.description.clone().unwrap_or_default();
    body.info.info_url = spec.info_url.clone().unwrap_or_default();
}

/// A scoped signing key: users it signs get the template's permissions and limits.
fn user_scope(key: &str, scope: &api::SigningKeyScope) -> jwt::UserScope {
    let mut s = jwt::UserScope::new(key);
    s.role = scope.role.clone();
    s.description = scope.description.clone().unwrap_or_default();
    if let Some(t) = &scope.template {
        apply_permission_limits(&mut s.template, t);
    }
    s
}
