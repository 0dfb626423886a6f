//! Turnstile's batch/v1 Job integration, as pure decisions.
//!
//! [`decide::decide`] looks at a Job and the Workloads it owns and returns the next steps
//! ([`decide::Action`]): create the Workload ([`workload::new_workload`]), write the admitted
//! flavors' scheduling directives and unsuspend ([`directives::start_patch`]), suspend and put the
//! template back on eviction ([`directives::restore_patch`]), give the quota back once the pods are
//! gone, keep `PodsReady` and evict on its timeout with exponential backoff, mark the Workload
//! Finished when the Job completes or fails.
//!
//! It performs no I/O; the controller applies the actions and decides again on the next change.

pub mod decide;
pub mod directives;
pub mod workload;
