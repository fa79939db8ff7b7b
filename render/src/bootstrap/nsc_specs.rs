//! nsc's account and user claims as Account and User specs. A claim maps only when rendering
//! the spec gives it back unchanged; anything else is refused by its JSON path, so an import
//! never widens, narrows or drops a permission or limit without saying so.

use serde_json::Value;

use crate::api::{self, NatsClusterRef};
use crate::claims::{AccountInput, SigningKeyEntry, UserInput, account_claims, user_claims};
use crate::jwt::{self, Account, Claims, User};

/// The Account spec rendering `claims` again, bound to the NatsCluster `cluster`; `signing_key`
/// is the account's one plain signing key, which becomes its implicit signing key.
pub fn account_spec(
    claims: &Claims<Account>,
    signing_key: &str,
    cluster: &str,
) -> Result<api::AccountSpec, String> {
    let body = &claims.nats;
    // The status NAuth shows of an account's claims has every limit as a spec field.
    let shown = crate::status::account_claims(claims);
    let jetstream = body.limits.is_jetstream_enabled();
    let spec = api::AccountSpec {
        nats_cluster_ref: Some(NatsClusterRef {
            name: cluster.to_string(),
            namespace: None,
        }),
        display_name: non_empty(&claims.data.name),
        jet_stream_enabled: (!jetstream).then_some(false),
        account_limits: shown.account_limits,
        jet_stream_limits: shown.jet_stream_limits.filter(|_| jetstream),
        nats_limits: shown.nats_limits,
        tags: (!body.generic.tags.is_empty()).then(|| body.generic.tags.clone()),
        description: non_empty(&body.info.description),
        info_url: non_empty(&body.info.info_url),
        ..api::AccountSpec::default()
    };
    let revocations = jwt::RevocationList::new();
    let input = AccountInput {
        account_id: &claims.data.sub,
        issuer: &claims.data.iss,
        display_name: &claims.data.name,
        spec: &spec,
        signing_keys: vec![SigningKeyEntry {
            key: signing_key.to_string(),
            scope: None,
        }],
        exports: Vec::new(),
        imports: Vec::new(),
        revocations: &revocations,
    };
    let rendered = account_claims(&input).map_err(|e| e.to_string())?.claims;
    unmapped(claims, &rendered)?;
    Ok(spec)
}

/// The User spec rendering `claims` again in the Account `account` (ID `account_id`), or the
/// first claim it cannot carry.
pub fn user_spec(
    claims: &Claims<User>,
    account: &str,
    account_id: &str,
) -> Result<api::UserSpec, String> {
    let own = &claims.nats.permission_limits;
    let connection_types = own
        .allowed_connection_types
        .iter()
        .map(|t| {
            serde_json::from_value(Value::String(t.clone()))
                .map_err(|_| "claim allowed_connection_types: a type NAuth does not know")
        })
        .collect::<Result<Vec<api::ConnectionType>, _>>()?;
    let side = |p: &jwt::Permission| {
        (!p.is_empty()).then(|| api::Permission {
            allow: (!p.allow.is_empty()).then(|| p.allow.clone()),
            deny: (!p.deny.is_empty()).then(|| p.deny.clone()),
        })
    };
    let limits = &own.limits;
    let spec = api::UserSpec {
        account_name: account.to_string(),
        display_name: non_empty(&claims.data.name),
        permission_limits: api::UserPermissionLimits {
            permissions: Some(api::Permissions {
                publish: side(&own.permissions.pub_),
                subscribe: side(&own.permissions.sub),
                resp: own
                    .permissions
                    .resp
                    .as_ref()
                    .map(|r| api::ResponsePermission {
                        max: Some(r.max),
                        ttl: Some(r.ttl_ns),
                    }),
            }),
            user_limits: (*limits != jwt::UserLimits::default()).then(|| api::UserLimits {
                src: (!limits.src.is_empty()).then(|| limits.src.clone()),
                times: (!limits.times.is_empty()).then(|| {
                    limits
                        .times
                        .iter()
                        .map(|t| api::TimeRange {
                            start: Some(t.start.clone()),
                            end: Some(t.end.clone()),
                        })
                        .collect()
                }),
                times_location: non_empty(&limits.times_location),
            }),
            nats_limits: Some(nats_limits(&own.nats_limits)),
            bearer_token: own.bearer_token.then_some(true),
            allowed_connection_types: (!connection_types.is_empty()).then_some(connection_types),
        },
        tags: (!claims.nats.generic.tags.is_empty()).then(|| claims.nats.generic.tags.clone()),
        ..api::UserSpec::default()
    };
    let rendered = user_claims(&UserInput {
        user_key: &claims.data.sub,
        account_id,
        issuer: &claims.data.iss,
        scoped: false,
        display_name: &claims.data.name,
        spec: &spec,
    })
    .map_err(|e| e.to_string())?;
    // nsc omits `issuer_account` when the account's own key signs; render always names it.
    let mut nsc = claims.clone();
    nsc.nats.issuer_account = account_id.to_string();
    unmapped(&nsc, &rendered)?;
    Ok(spec)
}

fn nats_limits(l: &jwt::NatsLimits) -> api::NatsLimits {
    api::NatsLimits {
        subs: Some(l.subs),
        data: Some(l.data),
        payload: Some(l.payload),
    }
}

fn non_empty(s: &str) -> Option<String> {
    (!s.is_empty()).then(|| s.to_string())
}

/// Fails naming the first claim (a JSON path) where `rendered` differs from `nsc`, ignoring
/// what signing sets anew (`iat`, `jti`, `iss`, `nats.type`, `nats.version`).
fn unmapped<T: jwt::ClaimBody>(nsc: &Claims<T>, rendered: &Claims<T>) -> Result<(), String> {
    let json = |c: &Claims<T>| {
        let mut v = serde_json::to_value(c).expect("claims serialize to JSON");
        if let Value::Object(map) = &mut v {
            for signing in ["iat", "jti", "iss"] {
                map.remove(signing);
            }
            if let Some(Value::Object(body)) = map.get_mut("nats") {
                body.remove("type");
                body.remove("version");
            }
        }
        v
    };
    match first_difference(&json(nsc), &json(rendered), "") {
        None => Ok(()),
        Some(path) => Err(format!(
            "claim {path} is not imported: the spec made from the claims does not render it \
             unchanged"
        )),
    }
}

/// The dotted path of the first object key (sorted) whose values differ, or `""` for the root.
fn first_difference(a: &Value, b: &Value, path: &str) -> Option<String> {
    if a == b {
        return None;
    }
    let (Value::Object(a), Value::Object(b)) = (a, b) else {
        return Some(path.to_string());
    };
    let mut keys: Vec<&String> = a.keys().chain(b.keys()).collect();
    keys.sort();
    keys.dedup();
    keys.into_iter().find_map(|k| {
        let sub = if path.is_empty() {
            k.clone()
        } else {
            format!("{path}.{k}")
        };
        first_difference(
            a.get(k).unwrap_or(&Value::Null),
            b.get(k).unwrap_or(&Value::Null),
            &sub,
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const ID: &str = "ADBYOZFY7XJMHCYVTEQVONQPDCW7TLRQLWOZVGY5NFUX66GPPKFIY5LD";
    const SK: &str = "ABBN6R5JEENBPPRKSZ5KYJRK4PYOUU6DMFXSBLLLHCXQD3UBWQXH73V4";
    const USER: &str = "UA5ZSAGBUKRILRF5H4TAMG7C7QC3274YA3ZSD3XUE7YEK4S6GPSZAP3E";

    fn account(body: Account) -> Claims<Account> {
        let mut claims = Claims::new(ID, body);
        claims.nats.signing_keys.add(SK.to_string());
        claims.data.name = "app".into();
        claims
    }

    #[test]
    fn account_limits_and_jetstream_map_to_the_spec() {
        let mut body = Account::new();
        body.limits.account.conn = 10;
        body.limits.jetstream.disk_storage = 1 << 20;
        body.limits.jetstream.streams = 3;
        let spec = account_spec(&account(body), SK, "nats").unwrap();
        assert_eq!(spec.account_limits.unwrap().conn, Some(10));
        assert_eq!(spec.jet_stream_enabled, None);
        let js = spec.jet_stream_limits.unwrap();
        assert_eq!((js.disk_storage, js.mem_storage), (Some(1 << 20), Some(0)));
        assert_eq!(spec.nats_cluster_ref.unwrap().name, "nats");
    }

    #[test]
    fn an_account_without_jetstream_disables_it() {
        let spec = account_spec(&account(Account::new()), SK, "nats").unwrap();
        assert_eq!(spec.jet_stream_enabled, Some(false));
        assert_eq!(spec.jet_stream_limits, None);
    }

    #[test]
    fn account_claims_without_a_spec_field_are_refused_by_path() {
        let mut body = Account::new();
        body.default_permissions.pub_.allow = vec!["x".into()];
        assert_eq!(
            account_spec(&account(body), SK, "nats").unwrap_err(),
            "claim nats.default_permissions.pub.allow is not imported: the spec made from the claims \
             does not render it unchanged"
        );
        let mut body = Account::new();
        body.revocations.insert(USER.into(), 5);
        let err = account_spec(&account(body), SK, "nats").unwrap_err();
        assert!(err.starts_with("claim nats.revocations "), "{err}");
    }

    #[test]
    fn user_permissions_and_limits_map_to_the_spec() {
        let mut body = User::new();
        let p = &mut body.permission_limits;
        p.permissions.sub.deny = vec!["secret.>".into()];
        p.permissions.resp = Some(jwt::ResponsePermission { max: 1, ttl_ns: 0 });
        p.limits.src = vec!["10.0.0.0/8".into()];
        p.nats_limits.subs = 7;
        p.allowed_connection_types = vec!["WEBSOCKET".into()];
        p.bearer_token = true;
        let spec = user_spec(&Claims::new(USER, body), "app", ID).unwrap();
        let own = spec.permission_limits;
        let permissions = own.permissions.unwrap();
        assert_eq!(permissions.subscribe.unwrap().deny.unwrap(), ["secret.>"]);
        assert_eq!(permissions.publish, None);
        assert_eq!(own.nats_limits.unwrap().subs, Some(7));
        assert_eq!(own.bearer_token, Some(true));
        assert_eq!(
            own.allowed_connection_types.unwrap(),
            [api::ConnectionType::Websocket]
        );
        assert_eq!(spec.account_name, "app");
    }

    #[test]
    fn a_user_claim_without_a_spec_field_is_refused_by_path() {
        let mut claims = Claims::new(USER, User::new());
        claims.data.exp = 2_000_000_000;
        assert_eq!(
            user_spec(&claims, "app", ID).unwrap_err(),
            "claim exp is not imported: the spec made from the claims does not render it unchanged"
        );
    }
}
