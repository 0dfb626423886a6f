//! `/metrics` as the manager serves it by default, like Kueue's: HTTPS, a bearer token required
//! (TokenReview), and its user allowed to `get` the non-resource URL `/metrics`
//! (SubjectAccessReview). Tokens of two ServiceAccounts, one granted that and one not.

// Test code: failures are panics.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use turnstile_e2e::{Harness, ManagerProcess};

/// The HTTP status and body of a scrape with an optional bearer token.
fn scrape(addr: std::net::SocketAddr, token: Option<&str>) -> (String, String) {
    let mut args = vec![
        "-sk".to_owned(),
        "-w".to_owned(),
        "\n%{http_code}".to_owned(),
        format!("https://{addr}/metrics"),
    ];
    if let Some(t) = token {
        args.extend(["-H".to_owned(), format!("Authorization: Bearer {t}")]);
    }
    let out = std::process::Command::new("curl")
        .args(&args)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let (body, code) = text.rsplit_once('\n').unwrap_or(("", ""));
    (code.to_owned(), body.to_owned())
}

#[tokio::test]
async fn metrics_need_a_token_allowed_to_get_them() {
    let h = Harness::get().await.expect("control plane");
    let id = std::process::id();
    let ns = format!("e2e-metrics-{id}");
    let role = format!("e2e-metrics-reader-{id}");
    h.kubectl(&["create", "namespace", &ns]).unwrap();
    let _cleanup = turnstile_e2e::Cleanup(
        h.clone(),
        vec![
            format!("namespace/{ns}"),
            format!("clusterrole/{role}"),
            format!("clusterrolebinding/{role}"),
        ],
    );
    for sa in ["reader", "nobody"] {
        h.kubectl(&["create", "serviceaccount", sa, "-n", &ns])
            .unwrap();
    }
    h.kubectl(&[
        "create",
        "clusterrole",
        &role,
        "--verb=get",
        "--non-resource-url=/metrics",
    ])
    .unwrap();
    h.kubectl(&[
        "create",
        "clusterrolebinding",
        &role,
        "--clusterrole",
        &role,
        "--serviceaccount",
        &format!("{ns}:reader"),
    ])
    .unwrap();
    let token = |sa: &str| {
        h.kubectl(&["create", "token", sa, "-n", &ns])
            .unwrap()
            .trim()
            .to_owned()
    };
    let (reader, nobody) = (token("reader"), token("nobody"));
    let args = turnstile_e2e::scheduler_args(&ns, &format!("e2e-metrics-{id}"), &[]);
    let manager = ManagerProcess::start_with_secure_metrics(&h, &args).await;
    let addr = manager.metrics;
    let (code, body) = scrape(addr, None);
    assert_eq!(code, "401", "no token: {body}");
    let (code, body) = scrape(addr, Some("not-a-token"));
    assert_eq!(code, "401", "a forged token: {body}");
    let (code, body) = scrape(addr, Some(&nobody));
    assert_eq!(code, "403", "{body}");
    assert!(
        body.contains(&format!("system:serviceaccount:{ns}:nobody")),
        "{body}"
    );
    let (code, body) = scrape(addr, Some(&reader));
    assert_eq!(code, "200", "{body}");
    assert!(
        body.contains("kueue_admission_attempts_total") || body.contains("# HELP kueue_"),
        "{body}"
    );
    // Plain HTTP is not served.
    let plain = std::process::Command::new("curl")
        .args(["-sf", &format!("http://{addr}/metrics")])
        .output()
        .unwrap();
    assert!(!plain.status.success(), "plain HTTP must not answer");
}
