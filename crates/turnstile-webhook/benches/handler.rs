//! The webhook handler alone: an AdmissionReview body in, a response body out, per path.
//! Criterion gives the mean; then 100,000 calls per review give p50/p99/max.
//!
//! `cargo bench -p turnstile-webhook --bench handler`

// Benchmark code: a failure is a panic.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::semicolon_if_nothing_returned,
    missing_docs
)]

use std::time::{Duration, Instant};

use std::hint::black_box;

use criterion::Criterion;
use k8s_openapi::api::batch::v1::Job;
use kube::core::DynamicObject;
use kube::core::admission::AdmissionRequest;
use serde_json::Value;
use turnstile_webhook::job::JobContext;
use turnstile_webhook::review::{ReviewContext, handle};

struct Ctx;

impl ReviewContext for Ctx {
    fn job_context(&self, _: &AdmissionRequest<DynamicObject>, _: &Job) -> JobContext {
        JobContext::default()
    }
}

fn corpus() -> Vec<(String, String, Vec<u8>)> {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/corpus");
    let mut files: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    files
        .into_iter()
        .map(|f| {
            let v: Value = serde_json::from_str(&std::fs::read_to_string(&f).unwrap()).unwrap();
            let name = f.file_stem().unwrap().to_string_lossy().into_owned();
            (
                name,
                v["path"].as_str().unwrap().to_owned(),
                serde_json::to_vec(&v["review"]).unwrap(),
            )
        })
        .collect()
}

fn main() {
    let corpus = corpus();
    let mut c = Criterion::default()
        .configure_from_args()
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2));
    for (name, path, body) in &corpus {
        c.bench_function(&format!("handle/{name}"), |b| {
            b.iter(|| handle(black_box(path), black_box(body), &Ctx));
        });
    }
    c.final_summary();

    println!("\nlatency percentiles over 100000 calls each:");
    for (name, path, body) in &corpus {
        let mut samples = Vec::with_capacity(100_000);
        for _ in 0..100_000 {
            let t = Instant::now();
            black_box(handle(path, body, &Ctx));
            samples.push(t.elapsed());
        }
        samples.sort();
        let p = |q: f64| {
            #[allow(
                clippy::cast_possible_truncation,
                clippy::cast_sign_loss,
                clippy::cast_precision_loss
            )]
            let i = ((samples.len() - 1) as f64 * q) as usize;
            samples[i]
        };
        println!(
            "  {name:<28} p50 {:>9.1?}  p99 {:>9.1?}  max {:>9.1?}",
            p(0.5),
            p(0.99),
            samples[samples.len() - 1]
        );
    }
}
