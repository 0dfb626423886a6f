//! Turnstile's batch/v1 Job integration, as pure decisions.
//!
//! Responsibility (filled in by the job-controller work): `decide(JobView, Option<WorkloadView>)
//! -> JobAction` (create the Workload, inject the admitted flavor's directives and unsuspend,
//! suspend and restore, mark Finished), and the Job adapter (pod sets from the template).
//!
//! It must not perform I/O; the controller applies the actions it returns.
//!
//! ```text
//!   Job + its Workload ──> decide ──> JobAction ──> controller
//! ```
