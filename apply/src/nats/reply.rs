//! What nats-server sends back on the `$SYS` subjects, and the per-server outcomes built from it.
//!
//! Shapes follow nats-server's `ServerInfo`, `ServerAPIClaimUpdateResponse` and the LIST, STATSZ
//! and VARZ responses; fields the controller does not need are ignored.

use std::fmt;

use serde::Deserialize;

/// The server that sent a reply (nats-server's `ServerInfo`, reduced).
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
pub struct ServerId {
    /// `server_name`, or the id when the server has no name configured.
    #[serde(default)]
    pub name: String,
    /// Random per process start: a restarted server has a new id.
    pub id: String,
    /// Cluster name, empty outside a cluster.
    #[serde(default)]
    pub cluster: String,
    /// nats-server version.
    #[serde(default, rename = "ver")]
    pub version: String,
}

impl fmt::Display for ServerId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.name.is_empty() || self.name == self.id {
            f.write_str(&self.id)
        } else {
            f.write_str(&self.name)
        }
    }
}

/// One server's answer to an update or delete request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ServerReply {
    /// Who answered.
    pub server: ServerId,
    /// What it said.
    pub outcome: Outcome,
}

/// Whether a server took an update or delete request. A 200 means stored, not trusted: a server
/// stores an account JWT whose issuer it does not trust and only fails when the account is used.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// `data` with code 200, e.g. "jwt updated" or "deleted 1 accounts".
    Accepted {
        /// The server's message.
        message: String,
    },
    /// `error`, or `data` with another code: the server's own description.
    Rejected {
        /// HTTP-style status code the server gave.
        code: u16,
        /// The server's message, e.g. "jwt validation failed - …".
        description: String,
    },
}

impl ServerReply {
    /// Parses a `ServerAPIClaimUpdateResponse` (update and delete requests answer alike).
    pub(crate) fn parse(payload: &[u8]) -> Result<Self, String> {
        let reply: UpdateResponse = parse_json(payload)?;
        let outcome = match (reply.data, reply.error) {
            (_, Some(e)) => Outcome::Rejected {
                code: e.code,
                description: e.description,
            },
            (Some(d), None) if d.code == 200 => Outcome::Accepted { message: d.message },
            (Some(d), None) => Outcome::Rejected {
                code: d.code,
                description: d.message,
            },
            (None, None) => return Err("neither data nor error in the reply".into()),
        };
        Ok(ServerReply {
            server: reply.server,
            outcome,
        })
    }

    /// The rejection's text, if this is one.
    pub fn rejection(&self) -> Option<String> {
        match &self.outcome {
            Outcome::Accepted { .. } => None,
            Outcome::Rejected { code, description } => {
                Some(format!("{}: {description} ({code})", self.server))
            }
        }
    }
}

#[derive(Deserialize)]
struct UpdateResponse {
    server: ServerId,
    data: Option<UpdateStatus>,
    error: Option<UpdateError>,
}

#[derive(Deserialize)]
struct UpdateStatus {
    code: u16,
    #[serde(default)]
    message: String,
}

#[derive(Deserialize)]
struct UpdateError {
    code: u16,
    #[serde(default)]
    description: String,
}

/// A `$SYS.REQ.CLAIMS.LIST` reply: the account ids one server stores.
#[derive(Deserialize)]
pub(crate) struct ListResponse {
    pub server: ServerId,
    #[serde(default)]
    pub data: Vec<String>,
}

/// A `$SYS.REQ.SERVER.PING.STATSZ` reply, reduced to how many servers this one knows of.
#[derive(Deserialize)]
pub(crate) struct StatszResponse {
    pub server: ServerId,
    pub statsz: Statsz,
}

#[derive(Deserialize)]
pub(crate) struct Statsz {
    /// Servers this one hears from over the system account, itself included.
    #[serde(default)]
    pub active_servers: usize,
}

/// A `$SYS.REQ.SERVER.PING.VARZ` reply, reduced to the trust settings.
#[derive(Deserialize)]
pub(crate) struct VarzResponse {
    pub server: ServerId,
    pub data: Varz,
}

#[derive(Deserialize)]
pub(crate) struct Varz {
    /// The operator JWTs this server trusts, as configured.
    #[serde(default)]
    pub trusted_operators_jwt: Vec<String>,
    /// The system account's public key.
    #[serde(default)]
    pub system_account: String,
}

/// Only the sender of any `{"server":{…},…}` reply, to count distinct servers cheaply.
#[derive(Deserialize)]
struct Sender {
    server: ServerId,
}

/// The id of the server that sent `payload`, if it carries one.
pub(crate) fn sender_id(payload: &[u8]) -> Option<String> {
    serde_json::from_slice::<Sender>(payload)
        .ok()
        .map(|s| s.server.id)
}

pub(crate) fn parse_json<'a, T: Deserialize<'a>>(payload: &'a [u8]) -> Result<T, String> {
    serde_json::from_slice(payload).map_err(|e| format!("not the expected JSON: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    const SERVER: &str = r#"{"name":"a","host":"0.0.0.0","id":"NID","cluster":"c","ver":"2.15.1","jetstream":false,"flags":0,"seq":7,"time":"2026-11-29T00:00:00Z"}"#;

    #[test]
    fn an_accepted_update_names_its_server() {
        let body = format!(
            r#"{{"server":{SERVER},"data":{{"account":"AX","code":200,"message":"jwt updated"}}}}"#
        );
        let reply = ServerReply::parse(body.as_bytes()).unwrap();
        assert_eq!(reply.server.name, "a");
        assert_eq!(reply.server.id, "NID");
        assert_eq!(reply.server.to_string(), "a");
        assert_eq!(
            reply.outcome,
            Outcome::Accepted {
                message: "jwt updated".into()
            }
        );
        assert_eq!(reply.rejection(), None);
        assert_eq!(sender_id(body.as_bytes()).as_deref(), Some("NID"));
    }

    #[test]
    fn an_error_reply_keeps_the_servers_description() {
        let body = format!(
            r#"{{"server":{SERVER},"error":{{"account":"AX","code":500,"description":"delete accounts request by O failed - not trusted"}}}}"#
        );
        let reply = ServerReply::parse(body.as_bytes()).unwrap();
        assert_eq!(
            reply.rejection().unwrap(),
            "a: delete accounts request by O failed - not trusted (500)"
        );
    }

    #[test]
    fn a_non_200_data_reply_is_a_rejection() {
        let body = format!(r#"{{"server":{SERVER},"data":{{"code":404,"message":"nope"}}}}"#);
        let reply = ServerReply::parse(body.as_bytes()).unwrap();
        assert!(matches!(reply.outcome, Outcome::Rejected { code: 404, .. }));
    }

    #[test]
    fn a_reply_without_data_or_error_is_malformed() {
        let body = format!(r#"{{"server":{SERVER}}}"#);
        assert!(ServerReply::parse(body.as_bytes()).is_err());
        assert!(ServerReply::parse(b"not json").is_err());
        assert_eq!(sender_id(b""), None);
    }

    #[test]
    fn an_unnamed_server_shows_its_id() {
        let id = ServerId {
            id: "NID".into(),
            ..Default::default()
        };
        assert_eq!(id.to_string(), "NID");
    }
}
