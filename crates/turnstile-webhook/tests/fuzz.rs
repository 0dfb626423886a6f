//! Property-based fuzzing of the AdmissionReview handling: arbitrary bytes, and the reviews of
//! `tests/corpus/` with random parts replaced, deleted or retyped, sent to every path. Whatever
//! arrives, the handler answers (no panic, no hang), with a status the apiserver understands, and a
//! 200 always carries an AdmissionReview response echoing the request's uid.
//!
//! Cases per property: `TURNSTILE_FUZZ_CASES` (default 2000; the figures in the closing notes come
//! from larger runs).

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

use std::sync::atomic::{AtomicU64, Ordering};

use k8s_openapi::api::batch::v1::Job;
use kube::core::DynamicObject;
use kube::core::admission::AdmissionRequest;
use proptest::prelude::*;
use proptest::test_runner::TestRunner;
use serde_json::Value;
use turnstile_webhook::job::JobContext;
use turnstile_webhook::review::{ReviewContext, handle, paths};

struct Ctx(JobContext);

impl ReviewContext for Ctx {
    fn job_context(&self, _: &AdmissionRequest<DynamicObject>, _: &Job) -> JobContext {
        self.0.clone()
    }
}

static TRIED: AtomicU64 = AtomicU64::new(0);

fn cases() -> u32 {
    std::env::var("TURNSTILE_FUZZ_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(2000)
}

fn corpus() -> Vec<(String, Value)> {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/corpus");
    let mut out = Vec::new();
    let mut files: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    for f in files {
        let v: Value = serde_json::from_str(&std::fs::read_to_string(&f).unwrap()).unwrap();
        out.push((v["path"].as_str().unwrap().to_owned(), v["review"].clone()));
    }
    out
}

fn check(path: &str, body: &[u8], ctx: &Ctx) {
    TRIED.fetch_add(1, Ordering::Relaxed);
    let reply = handle(path, body, ctx);
    assert!(
        [200, 400, 404, 413].contains(&reply.status),
        "unexpected status {}",
        reply.status
    );
    if reply.status == 200 {
        let v: Value = serde_json::from_slice(&reply.body).expect("200 carries JSON");
        assert_eq!(v["kind"], "AdmissionReview");
        let sent: Value = serde_json::from_slice(body).unwrap();
        assert_eq!(v["response"]["uid"], sent["request"]["uid"], "uid echoed");
        assert!(v["response"]["allowed"].is_boolean());
    }
}

fn arb_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<f64>()
            .prop_filter("finite", |f| f.is_finite())
            .prop_map(Value::from),
        ".{0,12}".prop_map(Value::from),
        prop_oneof![
            Just("1e999"),
            Just("-1"),
            Just("9223372036854775808"),
            Just("500m"),
            Just("Ki"),
            Just("pods"),
            Just("")
        ]
        .prop_map(Value::from),
    ];
    leaf.prop_recursive(3, 16, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::from),
            prop::collection::btree_map(".{0,8}", inner, 0..4)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

/// Every (pointer, node) of a JSON document.
fn pointers(v: &Value, at: String, out: &mut Vec<String>) {
    out.push(at.clone());
    match v {
        Value::Object(m) => m.iter().for_each(|(k, c)| {
            pointers(
                c,
                format!("{at}/{}", k.replace('~', "~0").replace('/', "~1")),
                out,
            )
        }),
        Value::Array(a) => a
            .iter()
            .enumerate()
            .for_each(|(i, c)| pointers(c, format!("{at}/{i}"), out)),
        _ => {}
    }
}

fn config() -> ProptestConfig {
    ProptestConfig {
        cases: cases(),
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

fn mutate(doc: &mut Value, edits: Vec<(usize, u8, Value)>) {
    for (pick, kind, value) in edits {
        let mut ptrs = Vec::new();
        pointers(doc, String::new(), &mut ptrs);
        let ptr = &ptrs[pick % ptrs.len()];
        if ptr.is_empty() {
            continue;
        }
        match kind {
            0 => {
                if let Some(n) = doc.pointer_mut(ptr) {
                    *n = value;
                }
            }
            1 => {
                let (parent, key) = ptr.rsplit_once('/').unwrap();
                match doc.pointer_mut(parent) {
                    Some(Value::Object(m)) => {
                        m.remove(&key.replace("~1", "/").replace("~0", "~"));
                    }
                    Some(Value::Array(a)) => {
                        if let Ok(i) = key.parse::<usize>()
                            && i < a.len()
                        {
                            a.remove(i);
                        }
                    }
                    _ => {}
                }
            }
            _ => {
                if let Some(n) = doc.pointer_mut(ptr) {
                    *n = Value::from(n.to_string());
                }
            }
        }
    }
}

#[test]
fn fuzz_the_handler() {
    let mut runner = TestRunner::new(config());
    runner
        .run(
            &(
                prop::collection::vec(any::<u8>(), 0..2048),
                0..paths::ALL.len(),
            ),
            |(bytes, p)| {
                check(paths::ALL[p], &bytes, &Ctx(JobContext::default()));
                Ok(())
            },
        )
        .unwrap();
    let corpus = corpus();
    let strategy = (
        0usize..64,
        prop::collection::vec((0usize..10_000, 0u8..3, arb_json()), 1..6),
        any::<bool>(),
        any::<bool>(),
    );
    let mut runner = TestRunner::new(config());
    runner
        .run(&strategy, |(which, edits, manager, admitted)| {
            let (path, review) = &corpus[which % corpus.len()];
            let mut doc = review.clone();
            mutate(&mut doc, edits);
            let ctx = Ctx(JobContext {
                requester_is_manager: manager,
                workload_admitted: admitted,
                ..JobContext::default()
            });
            let body = serde_json::to_vec(&doc).unwrap();
            check(path, &body, &ctx);
            // The same review on every other path too: wrong kinds must be refused cleanly.
            for other in paths::ALL {
                check(other, &body, &ctx);
            }
            Ok(())
        })
        .unwrap();
    eprintln!(
        "fuzz: {} inputs handled without a panic ({} cases per strategy)",
        TRIED.load(Ordering::Relaxed),
        cases()
    );
}

#[test]
fn corpus_is_handled_as_expected() {
    for (path, review) in corpus() {
        let reply = handle(
            &path,
            &serde_json::to_vec(&review).unwrap(),
            &Ctx(JobContext::default()),
        );
        assert_eq!(reply.status, 200, "{path}");
        let v: Value = serde_json::from_slice(&reply.body).unwrap();
        assert_eq!(
            v["response"]["allowed"], true,
            "corpus reviews are valid: {path}: {v}"
        );
    }
}
