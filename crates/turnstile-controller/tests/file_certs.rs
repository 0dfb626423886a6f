//! cert-manager mode: the manager serves `tls.crt`/`tls.key` from a directory and picks up a
//! renewed pair without a restart; unusable files never replace a working certificate.

// Test code: failures are panics.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::too_many_lines,
    clippy::too_many_arguments,
    clippy::needless_pass_by_value,
    clippy::semicolon_if_nothing_returned
)]

use std::sync::Arc;
use std::time::Duration;

use turnstile_controller::webhook::run_file_certs;
use turnstile_webhook::certs::{self, Lifetimes, Names};
use turnstile_webhook::server::CertStore;

async fn until<F: Fn() -> bool>(what: &str, f: F) {
    for _ in 0..200 {
        if f() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("timed out waiting for {what}");
}

#[tokio::test]
async fn files_are_loaded_and_reloaded() {
    let dir = std::env::temp_dir().join(format!("turnstile-file-certs-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let names = Names {
        dns: vec!["svc.ns.svc".into()],
        ips: vec![],
    };
    let (first, _) =
        certs::reconcile(None, &names, 1_800_000_000, &Lifetimes::default(), false).unwrap();
    let store = Arc::new(CertStore::default());
    let task = tokio::spawn(run_file_certs(dir.clone(), store.clone()));
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(!store.is_ready(), "not ready without files");

    std::fs::write(dir.join("tls.crt"), &first.cert).unwrap();
    std::fs::write(dir.join("tls.key"), &first.key).unwrap();
    until("first certificate", || store.is_ready()).await;
    let served = store.current_leaf_der().unwrap();

    std::fs::write(dir.join("tls.crt"), "garbage").unwrap();
    tokio::time::sleep(Duration::from_secs(6)).await;
    assert_eq!(
        store.current_leaf_der().unwrap(),
        served,
        "unusable files keep the working certificate"
    );

    let (second, _) =
        certs::reconcile(None, &names, 1_800_000_100, &Lifetimes::default(), false).unwrap();
    std::fs::write(dir.join("tls.key"), &second.key).unwrap();
    std::fs::write(dir.join("tls.crt"), &second.cert).unwrap();
    until("renewed certificate", || {
        store.current_leaf_der().is_some_and(|d| d != served)
    })
    .await;
    task.abort();
    let _ = std::fs::remove_dir_all(&dir);
}
