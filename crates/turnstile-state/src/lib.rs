//! Turnstile's cache: API objects turned into core types, kept in one authoritative index.
//!
//! Responsibility: convert ClusterQueues, Cohorts, ResourceFlavors and Workloads into the
//! scheduling core's values (`convert`), and (with the queue-controller work) hold the index the
//! controller feeds with `apply`/`delete` and the scheduler snapshots.
//!
//! It must not talk to the API server or hold an async runtime: the controller feeds it.
//!
//! ```text
//!   watch events ──> apply/delete ──────> index ──> snapshot ──> turnstile-core
//!                                              └──> desired statuses ──> controller writes
//! ```

pub mod convert;
pub mod index;
pub mod ledger;
pub mod lifecycle;
