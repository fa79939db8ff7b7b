//! `nauth-render inspect`: decode and verify JWTs, creds files, Secrets and ConfigMaps.

use std::fs;
use std::io::Read;
use std::path::{Path, PathBuf};

use clap::{Args as ClapArgs, ValueEnum};

use super::Failure;
use super::inputs::io;
use nauth_render::inspect::{self, Found, Trust};

/// Options of `inspect`.
#[derive(ClapArgs, Debug)]
pub struct Args {
    /// JWT, creds file, seed, or YAML with Secrets/ConfigMaps; `-` for standard input. Tokens
    /// in the same input vouch for each other (an account JWT next to its users).
    #[arg(value_name = "FILE", required = true)]
    files: Vec<PathBuf>,
    /// Operator JWT to trust: account JWTs must be signed by it or one of its signing keys.
    #[arg(long, value_name = "FILE")]
    operator: Option<PathBuf>,
    /// Account JWT (or its ConfigMap) to trust: user JWTs must be issued by it.
    #[arg(long, value_name = "FILE")]
    account: Option<PathBuf>,
    /// Output format.
    #[arg(short, long, value_enum, default_value = "yaml")]
    output: Format,
}

/// How the report is printed.
#[derive(Clone, Copy, Debug, ValueEnum)]
enum Format {
    /// One YAML document per item.
    Yaml,
    /// A JSON array of items.
    Json,
}

/// Runs `inspect`: the report goes to stdout, problems to stderr, exit 1 if there are any.
pub fn run(args: Args) -> Result<(), Failure> {
    let load = |path: &Path| -> Result<Vec<Found>, Failure> {
        let name = path.display().to_string();
        inspect::read(&name, &read_text(path)?)
            .map_err(|e| Failure::Changed(format!("error: {name}: {e}")))
    };
    let trust_operator = args.operator.as_deref().map(load).transpose()?;
    let trust_account = args.account.as_deref().map(load).transpose()?;
    let trust = Trust::new(trust_operator, trust_account)
        .map_err(|e| Failure::Changed(format!("error: trusted keys: {e}")))?;
    let mut found = Vec::new();
    for path in &args.files {
        found.extend(load(path)?);
    }
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_err(|e| Failure::Io(format!("system clock: {e}")))?
        .as_secs() as i64;
    let items = inspect::inspect(&found, &trust, now);
    match args.output {
        Format::Yaml => {
            let mut yaml = String::new();
            for item in &items {
                yaml.push_str("---\n");
                yaml.push_str(
                    &serde_saphyr::to_string(item)
                        .map_err(|e| Failure::Io(format!("YAML output: {e}")))?,
                );
            }
            super::stdout::print(&yaml)?;
        }
        Format::Json => {
            let json = serde_json::to_string_pretty(&items)
                .map_err(|e| Failure::Io(format!("JSON output: {e}")))?;
            super::stdout::print(&format!("{json}\n"))?;
        }
    }
    let problems: Vec<String> = items
        .iter()
        .flat_map(|i| {
            i.problems
                .iter()
                .map(move |p| format!("error: {}: {p}", i.source))
        })
        .collect();
    if problems.is_empty() {
        Ok(())
    } else {
        Err(Failure::Changed(problems.join("\n")))
    }
}

fn read_text(path: &Path) -> Result<String, Failure> {
    if path.as_os_str() == "-" {
        let mut text = String::new();
        std::io::stdin()
            .read_to_string(&mut text)
            .map_err(|e| io(path, e))?;
        return Ok(text);
    }
    fs::read_to_string(path).map_err(|e| io(path, e))
}
