//! Running the Argo CD plugin of `kustomize/argocd/plugin.yaml` as Argo CD's sidecar would.

use std::ffi::OsString;
use std::path::Path;
use std::process::{Command, Output};

use serde_json::Value;

/// `PATH` with the nauth-render binary under test first, as an image that installs it has.
pub fn path_with_nauth_render() -> OsString {
    let bin_dir = Path::new(env!("CARGO_BIN_EXE_nauth-render"))
        .parent()
        .unwrap();
    let mut dirs = vec![bin_dir.to_path_buf()];
    dirs.extend(std::env::split_paths(
        &std::env::var_os("PATH").unwrap_or_default(),
    ));
    std::env::join_paths(dirs).unwrap()
}

/// Runs the generate command of `plugin` (a ConfigManagementPlugin) in the application
/// directory `app`, with `env` and nauth-render on `PATH`.
pub fn generate(plugin: &Value, app: &Path, env: &[(String, String)]) -> Output {
    let strings = |v: &Value| -> Vec<String> {
        (v.as_array().expect("a list of strings").iter())
            .map(|s| s.as_str().expect("a string").to_string())
            .collect()
    };
    let generate = &plugin["spec"]["generate"];
    let command = strings(&generate["command"]);
    Command::new(&command[0])
        .args(&command[1..])
        .args(strings(&generate["args"]))
        .current_dir(app)
        .env_remove("SOURCE_DATE_EPOCH")
        .env_remove("NAUTH_SEED_ROOT")
        .env_remove("NAUTH_KEYS_DIR")
        .envs(env.iter().map(|(k, v)| (k, v)))
        .env("PATH", path_with_nauth_render())
        .output()
        .unwrap()
}
