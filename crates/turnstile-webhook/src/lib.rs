//! Turnstile's admission rules, as pure functions, and the AdmissionReview handling around them.
//!
//! Responsibility: the `default_*` rules (e.g. `suspend: true` on queued Jobs) returning JSON patches,
//! and the `validate_*` rules returning field-pathed errors for the checks the CRD schema and CEL
//! cannot express; decoding AdmissionReviews and encoding responses without ever panicking on bad input.
//!
//! It must not read cluster state itself: what a rule needs beyond the object (does a `default`
//! LocalQueue exist, is the Job's Workload admitted, who is asking) arrives in a context value that
//! the caller fills from its caches.
//!
//! ```text
//!   HTTP body ──> review::handle(path, body, context) ──> rules ──> AdmissionReview response
//!                                                        (allowed / JSON patch / field-pathed denial)
//! ```

pub mod certs;
pub mod conversion;
pub mod field;
pub mod job;
pub mod names;
pub mod objects;
pub mod queues;
pub mod registration;
pub mod review;

pub mod server;
