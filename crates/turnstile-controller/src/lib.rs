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

pub mod events;
pub mod fence;
pub mod health;
pub mod jobs;
pub mod lease;
pub mod metrics;
pub mod metrics_auth;
pub mod rate_limit;
pub mod scheduler;
pub mod visibility;
pub mod watch_backoff;
pub mod webhook;
pub mod windows;
pub mod workload_status;

/// Errors of the controllers.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// An API call failed.
    #[error("{action}: {source}")]
    Kube {
        /// What was being done.
        action: &'static str,
        /// The client error.
        source: kube::Error,
    },
    /// Certificate material could not be made or used.
    #[error("webhook certificates: {0}")]
    Certificates(String),
    /// A server could not start.
    #[error("serving {0}")]
    Serve(String),
    /// Something the object needs does not exist yet (retried later).
    #[error("waiting: {0}")]
    Waiting(String),
}

impl Error {
    /// Wraps a client error with the action that failed.
    pub fn kube(action: &'static str) -> impl FnOnce(kube::Error) -> Error {
        move |source| Error::Kube { action, source }
    }
}
