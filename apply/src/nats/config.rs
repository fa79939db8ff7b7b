//! How to reach one NATS cluster: URLs, the system user's creds, and the time limits.

use std::fmt;
use std::time::Duration;

use nauth_jwt::creds::parse_creds;

use super::error::NatsError;

/// Everything needed to open the connection of one NatsCluster. Two configs that compare equal
/// can share a connection.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ClusterConfig {
    /// The NatsCluster's URL; a comma-separated list of servers is allowed, as in its spec.
    pub url: String,
    /// Creds of a system-account user.
    pub system_creds: SystemCreds,
    /// Connection name the servers show in CONNZ, so operators can tell the controller apart.
    pub name: String,
    /// Time limits of every operation.
    pub timeouts: Timeouts,
}

impl ClusterConfig {
    /// A config with the default name and time limits.
    pub fn new(url: impl Into<String>, system_creds: SystemCreds) -> Self {
        ClusterConfig {
            url: url.into(),
            system_creds,
            name: "nauth-apply".into(),
            timeouts: Timeouts::default(),
        }
    }

    /// The servers of [`ClusterConfig::url`], trimmed, empty entries dropped.
    pub(crate) fn servers(&self) -> Vec<&str> {
        self.url
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .collect()
    }
}

/// Time limits. Every operation ends within a bounded time whatever the servers do.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Timeouts {
    /// Opening the TCP/TLS connection and the NATS handshake.
    pub connect: Duration,
    /// The window in which every server of the cluster must answer a request. Gathering ends as
    /// soon as all expected servers have answered, so this is only spent when one stays silent.
    pub reply: Duration,
}

impl Default for Timeouts {
    /// NAuth's 3 s per request, and async-nats' usual connect limit.
    fn default() -> Self {
        Timeouts {
            connect: Duration::from_secs(5),
            reply: Duration::from_secs(3),
        }
    }
}

/// A system user's creds file, checked on construction. `Debug` does not show it: it holds the
/// user's seed.
#[derive(Clone, PartialEq, Eq)]
pub struct SystemCreds(String);

impl SystemCreds {
    /// Checks that `creds` holds a user JWT and a user seed (without quoting either on error).
    pub fn new(creds: impl Into<String>) -> Result<Self, NatsError> {
        let creds = creds.into();
        parse_creds(&creds).map_err(|e| NatsError::Credentials(e.to_string()))?;
        Ok(SystemCreds(creds))
    }

    /// The user JWT and its key pair, for the NATS handshake.
    pub(crate) fn parts(&self) -> (String, nkeys::KeyPair) {
        parse_creds(&self.0).expect("checked in SystemCreds::new")
    }
}

impl fmt::Debug for SystemCreds {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SystemCreds(..)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use nauth_jwt::creds::format_user_creds;
    use nkeys::{KeyPair, KeyPairType};

    fn seed() -> String {
        KeyPair::new_from_raw(KeyPairType::User, [8; 32])
            .unwrap()
            .seed()
            .unwrap()
    }

    #[test]
    fn creds_never_show_their_seed() {
        let seed = seed();
        let creds = SystemCreds::new(format_user_creds("a.b.c", &seed)).unwrap();
        let config = ClusterConfig::new("nats://a:4222, nats://b:4222,", creds);
        let shown = format!("{config:?}");
        assert!(!shown.contains(&seed), "{shown}");
        assert!(shown.contains("SystemCreds(..)"), "{shown}");
        assert_eq!(config.servers(), ["nats://a:4222", "nats://b:4222"]);
    }

    #[test]
    fn broken_creds_are_refused_without_quoting_them() {
        let seed = seed();
        let account_seed = KeyPair::new_from_raw(KeyPairType::Account, [8; 32])
            .unwrap()
            .seed()
            .unwrap();
        for creds in [
            format!("just {seed}"),
            format_user_creds("a.b.c", &account_seed),
        ] {
            let err = SystemCreds::new(creds).unwrap_err();
            let text = err.to_string();
            assert!(matches!(err, NatsError::Credentials(_)), "{text}");
            assert!(
                !text.contains(&seed) && !text.contains(&account_seed),
                "{text}"
            );
        }
    }
}
