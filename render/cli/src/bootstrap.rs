//! `nauth-render bootstrap`: write a new (or nsc-imported) trust root for a cluster.

use std::fs;
use std::path::PathBuf;

use clap::Args as ClapArgs;

use super::Failure;
use super::inputs::io;
use super::keygen::write_secret;
use nauth_render::api::{is_dns_label, is_dns_subdomain};
use nauth_render::bootstrap::{self, NewKeys, Settings};
use nauth_render::diagnostic::{Code, Diagnostic};

/// Options of `bootstrap`.
#[derive(ClapArgs, Debug)]
pub struct Args {
    /// Directory to write into; existing files are never overwritten.
    #[arg(long, value_name = "DIR")]
    out: PathBuf,
    /// Namespace of the Secrets and the NatsCluster.
    #[arg(long, default_value = "nats")]
    namespace: String,
    /// Name of the NatsCluster.
    #[arg(long, value_name = "NAME", default_value = "nats")]
    cluster_name: String,
    /// NATS URL of the NatsCluster [default: nats://nats.<namespace>.svc:4222].
    #[arg(long)]
    url: Option<String>,
    /// The resolver's JWT directory in nats-server.conf.
    #[arg(long, value_name = "DIR", default_value = "./jwt")]
    resolver_dir: String,
    /// Name of a new operator.
    #[arg(
        long,
        value_name = "NAME",
        default_value = "nauth",
        conflicts_with = "from_nsc"
    )]
    operator_name: String,
    /// Import the operator, its signing key, system account and a system user from this nsc
    /// directory (the one holding `stores/` and `keys/`) instead of creating new ones, and its
    /// other accounts and users as Accounts, Users and their key and creds Secrets.
    #[arg(long, value_name = "DIR")]
    from_nsc: Option<PathBuf>,
    /// The operator to import when the nsc store holds several.
    #[arg(long, value_name = "NAME", requires = "from_nsc")]
    nsc_operator: Option<String>,
}

/// Runs `bootstrap`. Seeds go only into files (mode 0600); stdout lists files and public keys.
pub fn run(args: Args) -> Result<(), Failure> {
    let problems = args.problems();
    if !problems.is_empty() {
        return Err(Failure::Invalid(problems));
    }
    let identity = match &args.from_nsc {
        Some(dir) => bootstrap::nsc::import(dir, args.nsc_operator.as_deref(), &args.cluster_name)
            .map_err(|e| Failure::Changed(format!("error: --from-nsc: {e}")))?,
        None => {
            let keys = NewKeys::random();
            let iat = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_err(|e| Failure::Io(format!("system clock: {e}")))?
                .as_secs() as i64;
            bootstrap::create(&keys, &args.operator_name, iat)
                .map_err(|e| Failure::Io(format!("signing the new JWTs: {e}")))?
        }
    };
    let settings = Settings {
        url: args
            .url
            .clone()
            .unwrap_or_else(|| format!("nats://nats.{}.svc:4222", args.namespace)),
        namespace: args.namespace,
        cluster_name: args.cluster_name,
        resolver_dir: args.resolver_dir,
    };
    let files = bootstrap::files(&identity, &settings)
        .map_err(|e| Failure::Changed(format!("error: --resolver-dir: {e}")))?;
    let existing: Vec<String> = files
        .iter()
        .map(|f| args.out.join(&f.path))
        .filter(|p| p.exists())
        .map(|p| p.display().to_string())
        .collect();
    if !existing.is_empty() {
        return Err(Failure::Io(format!(
            "refusing to overwrite {}",
            existing.join(", ")
        )));
    }
    let keys_dir = args.out.join("keys");
    fs::create_dir_all(&keys_dir).map_err(|e| io(&keys_dir, e))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        fs::set_permissions(&keys_dir, fs::Permissions::from_mode(0o700))
            .map_err(|e| io(&keys_dir, e))?;
    }
    let mut written = String::new();
    for file in &files {
        let path = args.out.join(&file.path);
        if file.secret {
            write_secret(&path, file.contents.as_bytes())?;
        } else {
            fs::write(&path, &file.contents).map_err(|e| io(&path, e))?;
        }
        written.push_str(&format!(
            "wrote {}{}\n",
            path.display(),
            if file.secret { " (mode 0600)" } else { "" }
        ));
    }
    for a in &identity.accounts {
        written.push_str(&format!(
            "account {}: {} ({} users)\n",
            a.name,
            a.id,
            a.users.len()
        ));
    }
    super::stdout::print(&format!(
        "{written}operator:       {}\nsystem account: {}\n",
        identity.operator.data.sub, identity.operator.nats.system_account
    ))?;
    for note in &identity.skipped {
        eprintln!("not imported: {note}");
    }
    eprintln!(
        "move {} offline: the cluster needs only the Secrets and nats-server.conf",
        keys_dir.display()
    );
    Ok(())
}

impl Args {
    /// Names the API server (or NATS) would refuse, each naming its option and the rule.
    fn problems(&self) -> Vec<Diagnostic> {
        let mut problems = Vec::new();
        let mut refuse = |option: &str, value: &str, rule: &str| {
            let d = Diagnostic::error(format!("--{option} {value:?}: {rule}"));
            problems.push(d.with_code(Code::InvalidArgument));
        };
        if !(is_dns_label(&self.namespace) && self.namespace.len() <= 63) {
            refuse(
                "namespace",
                &self.namespace,
                "a namespace is a DNS label: at most 63 lowercase letters, digits and '-', \
                 starting and ending with a letter or digit",
            );
        }
        if !is_dns_subdomain(&self.cluster_name) {
            refuse(
                "cluster-name",
                &self.cluster_name,
                "an object name is a DNS subdomain: at most 253 lowercase letters, digits, '-' \
                 and '.', each dot-separated part starting and ending with a letter or digit",
            );
        }
        let names = [
            ("operator-name", Some(&self.operator_name)),
            ("nsc-operator", self.nsc_operator.as_ref()),
        ];
        for (option, name) in names {
            if let Some(name) = name.filter(|n| n.trim().is_empty()) {
                refuse(option, name, "must not be empty");
            }
        }
        problems
    }
}
