//! Turnstile's controllers: the only crate that talks to the API server.
//!
//! Responsibility (filled in by the queue-controller and job-controller work): watches and
//! reflector stores, the driver feeding `turnstile-state`, the scheduler loop, the leader-gated
//! status writer, the Job reconciler, the Lease, metrics, events and shutdown.
//!
//! ```text
//!   watches ──> turnstile-state ──> scheduler loop (turnstile-core) ──> status writer ──> API
//!   Job reconciler (turnstile-jobs::decide) ──> Job / Workload writes ──> API
//! ```
