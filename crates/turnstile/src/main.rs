//! The `turnstile` binary.
//!
//! Subcommands:
//! - `turnstile crds [--out DIR] [--check]`: write (or check) the generated CRD YAML files.
//!
//! - `turnstile manager [...]`: the long-running process (today: the admission webhook).
//!
//! - `turnstile chart [--out DIR] [--check]`: write (or check) the generated parts of the Helm chart.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, Result, bail};
use clap::{Parser, Subcommand, ValueEnum};

/// The process allocator. The manager allocates and frees many short-lived buffers per watch event
/// and admission review (JSON decoding, TLS records); with glibc's allocator that bookkeeping was
/// about a sixth of the manager's CPU in Kueue's scheduler benchmark (`docs/performance.md`).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

mod chart;
mod manager;
mod rbac;

#[derive(Parser)]
#[command(
    name = "turnstile",
    version,
    about = "Kueue-compatible job queueing for Kubernetes"
)]
struct Cli {
    /// Log format.
    #[arg(long, value_enum, default_value = "json", global = true)]
    log_format: LogFormat,
    #[command(subcommand)]
    command: Command,
}

#[derive(Clone, Copy, Debug, ValueEnum)]
enum LogFormat {
    Json,
    Plain,
}

#[derive(Subcommand)]
enum Command {
    /// Write the CustomResourceDefinitions generated from the API types.
    Crds {
        /// Directory to write `<group>_<plural>.yaml` files into.
        #[arg(long, default_value = "crds")]
        out: PathBuf,
        /// Do not write; fail if the files in DIR differ from the generated ones.
        #[arg(long)]
        check: bool,
        /// Print all CRDs to standard output as one YAML stream instead.
        #[arg(long, conflicts_with_all = ["check"])]
        stdout: bool,
    },
    /// Run the manager (admission webhook today; controllers next).
    Manager(Box<manager::ManagerArgs>),
    /// Print the Mutating/ValidatingWebhookConfigurations Turnstile registers, as YAML.
    WebhookConfigurations {
        /// Turnstile's namespace (its Jobs are never intercepted).
        #[arg(long, default_value = "turnstile-system")]
        namespace: String,
        /// The webhook Service's name.
        #[arg(long, default_value = "turnstile-webhook-service")]
        service: String,
        /// The webhook Service's port.
        #[arg(long, default_value_t = 443)]
        port: i32,
        /// Reach the webhook by URL prefix (e.g. https://127.0.0.1:9443) instead of the Service.
        #[arg(long)]
        url: Option<String>,
    },
    /// Write the generated parts of the Helm chart: templates/rbac.yaml (from the RBAC rules in
    /// crates/turnstile/src/rbac.rs), templates/webhooks.yaml (from the webhook registration) and
    /// crds/ (a copy of the CRD directory).
    Chart {
        /// The chart's directory.
        #[arg(long, default_value = "charts/turnstile")]
        out: PathBuf,
        /// Directory of the generated CRDs to copy into the chart.
        #[arg(long, default_value = "crds")]
        crds: PathBuf,
        /// Do not write; fail (naming the files) if the chart's generated files differ.
        #[arg(long)]
        check: bool,
    },
}

fn main() -> ExitCode {
    match run(Cli::parse()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("turnstile: {err:#}");
            ExitCode::FAILURE
        }
    }
}

fn run(cli: Cli) -> Result<()> {
    match cli.command {
        Command::Crds { out, check, stdout } => crds(&out, check, stdout),
        Command::Chart { out, crds, check } => {
            let files = chart::generate(&crds)?;
            if check {
                chart::check(&out, &files)?;
                println!(
                    "{} generated chart files up to date in {}",
                    files.len(),
                    out.display()
                );
            } else {
                chart::write(&out, &files)?;
                println!(
                    "wrote {} generated chart files to {}",
                    files.len(),
                    out.display()
                );
            }
            Ok(())
        }
        Command::WebhookConfigurations {
            namespace,
            service,
            port,
            url,
        } => {
            use turnstile_webhook::registration::{Options, Target, mutating, validating};
            let target = match url {
                Some(u) => Target::Url(u),
                None => Target::Service {
                    name: service,
                    namespace: namespace.clone(),
                    port,
                },
            };
            let opts = Options {
                target,
                mutating_name: "turnstile-mutating-webhook-configuration".into(),
                validating_name: "turnstile-validating-webhook-configuration".into(),
                namespace,
                managed_jobs_namespace_selector: None,
                extra_selector_labels: std::collections::BTreeMap::new(),
                ca_bundle: vec![],
            };
            let mut m = serde_json::to_value(mutating(&opts))?;
            m["apiVersion"] = "admissionregistration.k8s.io/v1".into();
            m["kind"] = "MutatingWebhookConfiguration".into();
            let mut v = serde_json::to_value(validating(&opts))?;
            v["apiVersion"] = "admissionregistration.k8s.io/v1".into();
            v["kind"] = "ValidatingWebhookConfiguration".into();
            print!(
                "---\n{}---\n{}",
                serde_yaml::to_string(&m)?,
                serde_yaml::to_string(&v)?
            );
            Ok(())
        }
        Command::Manager(args) => {
            init_logging(cli.log_format);
            let runtime = tokio::runtime::Runtime::new().context("starting the async runtime")?;
            runtime.block_on(manager::run(*args))
        }
    }
}

fn init_logging(format: LogFormat) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    match format {
        LogFormat::Json => builder.json().init(),
        LogFormat::Plain => builder.init(),
    }
}

/// The generated files: name and content, with a header saying how they were made.
fn generated_crds() -> Result<Vec<(String, String)>> {
    turnstile_api::crds::all()?
        .iter()
        .map(|crd| {
            let body = turnstile_api::crds::to_yaml(crd)?;
            Ok((
                turnstile_api::crds::file_name(crd),
                format!("# Generated by `turnstile crds` from crates/turnstile-api. Do not edit.\n{body}"),
            ))
        })
        .collect()
}

fn crds(out: &Path, check: bool, stdout: bool) -> Result<()> {
    let files = generated_crds()?;
    if stdout {
        for (_, content) in &files {
            print!("---\n{content}");
        }
        return Ok(());
    }
    if check {
        let mut drift = Vec::new();
        for (name, content) in &files {
            let path = out.join(name);
            match std::fs::read_to_string(&path) {
                Ok(existing) if existing == *content => {}
                Ok(_) => drift.push(format!("{} differs", path.display())),
                Err(e) => drift.push(format!("{}: {e}", path.display())),
            }
        }
        let expected: Vec<&str> = files.iter().map(|(n, _)| n.as_str()).collect();
        for entry in std::fs::read_dir(out).with_context(|| format!("reading {}", out.display()))? {
            let name = entry?.file_name().to_string_lossy().into_owned();
            let is_yaml = Path::new(&name)
                .extension()
                .is_some_and(|e| e.eq_ignore_ascii_case("yaml"));
            if is_yaml && !expected.contains(&name.as_str()) {
                drift.push(format!(
                    "{} is not generated any more",
                    out.join(&name).display()
                ));
            }
        }
        if !drift.is_empty() {
            bail!(
                "CRDs drifted from the API types (run `turnstile crds`):\n  {}",
                drift.join("\n  ")
            );
        }
        println!("{} CRDs up to date in {}", files.len(), out.display());
        return Ok(());
    }
    std::fs::create_dir_all(out).with_context(|| format!("creating {}", out.display()))?;
    for (name, content) in &files {
        let path = out.join(name);
        std::fs::write(&path, content).with_context(|| format!("writing {}", path.display()))?;
    }
    println!("wrote {} CRDs to {}", files.len(), out.display());
    Ok(())
}
