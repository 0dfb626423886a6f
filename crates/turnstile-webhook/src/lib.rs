//! Turnstile's admission rules, as pure functions, and the thin HTTPS server around them.
//!
//! Responsibility (filled in by the webhook work): `default_*` rules (e.g. `suspend: true` on
//! queued Jobs) returning JSON patches, `validate_*` rules returning field-pathed errors for the
//! checks the CRD schema and CEL cannot express.
//!
//! It must not read cluster state: every rule decides from the AdmissionReview alone.
//!
//! ```text
//!   AdmissionReview ──> rules ──> AdmissionResponse (allowed / patch / field-pathed denial)
//! ```
