//! `nauth-render explain`: may a user publish, subscribe or make a request, and why.
//!
//! Exit codes differ from the other commands on purpose, so scripts can ask a yes/no question:
//! 0 allowed, 1 denied, 2 anything that prevents an answer (bad input, unknown user, ...).

use std::process::ExitCode;

use clap::{ArgGroup, Args as ClapArgs, ValueEnum};

use super::inputs::{InputArgs, without_lock};
use super::{Failure, fail};
use nauth_render::explain::{Action, Explanation, explain};
use nauth_render::keys::KeySources;
use nauth_render::render::Preview;

/// Options of `explain`.
#[derive(ClapArgs, Debug)]
#[command(group(ArgGroup::new("action").required(true).args(["publish", "subscribe", "request"])))]
pub struct Args {
    #[command(flatten)]
    input: InputArgs,
    /// The User to ask about.
    #[arg(long, value_name = "NAMESPACE/NAME")]
    user: String,
    /// May the user publish to SUBJECT (no wildcards)?
    #[arg(long = "pub", value_name = "SUBJECT")]
    publish: Option<String>,
    /// May the user subscribe to SUBJECT (wildcards allowed)?
    #[arg(long = "sub", value_name = "SUBJECT")]
    subscribe: Option<String>,
    /// May the user send requests to SUBJECT (publish it and receive replies on its inbox)?
    #[arg(long, value_name = "SUBJECT")]
    request: Option<String>,
    /// Queue group of the subscription (with --sub).
    #[arg(long, value_name = "GROUP")]
    queue: Option<String>,
    /// Output format.
    #[arg(short = 'o', long = "output", value_enum, default_value_t = Format::Text)]
    output: Format,
}

/// How the answer is printed.
#[derive(Clone, Copy, Debug, ValueEnum)]
enum Format {
    /// A verdict line and indented reasons.
    Text,
    /// The explanation as JSON (see the README for the shape).
    Json,
}

/// Runs `explain` and returns its exit code: 0 allowed, 1 denied, 2 no answer.
pub fn run(args: Args) -> ExitCode {
    match answer(&args) {
        Ok(explanation) => {
            let text = match args.output {
                Format::Text => explanation.to_text(),
                Format::Json => format!(
                    "{}\n",
                    serde_json::to_string_pretty(&explanation)
                        .expect("explanations serialize to JSON")
                ),
            };
            if let Err(failure) = super::stdout::print(&text) {
                return fail(failure, "");
            }
            if explanation.allowed {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(1)
            }
        }
        Err(NoAnswer::Question(message)) => {
            // The question quotes what was typed, which may be a key pasted in the wrong place.
            eprintln!("error: {}", nauth_render::diagnostic::redact(&message));
            ExitCode::from(2)
        }
        Err(NoAnswer::Input(failure)) => {
            fail(failure, "nothing was explained");
            ExitCode::from(2)
        }
    }
}

/// Why there is no verdict; either way the exit code is 2.
enum NoAnswer {
    /// The resources could not be read or rendered.
    Input(Failure),
    /// The question itself cannot be answered (bad option, unknown user, bad subject).
    Question(String),
}

fn answer(args: &Args) -> Result<Explanation, NoAnswer> {
    let (action, subject) = match (&args.publish, &args.subscribe, &args.request) {
        (Some(s), _, _) => (Action::Publish, s),
        (_, Some(s), _) => (
            Action::Subscribe {
                queue: args.queue.clone(),
            },
            s,
        ),
        (_, _, Some(s)) => (Action::Request, s),
        _ => unreachable!("clap requires one of --pub, --sub, --request"),
    };
    if args.queue.is_some() && args.subscribe.is_none() {
        return Err(NoAnswer::Question("--queue only goes with --sub".into()));
    }
    if !matches!(args.user.split_once('/'), Some((ns, name)) if !ns.is_empty() && !name.is_empty())
    {
        return Err(NoAnswer::Question(format!(
            "--user must be NAMESPACE/NAME, got {:?}",
            args.user
        )));
    }
    let claims = claims(&args.input).map_err(NoAnswer::Input)?;
    explain(&claims, &args.user, &action, subject).map_err(|e| NoAnswer::Question(e.to_string()))
}

/// The claims explain works on, built without signing: keys from the sources where they hold
/// them, else the lock's public keys, so a repository without keys can be asked too. Issue
/// times do not matter to permissions, so the epoch is fixed; nothing is written (not even the
/// lock).
fn claims(input: &InputArgs) -> Result<Preview, Failure> {
    let loaded = input.load()?;
    let keys = KeySources {
        secrets: &loaded.inputs.secrets,
        seed_root: loaded.seed_root.as_ref(),
    };
    let preview = nauth_render::render::preview_with_keys(
        &loaded.inputs,
        keys,
        &loaded.lock,
        0,
        &loaded.options,
    )
    .map_err(|errors| {
        let mut errors = match loaded.lock_exists {
            true => errors,
            false => without_lock(errors, &loaded.lock_path.display().to_string()),
        };
        errors.extend(loaded.warnings.iter().cloned());
        Failure::Invalid(errors)
    })?;
    for w in loaded.warnings.iter().chain(&preview.warnings) {
        eprintln!("{w}");
    }
    Ok(preview)
}
