//! The JetStream streams of an account, for NAuth's deletion guard: the system user cannot see
//! another account's streams, so a short-lived user of the account (signed with its root key,
//! valid 30 s, allowed only the JetStream API and its inboxes; render's
//! `requests::stream_probe_user`) lists them.

use std::sync::Arc;

use async_nats::ConnectOptions;
use nkeys::KeyPair;
use serde::Deserialize;

use super::config::ClusterConfig;
use super::connection::unix_now;
use super::error::NatsError;

#[derive(Deserialize)]
struct Names {
    #[serde(default)]
    streams: Option<Vec<String>>,
    #[serde(default)]
    error: Option<ApiError>,
}

#[derive(Deserialize)]
struct ApiError {
    #[serde(default)]
    description: String,
}

/// The names (sorted) of the account's streams; empty when JetStream is not enabled for it.
pub async fn account_streams(
    config: &ClusterConfig,
    account_root: &KeyPair,
) -> Result<Vec<String>, NatsError> {
    let account = account_root.public_key();
    let operation = format!("stream listing of account {account}");
    let probe = KeyPair::new_user();
    let token =
        nauth_render::requests::stream_probe_user(account_root, &probe.public_key(), unix_now())
            .map_err(|e| NatsError::Invalid(format!("signing the stream probe user: {e}")))?;
    let probe = Arc::new(probe);
    let client = ConnectOptions::with_jwt(token, move |nonce| {
        let key = probe.clone();
        async move { key.sign(&nonce).map_err(async_nats::AuthError::new) }
    })
    .name("nauth-apply stream probe")
    .connection_timeout(config.timeouts.connect)
    .request_timeout(Some(config.timeouts.reply))
    .connect(config.servers())
    .await
    .map_err(|e| NatsError::Unreachable {
        url: config.url.clone(),
        reason: e.to_string(),
    })?;
    let reply = client.request("$JS.API.STREAM.NAMES", "{}".into()).await;
    let reply = match reply {
        Ok(m) => m,
        // Nobody answers the JetStream API: JetStream is off for this account.
        Err(e) if e.kind() == async_nats::RequestErrorKind::NoResponders => return Ok(Vec::new()),
        Err(e) => {
            return Err(NatsError::Unreachable {
                url: config.url.clone(),
                reason: format!("{operation}: {e}"),
            });
        }
    };
    let names: Names =
        serde_json::from_slice(&reply.payload).map_err(|e| NatsError::Malformed {
            operation: operation.clone(),
            server: "a server".into(),
            reason: e.to_string(),
        })?;
    if let Some(error) = names.error {
        if error.description.contains("not enabled") {
            return Ok(Vec::new());
        }
        return Err(NatsError::Malformed {
            operation,
            server: "a server".into(),
            reason: error.description,
        });
    }
    let mut streams = names.streams.unwrap_or_default();
    streams.sort();
    Ok(streams)
}
