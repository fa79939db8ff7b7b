//! `nauth-render krm`: a kustomize KRM function (exec generator). Reads a `ResourceList` on
//! stdin, renders its items like `render --locked` renders files, and writes the list back with
//! the rendered ConfigMaps and Secrets appended; problems become `results`. The lock is read,
//! never written: a render at build time must not depend on the clock, so a stale lock is an
//! error, as with `--locked`.

use std::io::Read;

use clap::Args as ClapArgs;
use serde_json::{Value, json};

use super::Failure;
use super::inputs::{AllowEmpty, InputArgs, utf8};
use nauth_render::diagnostic::{Code, Diagnostic, Severity};
use nauth_render::input::{Contents, DEFAULT_NAMESPACE};
use nauth_render::keys::KeySources;
use nauth_render::output;

/// Options of `krm`: those of `render` without PATH, since the items come from the
/// `ResourceList`. A PATH given anyway is refused (it would otherwise be silently ignored).
#[derive(ClapArgs, Debug)]
#[command(mut_arg("paths", |a| a
    .default_value(None::<&str>)
    .hide(true)
    .value_parser(|_: &str| Err::<std::path::PathBuf, _>(
        "krm takes no PATH: kustomize passes the resources on standard input, as a \
         ResourceList (use `nauth-render render PATH` for files)"
    ))))]
pub struct Args {
    #[command(flatten)]
    input: InputArgs,
    #[command(flatten)]
    allow_empty: AllowEmpty,
}

const PATH_ANNOTATIONS: [&str; 2] = [
    "internal.config.kubernetes.io/path",
    "config.kubernetes.io/path",
];

/// Runs `krm`: always writes a `ResourceList`; exits 1 when it carries errors, which it also
/// prints on stderr, since kustomize shows a failed function's stderr but not its results.
pub fn run(args: Args) -> Result<(), Failure> {
    let mut bytes = Vec::new();
    std::io::stdin()
        .read_to_end(&mut bytes)
        .map_err(|e| Failure::Io(format!("standard input: {e}")))?;
    let text = utf8("-", bytes)?;
    let (list, errors) = process(&args, &text)?;
    super::stdout::print(&serde_saphyr::to_string(&list).map_err(|e| Failure::Io(e.to_string()))?)?;
    if errors.is_empty() {
        return Ok(());
    }
    // Diagnostics name file, object, field and rule, never input text that can hold a key.
    let shown: String = errors.iter().map(|d| format!("{d}\n")).collect();
    Err(Failure::Changed(format!(
        "{shown}error: {} problem(s); the ResourceList's results name them too",
        errors.len()
    )))
}

/// The output `ResourceList` for an input, and the errors among its results.
fn process(args: &Args, text: &str) -> Result<(Value, Vec<Diagnostic>), Failure> {
    // Never with a snippet: items can be Secrets, and the text around an error their keys.
    let options = serde_saphyr::options! { with_snippet: false };
    let mut list: Value = serde_saphyr::from_str_with_options(text, options).map_err(|e| {
        Failure::Invalid(vec![
            Diagnostic::error(format!(
                "not a ResourceList: {}",
                nauth_render::input::yaml_error::message(&e)
            ))
            .in_file("-")
            .with_code(Code::InvalidYaml),
        ])
    })?;
    if list.get("kind").and_then(Value::as_str) != Some("ResourceList") {
        return Err(Failure::Invalid(vec![
            Diagnostic::error("expected kind ResourceList on standard input").in_file("-"),
        ]));
    }
    let items: Vec<Value> = list
        .get("items")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    let mut loaded = args.input.read()?;
    let mut problems = loaded.warnings.clone();
    for item in &items {
        let file = PATH_ANNOTATIONS
            .iter()
            .find_map(|a| item.pointer(&format!("/metadata/annotations/{}", a.replace('/', "~1"))))
            .and_then(Value::as_str)
            .unwrap_or("-")
            .to_string();
        problems.extend(
            loaded
                .inputs
                .add_document(&file, item.clone(), Contents::Everything)
                .into_iter()
                .filter(|d| d.is_error()),
        );
    }
    if !problems.iter().any(Diagnostic::is_error) {
        let before = loaded.warnings.len();
        match loaded.use_nats_url_stand_in() {
            Ok(()) => problems.extend(loaded.warnings[before..].iter().cloned()),
            Err(errors) => problems.extend(errors),
        }
    }
    problems.extend(loaded.inputs.encrypted.iter().cloned());
    if !problems.iter().any(Diagnostic::is_error) {
        problems.extend(args.allow_empty.check(&loaded).err());
    }
    let mut out_items = items.clone();
    if !problems.iter().any(Diagnostic::is_error) {
        // A changed lock is an error here, so the epoch never reaches the output.
        let epoch = 0;
        let keys = KeySources {
            secrets: &loaded.inputs.secrets,
            seed_root: loaded.seed_root.as_ref(),
        };
        match nauth_render::render::render(
            &loaded.inputs,
            keys,
            &loaded.lock,
            epoch,
            &loaded.options,
        ) {
            Err(errors) => problems.extend(errors),
            Ok(rendered) if rendered.lock != loaded.lock => {
                problems.extend(rendered.warnings);
                problems.push(
                    Diagnostic::error(format!(
                        "{} is out of date: krm never changes the lock (it renders as `render \
                     --locked`): run `nauth-render render` and commit the lock first",
                        loaded.lock_path.display()
                    ))
                    .with_code(Code::InvalidLock),
                );
            }
            Ok(rendered) => {
                problems.extend(rendered.warnings.iter().cloned());
                for m in output::manifests(&rendered) {
                    let object: Value =
                        serde_saphyr::from_str(&m.yaml).map_err(|e| Failure::Io(e.to_string()))?;
                    out_items.push(object);
                }
            }
        }
    }
    list["items"] = Value::Array(out_items);
    list["results"] = Value::Array(problems.iter().map(|d| result(d, &items)).collect());
    let errors = problems.into_iter().filter(Diagnostic::is_error).collect();
    Ok((list, errors))
}

/// A KRM function result for a diagnostic; `items` (the input's) tell the apiVersion of the
/// object it names.
fn result(d: &Diagnostic, items: &[Value]) -> Value {
    let mut r = json!({
        "message": d.message,
        "severity": match d.severity { Severity::Error => "error", Severity::Warning => "warning" },
        "tags": { "code": d.code.as_str() },
    });
    if let Some((kind, key)) = d.object.as_deref().and_then(|o| o.split_once(' ')) {
        let (namespace, name) = key.split_once('/').unwrap_or(("", key));
        r["resourceRef"] = json!({
            "apiVersion": api_version(items, kind, namespace, name),
            "kind": kind,
            "name": name,
        });
        if !namespace.is_empty() {
            r["resourceRef"]["namespace"] = json!(namespace);
        }
    }
    if let Some(field) = &d.field {
        r["field"] = json!({ "path": field });
    }
    if let Some(file) = d.file.as_deref().filter(|f| *f != "-") {
        r["file"] = json!({ "path": file });
    }
    r
}

/// The apiVersion of the item `kind namespace/name` (a missing namespace is `default`, as
/// everywhere in nauth-render); objects not among the items are Secrets from `--keys` or
/// NAuth's own kinds.
fn api_version<'a>(items: &'a [Value], kind: &str, namespace: &str, name: &str) -> &'a str {
    let named = |item: &&Value| {
        item["kind"] == kind
            && item["metadata"]["name"] == name
            && (item["metadata"]["namespace"].as_str())
                .filter(|n| !n.is_empty())
                .unwrap_or(DEFAULT_NAMESPACE)
                == namespace
    };
    match items
        .iter()
        .find(named)
        .and_then(|i| i["apiVersion"].as_str())
    {
        Some(api_version) => api_version,
        None if kind == "Secret" => "v1",
        None => nauth_render::api::API_VERSION,
    }
}
