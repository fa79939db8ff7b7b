use super::*;
use crate::diagnostic::Severity;

fn load(text: &str) -> (Inputs, Vec<Diagnostic>) {
    let mut inputs = Inputs::default();
    let problems = inputs.add_yaml("in.yaml", text, Contents::Everything);
    (inputs, problems)
}

#[test]
fn schema_defaults_fill_present_objects_as_the_api_server_does() {
    let (inputs, problems) = load(
        "apiVersion: nauth.io/v1alpha1\nkind: Account\nmetadata: {name: a}\n\
         spec:\n  jetStreamLimits: {streams: 5}\n",
    );
    assert!(problems.is_empty(), "{problems:?}");
    let account = &inputs.accounts[0];
    assert_eq!(account.key(), "default/a");
    let js = account.resource.spec.jet_stream_limits.as_ref().unwrap();
    assert_eq!(js.streams, Some(5));
    assert_eq!(js.mem_max_stream_bytes, Some(-1));
    assert_eq!(js.max_bytes_required, Some(false));
    assert!(account.resource.spec.account_limits.is_none());
}

#[test]
fn type_errors_name_file_object_and_field() {
    let (inputs, problems) = load(
        "apiVersion: nauth.io/v1alpha1\nkind: Account\nmetadata: {name: a, namespace: team}\n\
         spec:\n  exports:\n  - {subject: a.b, type: queue}\n",
    );
    assert!(inputs.accounts.is_empty());
    let p = &problems[0];
    assert_eq!(p.file.as_deref(), Some("in.yaml"));
    assert_eq!(p.object.as_deref(), Some("Account team/a"));
    assert_eq!(p.field.as_deref(), Some("spec.exports[0].type"));
    assert!(
        p.message.contains("unknown variant `queue`"),
        "{}",
        p.message
    );
}

#[test]
fn schema_rules_are_checked() {
    let (_, problems) = load(
        "apiVersion: nauth.io/v1alpha1\nkind: NatsCluster\nmetadata: {name: c}\nspec:\n  url: nats://x\n\
         \x20 urlFrom: {kind: Secret, name: s, key: url}\n\
         \x20 operatorSigningKeySecretRef: {name: op}\n\
         \x20 systemAccountUserCredsSecretRef: {name: sys}\n",
    );
    assert_eq!(problems.len(), 1, "{problems:?}");
    assert_eq!(problems[0].object.as_deref(), Some("NatsCluster default/c"));
    assert!(
        problems[0]
            .message
            .contains("exactly one of url or urlFrom"),
        "{}",
        problems[0]
    );
}

#[test]
fn other_kinds_are_ignored_with_a_warning_and_lists_are_flattened() {
    let (inputs, problems) = load(
        "apiVersion: v1\nkind: List\nitems:\n\
         - {apiVersion: v1, kind: ConfigMap, metadata: {name: cm}}\n\
         - {apiVersion: v1, kind: Secret, metadata: {name: s}, stringData: {default: x}}\n",
    );
    assert_eq!(inputs.secrets.len(), 1);
    assert_eq!(problems.len(), 1);
    assert_eq!(problems[0].severity, Severity::Warning);
    assert_eq!(
        problems[0].to_string(),
        "warning: in.yaml: ConfigMap default/cm: ignored: v1 ConfigMap is not an input of nauth-render"
    );
}

#[test]
fn secret_errors_never_quote_the_secret() {
    let (_, problems) = load(
        "apiVersion: v1\nkind: Secret\nmetadata: {name: s}\n\
         stringData: [SAAPQGHCXP3M5THZ4JIJ2X6DJPXIBDX4DHVEI2ODY37NKI7R7YTIHNSTW4]\n",
    );
    let text = problems[0].to_string();
    assert_eq!(
        text,
        "in.yaml: Secret default/s: stringData: not a valid Secret"
    );
}

#[test]
fn a_secret_string_data_value_that_is_no_string_says_so_without_quoting_it() {
    for value in ["12345", "true", "{a: 1}"] {
        let (_, problems) = load(&format!(
            "apiVersion: v1\nkind: Secret\nmetadata: {{name: s}}\nstringData: {{default: {value}}}\n"
        ));
        assert_eq!(
            problems[0].to_string(),
            "in.yaml: Secret default/s: stringData.default: must be a string: quote a value YAML \
             would read as a number or boolean"
        );
    }
}

#[test]
fn a_secret_data_value_says_it_is_not_base64_without_quoting_it() {
    let message = |value: &str| {
        let (_, problems) = load(&format!(
            "apiVersion: v1\nkind: Secret\nmetadata: {{name: s}}\ndata: {{user.creds: {value}}}\n"
        ));
        problems[0].to_string()
    };
    assert_eq!(
        message("SAAPQGHCXP3M5THZ4JIJ2X6DJPXIBDX4DHVEI2ODY37NKI7R7YTIHNSTW4"),
        "in.yaml: Secret default/s: data.user.creds: not valid base64: values under data are \
         base64-encoded (put plain text under stringData)"
    );
    assert_eq!(
        message("[SAAPQGHCXP3M5THZ4JIJ2X6DJPXIBDX4DHVEI2ODY37NKI7R7YTIHNSTW4]"),
        "in.yaml: Secret default/s: data.user.creds: must be a base64-encoded string"
    );
}

#[test]
fn broken_yaml_and_missing_names_are_errors() {
    let (_, problems) = load("a: [1, 2\n");
    assert!(
        problems[0].message.starts_with("not valid YAML"),
        "{}",
        problems[0]
    );
    let (_, problems) = load("apiVersion: nauth.io/v1alpha1\nkind: User\nmetadata: {}\n");
    assert_eq!(
        problems[0].to_string(),
        "in.yaml: User : metadata.name is required"
    );
}

#[test]
fn duplicates_are_reported() {
    let doc = "apiVersion: nauth.io/v1alpha1\nkind: Account\nmetadata: {name: a}\n";
    let mut inputs = Inputs::default();
    for file in ["a.yaml", "b.yaml", "c.yaml"] {
        assert_eq!(inputs.add_yaml(file, doc, Contents::Everything), []);
    }
    let dups: Vec<String> = inputs.duplicates().iter().map(|d| d.to_string()).collect();
    assert_eq!(
        dups,
        [
            "b.yaml: Account default/a: defined more than once in the input: also in a.yaml",
            "c.yaml: Account default/a: defined more than once in the input: also in a.yaml",
        ]
    );
}

#[test]
fn has_key_matches_exactly_the_namespace_slash_name_key() {
    let (inputs, _) = load(
        "apiVersion: nauth.io/v1alpha1\nkind: Account\nmetadata: {name: a, namespace: team}\n---\n\
         apiVersion: nauth.io/v1alpha1\nkind: Account\nmetadata: {name: b}\n",
    );
    let [team_a, default_b] = inputs.accounts.as_slice() else {
        panic!("two accounts expected");
    };
    for (o, key) in [(team_a, "team/a"), (default_b, "default/b")] {
        assert_eq!(o.key(), key);
        assert!(o.has_key(key));
    }
    for other in ["team/ab", "team/", "teama", "tea/m/a", "team/a/", "/a", ""] {
        assert!(!team_a.has_key(other), "{other}");
    }
}

#[test]
fn one_file_may_hold_thousands_of_objects() {
    let text: String = (0..5000)
        .map(|i| {
            format!(
                "---\napiVersion: nauth.io/v1alpha1\nkind: User\nmetadata: {{name: u{i}, namespace: t}}\n\
                 spec: {{accountName: a, permissions: {{pub: {{allow: [a.b, c.d]}}}}}}\n"
            )
        })
        .collect();
    let (inputs, problems) = load(&text);
    assert_eq!(problems, []);
    assert_eq!(inputs.users.len(), 5000);
}

#[test]
fn unknown_fields_are_warned_about_because_the_api_server_would_drop_them() {
    let (inputs, problems) = load(
        "apiVersion: nauth.io/v1alpha1\nkind: User\nmetadata: {name: u, namespace: t}\n\
         spec: {accountName: a, userLimits: {subs: 5}, permisions: {pub: {allow: [x]}}}\n",
    );
    let shown: Vec<_> = problems.iter().map(ToString::to_string).collect();
    assert_eq!(
        shown,
        [
            "warning: in.yaml: User t/u: spec.permisions: unknown field; the API server drops it, \
             so it has no effect",
            "warning: in.yaml: User t/u: spec.userLimits.subs: unknown field; the API server \
             drops it, so it has no effect",
        ]
    );
    assert_eq!(inputs.users.len(), 1, "the object is still read");
}

#[test]
fn other_versions_and_unknown_kinds_of_the_nauth_group_are_errors() {
    let (inputs, problems) = load(
        "apiVersion: nauth.io/v1beta1\nkind: User\nmetadata: {name: u, namespace: shop}\n---\n\
         apiVersion: nauth.io/v1alpha1\nkind: Usr\nmetadata: {name: v, namespace: shop}\n---\n\
         apiVersion: example.com/v1\nkind: Usr\nmetadata: {name: w, namespace: shop}\n",
    );
    assert!(inputs.users.is_empty());
    let shown: Vec<String> = problems.iter().map(ToString::to_string).collect();
    assert_eq!(
        shown,
        [
            "in.yaml: User shop/u: apiVersion: nauth.io/v1beta1 is not served: the nauth.io kinds are \
             nauth.io/v1alpha1",
            "in.yaml: Usr shop/v: kind: nauth.io/v1alpha1 has no kind \"Usr\"; its kinds are Account, \
             AccountExport, AccountImport, AccountSigningKey, NatsCluster, User",
            "warning: in.yaml: Usr shop/w: ignored: example.com/v1 Usr is not an input of nauth-render",
        ]
    );
    // In --keys files only Secrets count; anything else is ignored whatever its group.
    let mut keys = Inputs::default();
    let problems = keys.add_yaml(
        "keys.yaml",
        "apiVersion: nauth.io/v1beta1\nkind: User\nmetadata: {name: u}\n",
        Contents::SecretsOnly,
    );
    assert_eq!(problems[0].severity, Severity::Warning);
}

#[test]
fn names_the_api_server_would_refuse_are_errors_naming_the_field() {
    let long = "u".repeat(238);
    let (inputs, problems) = load(&format!(
        "apiVersion: nauth.io/v1alpha1\nkind: User\nmetadata: {{name: Invoicer, namespace: shop}}\n\
         spec: {{accountName: a}}\n---\n\
         apiVersion: nauth.io/v1alpha1\nkind: User\nmetadata: {{name: ok, namespace: Shop}}\n\
         spec: {{accountName: a}}\n---\n\
         apiVersion: nauth.io/v1alpha1\nkind: User\nmetadata: {{name: {long}, namespace: shop}}\n\
         spec: {{accountName: a}}\n"
    ));
    assert!(inputs.users.is_empty());
    let located: Vec<_> = problems
        .iter()
        .map(|p| {
            (
                p.object.clone().unwrap(),
                p.field.clone().unwrap(),
                p.is_error(),
            )
        })
        .collect();
    assert_eq!(
        located,
        [
            ("User shop/Invoicer".into(), "metadata.name".into(), true),
            ("User Shop/ok".into(), "metadata.namespace".into(), true),
            (format!("User shop/{long}"), "metadata.name".into(), true),
        ]
    );
    assert!(
        problems[2].message.contains("creds Secret name"),
        "{}",
        problems[2]
    );
}

const ENCRYPTED_SECRET: &str = "apiVersion: v1\nkind: Secret\nmetadata: {name: op, namespace: nats}\n\
     data: {default: 'ENC[AES256_GCM,data:AAAA,iv:BBBB,tag:CCCC,type:str]'}\n\
     sops: {mac: 'ENC[AES256_GCM,data:DDDD,type:str]', version: 3.9.0}\n";

#[test]
fn encrypted_secrets_are_left_out_with_one_warning_aside() {
    let (inputs, problems) = load(&format!("{ENCRYPTED_SECRET}---\n{ENCRYPTED_SECRET}"));
    assert!(problems.is_empty(), "{problems:?}");
    assert!(inputs.secrets.is_empty());
    assert_eq!(inputs.encrypted.len(), 1, "{:?}", inputs.encrypted);
    assert_eq!(
        inputs.encrypted[0].to_string(),
        "warning: in.yaml: ignored: encrypted with SOPS, so keys in it are not used; pass the \
         output of `sops -d` with --keys"
    );
}

#[test]
fn other_encrypted_documents_are_one_error_naming_the_file() {
    let whole = "apiVersion: 'ENC[AES256_GCM,data:EEEE,type:str]'\n\
                 kind: 'ENC[AES256_GCM,data:FFFF,type:str]'\n\
                 sops: {mac: 'ENC[AES256_GCM,data:GGGG,type:str]'}\n";
    let user = "apiVersion: nauth.io/v1alpha1\nkind: User\nmetadata: {name: u}\n\
                spec: {accountName: 'ENC[AES256_GCM,data:HHHH,type:str]'}\n\
                sops: {mac: 'ENC[AES256_GCM,data:GGGG,type:str]'}\n";
    for text in [format!("{whole}---\n{whole}"), user.to_string()] {
        let (inputs, problems) = load(&text);
        assert!(inputs.encrypted.is_empty());
        assert_eq!(problems.len(), 1, "{problems:?}");
        let p = &problems[0];
        assert!(p.is_error());
        assert_eq!(p.file.as_deref(), Some("in.yaml"));
        assert!(
            p.message
                .contains("--encrypted-regex '^(data|stringData)$'")
                && p.message.contains("sops -d"),
            "{p}"
        );
    }
}

#[test]
fn files_that_are_not_kubernetes_objects_are_ignored_with_a_warning() {
    for text in [
        "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources: [a.yaml]\n",
        "replicaCount: 1\n",
        "{\"name\": \"pkg\", \"version\": \"1.0.0\"}\n",
        "apiVersion: v1\nkind: List\nitems:\n- apiVersion: v1\n  kind: List\n  items: []\n",
        "- a\n- b\n",
    ] {
        let (_, problems) = load(text);
        assert_eq!(problems.len(), 1, "{text}: {problems:?}");
        assert_eq!(
            problems[0].severity,
            Severity::Warning,
            "{text}: {}",
            problems[0]
        );
        assert!(
            problems[0].message.starts_with("ignored: "),
            "{}",
            problems[0]
        );
    }
}

#[test]
fn the_krm_function_config_is_ignored_silently_and_other_unknown_kinds_of_the_group_are_errors() {
    let config = "apiVersion: nauth.io/v1alpha1\nkind: RenderFunction\n\
                  metadata: {name: nauth-render}\n";
    let (_, problems) = load(config);
    assert!(problems.is_empty(), "{problems:?}");
    let (_, problems) =
        load("apiVersion: nauth.io/v1alpha1\nkind: Usr\nmetadata: {name: u}\nspec: {}\n");
    assert!(problems[0].is_error(), "{problems:?}");
}

#[test]
fn type_errors_inside_a_users_permissions_name_the_full_field() {
    let (_, problems) = load(
        "apiVersion: nauth.io/v1alpha1\nkind: User\nmetadata: {name: u, namespace: t}\n\
         spec: {accountName: a, permissions: {resp: {max: many}}}\n",
    );
    assert_eq!(problems.len(), 1, "{problems:?}");
    assert_eq!(
        problems[0].field.as_deref(),
        Some("spec.permissions.resp.max")
    );
    assert!(problems[0].message.contains("\"many\""), "{}", problems[0]);
}
