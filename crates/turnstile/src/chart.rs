//! `turnstile chart`: the generated parts of the Helm chart (`charts/turnstile`), so that the chart
//! can never drift from the code:
//!
//! - `templates/rbac.yaml`: ClusterRole, ClusterRoleBinding, Role and RoleBinding from [`crate::rbac::RULES`];
//! - `templates/webhooks.yaml`: the Mutating/ValidatingWebhookConfigurations from
//!   `turnstile_webhook::registration`, exactly what `turnstile webhook-configurations` prints, with
//!   names, namespace and port as Helm expressions and the Job webhooks' selectors following the
//!   Configuration in the chart's values (`managedJobsNamespaceSelector`);
//! - `crds/*`: a copy of the repository's `crds/` directory.
//!
//! The YAML is built as data with placeholder strings and serialised; the placeholders are then
//! replaced by the Helm expressions (a whole line for structural ones, a token for names).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail, ensure};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector;
use serde_yaml::{Mapping, Value};
use turnstile_webhook::registration::{Options, Target, mutating, validating};

use crate::rbac::{Scope, policy_rules};

/// The generated files of the chart, relative to the chart's directory, in a stable order.
pub fn generate(crds_dir: &Path) -> Result<Vec<(PathBuf, String)>> {
    let mut files = vec![
        (PathBuf::from("templates/rbac.yaml"), rbac_yaml()?),
        (PathBuf::from("templates/webhooks.yaml"), webhooks_yaml()?),
    ];
    let mut crds = Vec::new();
    for entry in
        std::fs::read_dir(crds_dir).with_context(|| format!("reading {}", crds_dir.display()))?
    {
        let entry = entry?;
        if entry.file_type()?.is_file() {
            crds.push(entry.path());
        }
    }
    crds.sort();
    ensure!(!crds.is_empty(), "no CRD files in {}", crds_dir.display());
    for path in crds {
        let content = std::fs::read_to_string(&path)
            .with_context(|| format!("reading {}", path.display()))?;
        files.push((
            Path::new("crds").join(path.file_name().unwrap_or_default()),
            content,
        ));
    }
    Ok(files)
}

/// Writes the generated files into the chart (removing CRD files that are not generated any more).
pub fn write(chart: &Path, files: &[(PathBuf, String)]) -> Result<()> {
    for (rel, content) in files {
        let path = chart.join(rel);
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
        }
        std::fs::write(&path, content).with_context(|| format!("writing {}", path.display()))?;
    }
    for stale in stale_crds(chart, files)? {
        std::fs::remove_file(&stale).with_context(|| format!("removing {}", stale.display()))?;
    }
    Ok(())
}

/// Fails, naming every file, when the chart's generated files differ from `files`.
pub fn check(chart: &Path, files: &[(PathBuf, String)]) -> Result<()> {
    let mut drift = Vec::new();
    for (rel, content) in files {
        let path = chart.join(rel);
        match std::fs::read_to_string(&path) {
            Ok(existing) if existing == *content => {}
            Ok(_) => drift.push(format!("{} differs", path.display())),
            Err(e) => drift.push(format!("{}: {e}", path.display())),
        }
    }
    for stale in stale_crds(chart, files)? {
        drift.push(format!("{} is not generated any more", stale.display()));
    }
    if !drift.is_empty() {
        bail!(
            "the chart drifted from the code (run `turnstile chart --out {}`):\n  {}",
            chart.display(),
            drift.join("\n  ")
        );
    }
    Ok(())
}

/// Files in the chart's `crds/` that are not among the generated ones.
fn stale_crds(chart: &Path, files: &[(PathBuf, String)]) -> Result<Vec<PathBuf>> {
    let dir = chart.join("crds");
    let mut stale = Vec::new();
    let entries = match std::fs::read_dir(&dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(stale),
        Err(e) => return Err(e).with_context(|| format!("reading {}", dir.display())),
    };
    for entry in entries {
        let entry = entry?;
        let rel = Path::new("crds").join(entry.file_name());
        if !files.iter().any(|(p, _)| *p == rel) {
            stale.push(entry.path());
        }
    }
    stale.sort();
    Ok(stale)
}

// ------------------------------------------------------------------------------------------------
// Placeholders and their Helm expressions.

const FULLNAME: &str = "__turnstile_fullname__";
const NAMESPACE: &str = "__turnstile_namespace__";
const LABELS: &str = "__turnstile_labels__";
/// The webhook Service port in the generated configurations (replaced by the chart's value).
const PORT: i32 = 59_443;

const FULLNAME_EXPR: &str = r#"{{ include "turnstile.fullname" . }}"#;
const NAMESPACE_EXPR: &str = "{{ .Release.Namespace }}";
const PORT_EXPR: &str = "{{ .Values.webhookService.port }}";

/// A line `<indent><key>: <token>` is replaced by what `render(indent)` returns (whole lines,
/// indented already, without the final newline).
struct LineSub {
    token: String,
    render: Box<dyn Fn(usize) -> String>,
    /// How many lines must match.
    expected: usize,
}

fn labels_sub(expected: usize) -> LineSub {
    LineSub {
        token: LABELS.into(),
        render: Box::new(|indent| {
            let pad = " ".repeat(indent);
            format!(
                "{pad}labels:\n{pad}  {{{{- include \"turnstile.labels\" . | nindent {} }}}}",
                indent + 2
            )
        }),
        expected,
    }
}

/// Applies the line substitutions and then the name tokens; fails if any placeholder is left or a
/// substitution did not match as often as expected.
fn substitute(yaml: &str, subs: &[LineSub]) -> Result<String> {
    let mut counts = vec![0usize; subs.len()];
    let mut out = String::with_capacity(yaml.len() * 2);
    for line in yaml.lines() {
        let trimmed = line.trim_start();
        let indent = line.len() - trimmed.len();
        let hit = subs.iter().enumerate().find(|(_, s)| {
            trimmed
                .split_once(": ")
                .is_some_and(|(key, value)| value == s.token && !key.contains(' '))
        });
        if let Some((i, sub)) = hit {
            counts[i] += 1;
            out.push_str(&(sub.render)(indent));
        } else {
            out.push_str(line);
        }
        out.push('\n');
    }
    for (sub, n) in subs.iter().zip(counts) {
        ensure!(
            n == sub.expected,
            "placeholder {} replaced {n} times, expected {}",
            sub.token,
            sub.expected
        );
    }
    let out = out
        .replace(FULLNAME, FULLNAME_EXPR)
        .replace(NAMESPACE, NAMESPACE_EXPR);
    ensure!(
        !out.contains("__turnstile_"),
        "a placeholder was left in the generated chart"
    );
    Ok(out)
}

fn key(k: &str) -> Value {
    Value::String(k.into())
}

fn mapping(entries: Vec<(&str, Value)>) -> Value {
    Value::Mapping(
        entries
            .into_iter()
            .map(|(k, v)| (key(k), v))
            .collect::<Mapping>(),
    )
}

/// A YAML stream: `prelude` (template variables), then the documents, the first one starting with
/// the `header` comment (so that it stays inside a document in Helm's output).
fn documents(prelude: &str, header: &str, docs: &[Value]) -> Result<String> {
    let mut yaml = String::from(prelude);
    for (i, doc) in docs.iter().enumerate() {
        yaml.push_str("---\n");
        if i == 0 {
            yaml.push_str(header);
        }
        yaml.push_str(&serde_yaml::to_string(doc)?);
    }
    Ok(yaml)
}

// ------------------------------------------------------------------------------------------------
// RBAC.

fn rbac_yaml() -> Result<String> {
    const API: &str = "rbac.authorization.k8s.io/v1";
    let name = format!("{FULLNAME}-manager-role");
    let binding = format!("{FULLNAME}-manager-rolebinding");
    let subjects = serde_yaml::to_value(vec![mapping(vec![
        ("kind", key("ServiceAccount")),
        ("name", key(&format!("{FULLNAME}-controller-manager"))),
        ("namespace", key(NAMESPACE)),
    ])])?;
    let meta = |name: &str, namespaced: bool| {
        let mut m = vec![("name", key(name))];
        if namespaced {
            m.push(("namespace", key(NAMESPACE)));
        }
        m.push(("labels", key(LABELS)));
        mapping(m)
    };
    let role_ref = |kind: &str| {
        mapping(vec![
            ("apiGroup", key("rbac.authorization.k8s.io")),
            ("kind", key(kind)),
            ("name", key(&name)),
        ])
    };
    let docs = [
        mapping(vec![
            ("apiVersion", key(API)),
            ("kind", key("ClusterRole")),
            ("metadata", meta(&name, false)),
            (
                "rules",
                serde_yaml::to_value(policy_rules(Scope::Cluster, FULLNAME))?,
            ),
        ]),
        mapping(vec![
            ("apiVersion", key(API)),
            ("kind", key("ClusterRoleBinding")),
            ("metadata", meta(&binding, false)),
            ("roleRef", role_ref("ClusterRole")),
            ("subjects", subjects.clone()),
        ]),
        mapping(vec![
            ("apiVersion", key(API)),
            ("kind", key("Role")),
            ("metadata", meta(&name, true)),
            (
                "rules",
                serde_yaml::to_value(policy_rules(Scope::Namespace, FULLNAME))?,
            ),
        ]),
        mapping(vec![
            ("apiVersion", key(API)),
            ("kind", key("RoleBinding")),
            ("metadata", meta(&binding, true)),
            ("roleRef", role_ref("Role")),
            ("subjects", subjects),
        ]),
    ];
    let yaml = documents(
        "",
        "# Generated by `turnstile chart` from crates/turnstile/src/rbac.rs. Do not edit.\n",
        &docs,
    )?;
    substitute(&yaml, &[labels_sub(docs.len())])
}

// ------------------------------------------------------------------------------------------------
// Webhook configurations.

/// The label of the stand-in managed-jobs namespace selector, to find where it lands.
const MARKER_LABEL: &str = "turnstile.chart/managed-jobs-namespace-selector";

fn options() -> Options {
    Options {
        target: Target::Service {
            name: format!("{FULLNAME}-webhook-service"),
            namespace: NAMESPACE.into(),
            port: PORT,
        },
        mutating_name: format!("{FULLNAME}-mutating-webhook-configuration"),
        validating_name: format!("{FULLNAME}-validating-webhook-configuration"),
        namespace: NAMESPACE.into(),
        managed_jobs_namespace_selector: None,
        extra_selector_labels: BTreeMap::new(),
        ca_bundle: vec![],
    }
}

/// Both configurations for `opts`, as YAML values.
fn configurations(opts: &Options) -> Result<[Value; 2]> {
    Ok([
        serde_yaml::to_value(mutating(opts))?,
        serde_yaml::to_value(validating(opts))?,
    ])
}

fn webhooks_mut(config: &mut Value) -> Result<&mut Vec<Value>> {
    match config.get_mut("webhooks") {
        Some(Value::Sequence(list)) => Ok(list),
        _ => bail!("a webhook configuration without webhooks"),
    }
}

fn webhook_list(config: &Value) -> Result<&Vec<Value>> {
    match config.get("webhooks") {
        Some(Value::Sequence(list)) => Ok(list),
        _ => bail!("a webhook configuration without webhooks"),
    }
}

/// Indents every line of `text` by `n` spaces (lines without text stay empty).
fn indent_lines(text: &str, n: usize) -> String {
    let pad = " ".repeat(n);
    text.lines()
        .map(|l| {
            if l.is_empty() {
                String::new()
            } else {
                format!("{pad}{l}")
            }
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// The block that replaces a Job webhook's namespace selector: the Configuration's
/// managedJobsNamespaceSelector when set, else the registration's default.
fn namespace_selector_block(default: String) -> Box<dyn Fn(usize) -> String> {
    Box::new(move |indent| {
        let pad = " ".repeat(indent);
        format!(
            "{pad}namespaceSelector:\n\
             {pad}  {{{{- with $managedJobsNamespaceSelector }}}}\n\
             {pad}  {{{{- toYaml . | nindent {} }}}}\n\
             {pad}  {{{{- else }}}}\n\
             {}\n\
             {pad}  {{{{- end }}}}",
            indent + 2,
            indent_lines(&default, indent + 2)
        )
    })
}

/// Makes the lines that replace a selector from the registration's default selector (YAML).
type Block = fn(String) -> Box<dyn Fn(usize) -> String>;

/// The same webhook as registered with the default options (`hook`) and with the marker
/// managed-jobs namespace selector (`managed`).
struct Variants<'a> {
    hook: &'a mut Mapping,
    managed: Value,
}

/// Where a webhook's selectors depend on the options, puts placeholders in `hook` and the blocks
/// that replace them in `subs`; fails if anything else depends on the options.
fn template_selectors(w: Variants<'_>, marker: &Value, subs: &mut Vec<LineSub>) -> Result<()> {
    let Variants { hook, mut managed } = w;
    let cases: [(&str, &Value, Option<&Value>, Block); 1] = [(
        "namespaceSelector",
        &managed,
        Some(marker),
        namespace_selector_block,
    )];
    let mut templated = Vec::new();
    for (field, variant, expected, block) in cases {
        if hook.get(field) == variant.get(field) {
            continue;
        }
        ensure!(
            variant.get(field) == expected,
            "the registration's {field} depends on its options in a way the chart generator does not know"
        );
        let default = serde_yaml::to_string(&hook.get(field).cloned().unwrap_or_default())?;
        let token = format!("__turnstile_block_{}__", subs.len());
        hook.insert(key(field), key(&token));
        templated.push((field, token.clone()));
        subs.push(LineSub {
            token,
            render: block(default),
            expected: 1,
        });
    }
    if let Value::Mapping(v) = &mut managed {
        for (field, token) in &templated {
            v.insert(key(field), key(token));
        }
    }
    // Anything else that depends on the options would be lost: refuse.
    let hook = Value::Mapping(hook.clone());
    ensure!(
        managed == hook,
        "a webhook depends on the registration's options in more than its selectors; teach the chart generator"
    );
    Ok(())
}

fn webhooks_yaml() -> Result<String> {
    let base = options();
    let [mut m, mut v] = configurations(&base)?;
    let marker = LabelSelector {
        match_labels: Some([(MARKER_LABEL.to_owned(), "true".to_owned())].into()),
        match_expressions: None,
    };
    let managed = configurations(&Options {
        managed_jobs_namespace_selector: Some(marker.clone()),
        ..base.clone()
    })?;
    let marker = serde_yaml::to_value(&marker)?;

    let mut subs = vec![labels_sub(2)];
    let mut ports = 0usize;
    for (i, config) in [&mut m, &mut v].into_iter().enumerate() {
        let managed = webhook_list(&managed[i])?;
        if let Some(Value::Mapping(meta)) = config.get_mut("metadata") {
            meta.insert(key("labels"), key(LABELS));
        }
        let hooks = webhooks_mut(config)?;
        ensure!(
            hooks.len() == managed.len(),
            "the registration's list of webhooks depends on its options"
        );
        for (j, hook) in hooks.iter_mut().enumerate() {
            ports += 1;
            let Value::Mapping(hook) = hook else {
                bail!("a webhook is not a mapping");
            };
            let variants = Variants {
                hook,
                managed: managed[j].clone(),
            };
            template_selectors(variants, &marker, &mut subs)?;
        }
    }
    subs.push(LineSub {
        token: PORT.to_string(),
        render: Box::new(|indent| format!("{}port: {PORT_EXPR}", " ".repeat(indent))),
        expected: ports,
    });

    let yaml = documents(
        "{{- $config := fromYaml (.Values.managerConfig.controllerManagerConfigYaml | default \"\") }}\n\
         {{- $managedJobsNamespaceSelector := $config.managedJobsNamespaceSelector }}\n",
        "# Generated by `turnstile chart` from turnstile_webhook::registration\n\
         # (crates/turnstile-webhook/src/registration.rs), as `turnstile webhook-configurations` prints them. Do not edit.\n\
         # The caBundle is left empty: the manager injects its self-managed CA (or cert-manager's CA injector does).\n\
         # The Job webhooks follow managedJobsNamespaceSelector of managerConfig.controllerManagerConfigYaml\n\
         # and see every Job there, labelled or not (LocalQueue defaulting, as Kueue's do).\n",
        &[m, v],
    )?;
    substitute(&yaml, &subs)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A tiny stand-in for Helm, enough for the generated files: names and namespace, labels
    /// dropped, and the two selector conditionals resolved.
    fn render(template: &str, managed: Option<&str>) -> String {
        let mut out = Vec::new();
        // Stack of "keep the current branch" flags.
        let mut keep: Vec<bool> = Vec::new();
        for line in template.lines() {
            let t = line.trim();
            let active = keep.iter().all(|k| *k);
            if t.starts_with("{{- $") || t.contains("include \"turnstile.labels\"") {
                continue;
            }
            if t == "{{- with $managedJobsNamespaceSelector }}" {
                keep.push(managed.is_some());
            } else if t == "{{- else }}" {
                if let Some(k) = keep.last_mut() {
                    *k = !*k;
                }
            } else if t == "{{- end }}" {
                keep.pop();
            } else if t.starts_with("{{- toYaml") {
                if active {
                    let n = t
                        .trim_start_matches("{{- toYaml . | nindent ")
                        .trim_end_matches(" }}")
                        .parse()
                        .unwrap();
                    out.push(indent_lines(managed.unwrap(), n));
                }
            } else if active {
                let line = if t == "labels:" { "" } else { line };
                out.push(
                    line.replace(FULLNAME_EXPR, "turnstile")
                        .replace(NAMESPACE_EXPR, "turnstile-system")
                        .replace(PORT_EXPR, "443"),
                );
            }
        }
        assert!(keep.is_empty(), "unbalanced conditionals");
        out.join("\n")
    }

    fn docs(yaml: &str) -> Vec<serde_json::Value> {
        use serde::Deserialize as _;
        serde_yaml::Deserializer::from_str(yaml)
            .map(|d| serde_json::Value::deserialize(d).unwrap())
            .filter(|v| !v.is_null())
            .collect()
    }

    fn expected_webhooks(opts: &Options) -> Vec<serde_json::Value> {
        vec![
            serde_json::to_value(mutating(opts)).unwrap(),
            serde_json::to_value(validating(opts)).unwrap(),
        ]
    }

    fn real_options() -> Options {
        Options {
            target: Target::Service {
                name: "turnstile-webhook-service".into(),
                namespace: "turnstile-system".into(),
                port: 443,
            },
            mutating_name: "turnstile-mutating-webhook-configuration".into(),
            validating_name: "turnstile-validating-webhook-configuration".into(),
            namespace: "turnstile-system".into(),
            ..options()
        }
    }

    #[test]
    fn webhooks_render_to_what_the_manager_registers() {
        let template = webhooks_yaml().unwrap();
        assert!(!template.contains("caBundle:"));
        assert!(template.contains("port: {{ .Values.webhookService.port }}"));
        assert_eq!(
            docs(&render(&template, None)),
            expected_webhooks(&real_options())
        );
        let selector = LabelSelector {
            match_labels: Some([("team".to_owned(), "a".to_owned())].into()),
            match_expressions: None,
        };
        let text = serde_yaml::to_string(&selector).unwrap();
        assert_eq!(
            docs(&render(&template, Some(&text))),
            expected_webhooks(&Options {
                managed_jobs_namespace_selector: Some(selector),
                ..real_options()
            })
        );
    }

    #[test]
    fn rbac_renders_the_table() {
        let template = rbac_yaml().unwrap();
        assert!(template.contains(
            "  name: {{ include \"turnstile.fullname\" . }}-manager-role\n  namespace: {{ .Release.Namespace }}"
        ));
        let docs = docs(&render(&template, None));
        let kinds: Vec<&str> = docs.iter().map(|d| d["kind"].as_str().unwrap()).collect();
        assert_eq!(
            kinds,
            ["ClusterRole", "ClusterRoleBinding", "Role", "RoleBinding"]
        );
        assert_eq!(
            docs[0]["rules"],
            serde_json::to_value(policy_rules(Scope::Cluster, "turnstile")).unwrap()
        );
        assert_eq!(
            docs[2]["rules"],
            serde_json::to_value(policy_rules(Scope::Namespace, "turnstile")).unwrap()
        );
        assert_eq!(docs[2]["metadata"]["namespace"], "turnstile-system");
        assert!(docs[0]["metadata"].get("namespace").is_none());
        let workloads = docs[0]["rules"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["resources"] == serde_json::json!(["workloads"]))
            .unwrap();
        assert_eq!(
            workloads["verbs"],
            serde_json::json!(["get", "list", "watch", "create", "patch", "delete"])
        );
        for binding in [&docs[1], &docs[3]] {
            assert_eq!(
                binding["subjects"],
                serde_json::json!([{"kind": "ServiceAccount",
                    "name": "turnstile-controller-manager", "namespace": "turnstile-system"}])
            );
            assert_eq!(binding["roleRef"]["name"], "turnstile-manager-role");
        }
        assert_eq!(docs[1]["roleRef"]["kind"], "ClusterRole");
        assert_eq!(docs[3]["roleRef"]["kind"], "Role");
        // The core group is rendered as an explicit empty string.
        assert!(template.contains("- ''\n"));
    }

    fn scratch(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!(
            "turnstile-chart-test-{name}-{}",
            std::process::id()
        ));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    #[test]
    fn check_detects_drift_and_write_repairs_it() {
        let root = scratch("drift");
        let crds = root.join("crds-src");
        std::fs::create_dir_all(&crds).unwrap();
        std::fs::write(crds.join("a.yaml"), "kind: A\n").unwrap();
        std::fs::write(crds.join("b.yaml"), "kind: B\n").unwrap();
        let chart = root.join("chart");
        let files = generate(&crds).unwrap();
        assert_eq!(files.len(), 4);

        let err = check(&chart, &files).unwrap_err().to_string();
        assert!(err.contains("rbac.yaml"), "{err}");

        write(&chart, &files).unwrap();
        check(&chart, &files).unwrap();
        assert_eq!(
            std::fs::read_to_string(chart.join("crds/b.yaml")).unwrap(),
            "kind: B\n"
        );

        std::fs::write(chart.join("templates/webhooks.yaml"), "edited\n").unwrap();
        let err = check(&chart, &files).unwrap_err().to_string();
        assert!(err.contains("templates/webhooks.yaml differs"), "{err}");
        assert!(!err.contains("rbac.yaml"), "{err}");

        write(&chart, &files).unwrap();
        std::fs::write(chart.join("crds/old.yaml"), "kind: Old\n").unwrap();
        let err = check(&chart, &files).unwrap_err().to_string();
        assert!(
            err.contains("crds/old.yaml is not generated any more"),
            "{err}"
        );
        write(&chart, &files).unwrap();
        assert!(!chart.join("crds/old.yaml").exists());
        check(&chart, &files).unwrap();

        std::fs::remove_dir_all(&root).unwrap();
    }

    #[test]
    fn the_repository_chart_is_up_to_date() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
        let files = generate(&root.join("crds")).unwrap();
        check(&root.join("charts/turnstile"), &files).unwrap();
    }

    fn values() -> serde_json::Value {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
        let text = std::fs::read_to_string(root.join("charts/turnstile/values.yaml")).unwrap();
        serde_yaml::from_str(&text).unwrap()
    }

    #[test]
    fn the_default_configuration_is_valid() {
        let values = values();
        let text = values["managerConfig"]["controllerManagerConfigYaml"]
            .as_str()
            .unwrap();
        let loaded =
            turnstile_config::parse_with_fallback_namespace(text, "turnstile-system").unwrap();
        assert!(loaded.warnings.is_empty(), "{:?}", loaded.warnings);
        assert!(!loaded.config.manage_jobs_without_queue_name);
    }

    #[test]
    fn the_golden_deployment_arguments_parse() {
        use clap::Parser;
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
        let text = std::fs::read_to_string(root.join("charts/turnstile/tests/default.golden.yaml"))
            .unwrap();
        let deployment = docs(&text)
            .into_iter()
            .find(|d| d["kind"] == "Deployment")
            .unwrap();
        let container = &deployment["spec"]["template"]["spec"]["containers"][0];
        let args: Vec<String> = container["args"]
            .as_array()
            .unwrap()
            .iter()
            .map(|a| a.as_str().unwrap().to_owned())
            .collect();
        let cli = crate::Cli::try_parse_from(std::iter::once("turnstile".to_owned()).chain(args))
            .unwrap();
        let crate::Command::Manager(m) = cli.command else {
            panic!("not the manager");
        };
        assert_eq!(m.webhook_service, "turnstile-webhook-service");
        assert_eq!(m.cert_secret, "turnstile-webhook-server-cert");
        assert_eq!(
            m.mutating_configurations,
            ["turnstile-mutating-webhook-configuration"]
        );
        assert_eq!(
            m.validating_configurations,
            ["turnstile-validating-webhook-configuration"]
        );
        assert_eq!(
            m.leader_election_lease, None,
            "the Lease is the Configuration's leaderElection.resourceName, as in Kueue"
        );
        let ports: Vec<i64> = container["ports"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p["containerPort"].as_i64().unwrap())
            .collect();
        // The chart leaves the addresses to the Configuration's defaults.
        assert!(
            m.webhook_addr.is_none()
                && m.health_addr.is_none()
                && m.metrics_addr.is_none()
                && m.visibility_addr.is_none()
        );
        assert_eq!(m.visibility_service, "turnstile-visibility-server");
        let cfg = turnstile_config::defaults();
        let health_port = cfg.health().bind_address.unwrap();
        let metrics_port = cfg.metrics_bind_address().unwrap();
        let visibility_port = cfg.visibility_bind_address().unwrap();
        assert_eq!(
            ports,
            [
                i64::from(cfg.webhook_server().port),
                health_port.trim_start_matches(':').parse::<i64>().unwrap(),
                metrics_port.trim_start_matches(':').parse::<i64>().unwrap(),
                visibility_port
                    .trim_start_matches("0.0.0.0:")
                    .parse::<i64>()
                    .unwrap(),
            ]
        );
        // The APIServices the manager injects its CA into are the chart's.
        let golden = docs(&text);
        let services: Vec<&str> = golden
            .iter()
            .filter(|d| d["kind"] == "APIService")
            .map(|d| d["metadata"]["name"].as_str().unwrap())
            .collect();
        assert_eq!(services, m.visibility_api_services);
    }
}
