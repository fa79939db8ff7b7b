//! Scatter-gather: one request that every server of a cluster answers on its own.
//!
//! `client.request` returns the first reply only, but the resolver subjects are plain (not
//! queue) subscriptions on every server, so a cluster answers once per server. We publish with
//! a private inbox and collect replies until the caller says it has all it expects, or until
//! the reply window closes.

use std::time::Duration;

use async_nats::{Client, Message, StatusCode, connection::State};
use futures_util::StreamExt;
use tokio::time::Instant;

use super::error::NatsError;

/// The replies one request collected.
pub(crate) struct Gathered {
    /// Replies in arrival order.
    pub messages: Vec<Message>,
    /// The caller's `enough` held before the window closed.
    pub complete: bool,
}

/// Publishes `payload` to `subject` and collects replies until `enough(replies so far)` holds
/// or `window` has passed. `url` and `hint` only word the errors.
pub(crate) async fn gather(
    client: &Client,
    url: &str,
    subject: &str,
    payload: Vec<u8>,
    window: Duration,
    hint: &'static str,
    mut enough: impl FnMut(&[Message]) -> bool,
) -> Result<Gathered, NatsError> {
    // While disconnected, async-nats would buffer the request and we would only time out.
    if client.connection_state() != State::Connected {
        return Err(NatsError::Unreachable {
            url: url.to_string(),
            reason: "connection lost; the client keeps reconnecting".into(),
        });
    }
    let unreachable = |reason: String| NatsError::Unreachable {
        url: url.to_string(),
        reason,
    };
    let inbox = client.new_inbox();
    let mut replies = client
        .subscribe(inbox.clone())
        .await
        .map_err(|e| unreachable(e.to_string()))?;
    client
        .publish_with_reply(subject.to_string(), inbox, payload.into())
        .await
        .map_err(|e| unreachable(e.to_string()))?;
    let deadline = Instant::now() + window;
    let mut messages = Vec::new();
    let complete = loop {
        match tokio::time::timeout_at(deadline, replies.next()).await {
            Ok(Some(message)) if message.status == Some(StatusCode::NO_RESPONDERS) => {
                return Err(NatsError::NoResponders {
                    subject: subject.to_string(),
                    hint,
                });
            }
            Ok(Some(message)) => {
                messages.push(message);
                if enough(&messages) {
                    break true;
                }
            }
            Ok(None) | Err(_) => break false,
        }
    };
    Ok(Gathered { messages, complete })
}
