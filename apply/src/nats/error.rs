//! The one error type of the NATS side, typed so that a reconciler can pick a condition reason
//! and decide whether to retry.
//!
//! Messages quote URLs (without their user and password), public keys, server names and the
//! servers' own texts, never credentials or seeds: the system user's creds are parsed by `nauth_jwt::creds`, whose errors do
//! not quote the seed, and signing errors come from the JWT module, whose texts hold no keys.

use std::time::Duration;

use super::reply::ServerReply;

/// Why a NATS operation failed.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum NatsError {
    /// The system user's creds cannot be used (not a creds file, or not a user seed).
    #[error("system user credentials are not usable: {0}")]
    Credentials(String),
    /// No connection to any server: refused, timed out, DNS, TLS, or lost since.
    #[error(
        "NATS at {} is unreachable: {}",
        without_userinfo(url),
        without_userinfo(reason)
    )]
    Unreachable {
        /// The configured URL(s).
        url: String,
        /// What the client saw.
        reason: String,
    },
    /// A server refused the system user's creds.
    #[error(
        "NATS at {} refused the system user: {}",
        without_userinfo(url),
        without_userinfo(reason)
    )]
    Unauthorized {
        /// The configured URL(s).
        url: String,
        /// What the server said.
        reason: String,
    },
    /// Nobody subscribes to the subject: the user is not a system-account user, or no server
    /// runs a resolver that serves it.
    #[error("no server answers {subject}: {hint}")]
    NoResponders {
        /// The request subject.
        subject: String,
        /// The likely cause.
        hint: &'static str,
    },
    /// Fewer servers answered than the cluster has, within the reply window.
    #[error("{operation}: {answered} of {expected} server(s) answered within {after:?}{}", missing_list(.missing))]
    Timeout {
        /// What was asked, e.g. "push of account A…".
        operation: String,
        /// How long we waited.
        after: Duration,
        /// Servers expected to answer.
        expected: usize,
        /// Servers that answered.
        answered: usize,
        /// Names of the servers that stayed silent, when replies name their sender.
        missing: Vec<String>,
    },
    /// At least one server answered with an error; every server's answer is kept.
    #[error("{operation} was rejected by {}", rejections(.replies))]
    Rejected {
        /// What was asked.
        operation: String,
        /// Every reply, accepted or not.
        replies: Vec<ServerReply>,
    },
    /// The JWT is not signed by an operator (or operator signing key) every server trusts, or a
    /// signature does not verify. Nothing was sent.
    #[error("{subject} is not trusted by the cluster: {reason}")]
    ChainInvalid {
        /// The account (or signing key) in question.
        subject: String,
        /// Which rule failed, for which server.
        reason: String,
    },
    /// The request is not valid before trust is even considered: not an account JWT, claims
    /// that fail validation or are expired, a malformed account id. Nothing was sent.
    #[error("invalid request: {0}")]
    Invalid(String),
    /// A server answered something that is not what nats-server sends.
    #[error("{operation}: unexpected reply from {server}: {reason}")]
    Malformed {
        /// What was asked.
        operation: String,
        /// Who answered (server name, or "a server" when the reply does not say).
        server: String,
        /// What was wrong with it.
        reason: String,
    },
}

fn missing_list(missing: &[String]) -> String {
    if missing.is_empty() {
        String::new()
    } else {
        format!(" (no reply from {})", missing.join(", "))
    }
}

fn rejections(replies: &[ServerReply]) -> String {
    let texts: Vec<String> = replies.iter().filter_map(ServerReply::rejection).collect();
    texts.join("; ")
}

/// `text` with the user and password of every URL in it replaced by `***` (`nats://u:p@h` becomes
/// `nats://***@h`): a NatsCluster URL may carry them, and messages go to statuses and events.
fn without_userinfo(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find("://") {
        let (head, tail) = rest.split_at(at + 3);
        out.push_str(head);
        let authority_end = tail.find(['/', ' ', ',', '"', '\'']).unwrap_or(tail.len());
        match tail[..authority_end].rfind('@') {
            Some(userinfo_end) => {
                out.push_str("***");
                rest = &tail[userinfo_end..];
            }
            None => rest = tail,
        }
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_lose_their_user_and_password() {
        assert_eq!(
            without_userinfo("nats://u:secret@10.0.0.1:4222, tls://a@b.example/x"),
            "nats://***@10.0.0.1:4222, tls://***@b.example/x"
        );
        assert_eq!(
            without_userinfo("nats://10.0.0.1:4222"),
            "nats://10.0.0.1:4222"
        );
        let e = NatsError::Unreachable {
            url: "nats://user:pw@127.0.0.1:1".into(),
            reason: "connect to nats://user:pw@127.0.0.1:1 refused".into(),
        };
        assert!(!e.to_string().contains("pw"), "{e}");
    }
    use crate::nats::reply::{Outcome, ServerId};

    fn server(name: &str) -> ServerId {
        ServerId {
            name: name.into(),
            id: format!("N{name}"),
            ..Default::default()
        }
    }

    #[test]
    fn a_rejection_lists_only_the_servers_that_refused() {
        let err = NatsError::Rejected {
            operation: "push of account AX".into(),
            replies: vec![
                ServerReply {
                    server: server("a"),
                    outcome: Outcome::Accepted {
                        message: "jwt updated".into(),
                    },
                },
                ServerReply {
                    server: server("b"),
                    outcome: Outcome::Rejected {
                        code: 500,
                        description: "jwt update resulted in error - disk full".into(),
                    },
                },
            ],
        };
        assert_eq!(
            err.to_string(),
            "push of account AX was rejected by b: jwt update resulted in error - disk full (500)"
        );
    }

    #[test]
    fn a_timeout_names_the_silent_servers() {
        let err = NatsError::Timeout {
            operation: "push of account AX".into(),
            after: Duration::from_secs(3),
            expected: 2,
            answered: 1,
            missing: vec!["b".into()],
        };
        assert_eq!(
            err.to_string(),
            "push of account AX: 1 of 2 server(s) answered within 3s (no reply from b)"
        );
    }
}
