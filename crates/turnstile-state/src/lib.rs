//! Turnstile's cache: API objects turned into core types, kept in one authoritative index.
//!
//! Responsibility (filled in by the queue-controller work): `apply`/`delete`/`reset` of
//! ClusterQueues, Cohorts, LocalQueues, ResourceFlavors, WorkloadPriorityClasses and Workloads;
//! the pending queues; snapshots for the core; desired statuses as values.
//!
//! It must not talk to the API server or hold an async runtime: the controller feeds it.
//!
//! ```text
//!   watch events ──> apply/delete/reset ──> index ──> snapshot ──> turnstile-core
//!                                              └──> desired statuses ──> controller writes
//! ```
