//! Field-by-field conversions from the API types to JWT types, shared by every claim builder.

use crate::api;
use crate::jwt;

fn export_type(t: Option<api::ExportType>) -> jwt::ExportType {
    match t {
        None => jwt::ExportType::Unknown,
        Some(api::ExportType::Stream) => jwt::ExportType::Stream,
        Some(api::ExportType::Service) => jwt::ExportType::Service,
    }
}

fn response_type(t: Option<api::ResponseType>) -> jwt::ResponseType {
    match t {
        None => jwt::ResponseType::Unset,
        Some(api::ResponseType::Singleton) => jwt::ResponseType::Singleton,
        Some(api::ResponseType::Stream) => jwt::ResponseType::Stream,
        Some(api::ResponseType::Chunked) => jwt::ResponseType::Chunked,
    }
}

fn export(
    name: Option<&str>,
    subject: &str,
    kind: Option<api::ExportType>,
    options: &api::ExportOptions,
) -> jwt::Export {
    jwt::Export {
        name: name.unwrap_or_default().to_string(),
        subject: subject.to_string(),
        export_type: export_type(kind),
        response_type: response_type(options.response_type),
        response_threshold: options.response_threshold.unwrap_or_default(),
        service_latency: options
            .service_latency
            .as_ref()
            .map(|l| jwt::ServiceLatency {
                sampling: l.sampling,
                results: l.results.clone(),
            }),
        // Values beyond u32 are far outside any subject's token count; saturate and let
        // validation report the position as pointing past the subject.
        account_token_position: options
            .account_token_position
            .map_or(0, |p| u32::try_from(p).unwrap_or(u32::MAX)),
        advertise: options.advertise.unwrap_or_default(),
        allow_trace: options.allow_trace.unwrap_or_default(),
        ..jwt::Export::default()
    }
}

/// An inline `Account.spec.exports` item, which may also carry `tokenReq` and `revocations`.
pub fn inline_export(e: &api::Export) -> jwt::Export {
    jwt::Export {
        token_req: e.token_req.unwrap_or_default(),
        revocations: e.revocations.clone().unwrap_or_default(),
        ..export(
            e.name.as_deref(),
            e.subject.as_deref().unwrap_or_default(),
            e.export_type,
            &e.options,
        )
    }
}

/// A rule of an `AccountExport`.
pub fn export_rule(r: &api::AccountExportRule) -> jwt::Export {
    export(
        r.name.as_deref(),
        &r.subject,
        Some(r.export_type),
        &r.options,
    )
}

/// An import rule from `account` (the exporter's ID), from either an inline import or an
/// `AccountImport`, which share their options.
pub fn import_rule(
    account: &str,
    name: Option<&str>,
    subject: &str,
    kind: Option<api::ExportType>,
    options: &api::ImportOptions,
) -> jwt::Import {
    jwt::Import {
        name: name.unwrap_or_default().to_string(),
        subject: subject.to_string(),
        account: account.to_string(),
        local_subject: options.local_subject.clone().unwrap_or_default(),
        import_type: export_type(kind),
        share: options.share.unwrap_or_default(),
        allow_trace: options.allow_trace.unwrap_or_default(),
        ..jwt::Import::default()
    }
}

/// Publish/subscribe permissions; `resp` only when given, as NAuth does.
pub(crate) fn permissions(p: &api::Permissions) -> jwt::Permissions {
    let side = |s: &Option<api::Permission>| jwt::Permission {
        allow: s.as_ref().and_then(|s| s.allow.clone()).unwrap_or_default(),
        deny: s.as_ref().and_then(|s| s.deny.clone()).unwrap_or_default(),
    };
    jwt::Permissions {
        pub_: side(&p.publish),
        sub: side(&p.subscribe),
        resp: p.resp.as_ref().map(|r| jwt::ResponsePermission {
            max: r.max.unwrap_or_default(),
            ttl_ns: r.ttl.unwrap_or_default(),
        }),
    }
}

/// `src`, `times` and `times_location`.
pub(crate) fn user_limits(l: &api::UserLimits) -> jwt::UserLimits {
    jwt::UserLimits {
        src: l.src.clone().unwrap_or_default(),
        times: l
            .times
            .iter()
            .flatten()
            .map(|t| jwt::TimeRange {
                start: t.start.clone().unwrap_or_default(),
                end: t.end.clone().unwrap_or_default(),
            })
            .collect(),
        times_location: l.times_location.clone().unwrap_or_default(),
    }
}

/// A user's own permissions and limits, or a scoped key's template, onto `target`; what is not
/// given keeps `target`'s value (the NATS limits start unlimited).
pub(crate) fn apply_permission_limits(
    target: &mut jwt::UserPermissionLimits,
    given: &api::UserPermissionLimits,
) {
    if let Some(p) = &given.permissions {
        target.permissions = permissions(p);
    }
    if let Some(l) = &given.user_limits {
        target.limits = user_limits(l);
    }
    if let Some(l) = &given.nats_limits {
        apply_nats_limits(&mut target.nats_limits, l);
    }
    target.bearer_token = given.bearer_token.unwrap_or_default();
    target.allowed_connection_types = given
        .allowed_connection_types
        .iter()
        .flatten()
        .map(|c| connection_type(*c))
        .collect();
}

/// Overrides the NATS limits that are set, keeping the rest.
pub(crate) fn apply_nats_limits(target: &mut jwt::NatsLimits, l: &api::NatsLimits) {
    set(&mut target.subs, l.subs);
    set(&mut target.data, l.data);
    set(&mut target.payload, l.payload);
}

/// Overrides the account limits that are set, keeping the rest.
pub(crate) fn apply_account_limits(target: &mut jwt::AccountLimits, l: &api::AccountLimits) {
    set(&mut target.imports, l.imports);
    set(&mut target.exports, l.exports);
    set(&mut target.wildcard_exports, l.wildcards);
    set(&mut target.conn, l.conn);
    set(&mut target.leaf_node_conn, l.leaf);
    set(&mut target.disallow_bearer, l.disallow_bearer);
}

/// Overrides the JetStream limits that are set, keeping the rest.
pub(crate) fn apply_jetstream_limits(target: &mut jwt::JetStreamLimits, l: &api::JetStreamLimits) {
    set(&mut target.mem_storage, l.mem_storage);
    set(&mut target.disk_storage, l.disk_storage);
    set(&mut target.streams, l.streams);
    set(&mut target.consumer, l.consumer);
    set(&mut target.max_ack_pending, l.max_ack_pending);
    set(&mut target.mem_max_stream_bytes, l.mem_max_stream_bytes);
    set(&mut target.disk_max_stream_bytes, l.disk_max_stream_bytes);
    set(&mut target.max_bytes_required, l.max_bytes_required);
}

/// The JWT's spelling of a connection type.
pub(crate) fn connection_type(t: api::ConnectionType) -> String {
    serde_json::to_value(t)
        .ok()
        .and_then(|v| v.as_str().map(str::to_string))
        .expect("connection types serialize to their JWT names")
}

fn set<T: Copy>(target: &mut T, value: Option<T>) {
    if let Some(v) = value {
        *target = v;
    }
}
