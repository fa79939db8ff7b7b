//! The nats-server configuration for operator mode with the full NATS resolver.

/// Where the resolver keeps account JWTs and how it behaves; see the module's text.
pub struct ServerConfig<'a> {
    /// The operator JWT, inlined (nats-server accepts a JWT in place of a file name).
    pub operator_jwt: &'a str,
    /// The system account's public key.
    pub system_account: &'a str,
    /// The system account's JWT, preloaded so the resolver works before any push.
    pub system_account_jwt: &'a str,
    /// The resolver's JWT directory.
    pub resolver_dir: &'a str,
}

impl ServerConfig<'_> {
    /// The configuration text. `allow_delete` lets `$SYS.REQ.CLAIMS.DELETE` remove accounts;
    /// `interval` and `timeout` are nsc's values. A resolver dir with a quote, backslash or line
    /// break is refused rather than escaped.
    pub fn render(&self) -> Result<String, String> {
        if self.resolver_dir.contains(['"', '\\', '\n', '\r']) || self.resolver_dir.is_empty() {
            return Err(format!(
                "resolver dir {:?} must be non-empty and contain no quote, backslash or line break",
                self.resolver_dir
            ));
        }
        Ok(format!(
            "# nats-server configuration written by `nauth-render bootstrap`: operator mode with \
             the full\n\
             # NATS resolver. Changing `operator` needs a restart of every server (no hot reload).\n\
             operator: \"{op}\"\n\
             system_account: \"{sys}\"\n\
             resolver {{\n  type: full\n  dir: \"{dir}\"\n  allow_delete: true\n  \
             interval: \"2m\"\n  timeout: \"1.9s\"\n}}\n\
             resolver_preload {{\n  \"{sys}\": \"{sys_jwt}\"\n}}\n",
            op = self.operator_jwt,
            sys = self.system_account,
            dir = self.resolver_dir,
            sys_jwt = self.system_account_jwt,
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn full_resolver_with_preloaded_system_account() {
        let text = ServerConfig {
            operator_jwt: "eyJo.p.s",
            system_account: "ASYS",
            system_account_jwt: "eyJa.p.s",
            resolver_dir: "./jwt",
        }
        .render()
        .unwrap();
        assert!(text.contains("operator: \"eyJo.p.s\"\nsystem_account: \"ASYS\"\n"));
        assert!(text.contains(
            "resolver {\n  type: full\n  dir: \"./jwt\"\n  allow_delete: true\n  interval: \"2m\"\n  timeout: \"1.9s\"\n}\n"
        ));
        assert!(text.ends_with("resolver_preload {\n  \"ASYS\": \"eyJa.p.s\"\n}\n"));
    }

    #[test]
    fn refuses_dirs_it_would_have_to_escape() {
        let config = ServerConfig {
            operator_jwt: "o",
            system_account: "A",
            system_account_jwt: "a",
            resolver_dir: "a\"b",
        };
        assert!(config.render().unwrap_err().contains("no quote"));
    }
}
