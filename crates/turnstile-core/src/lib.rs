//! Turnstile's scheduling core: pure, deterministic admission decisions.
//!
//! Responsibility (filled in by the queue-controller work): resource quantities in exact integer
//! arithmetic, the cohort tree with nominal quota, borrowing and lending limits, usage accounting,
//! pending queues (StrictFIFO, BestEffortFIFO), flavor assignment, preemption search, fair sharing,
//! and `schedule_cycle(snapshot, heads, now, config) -> CycleOutcome`.
//!
//! It must not: depend on kube, k8s-openapi, tokio, hyper or tower (CI checks this with
//! `cargo tree`), perform I/O, read a clock, or iterate in an order that can change a decision.
//!
//! ```text
//!   snapshot + pending heads + now ──> schedule_cycle ──> admissions, preemptions, requeues
//! ```

pub mod assign;
pub mod cycle;
pub mod fair;
pub mod key;
pub mod model;
pub mod preempt;
pub mod quantity;
pub mod queue;
pub mod resources;
pub mod snapshot;
pub mod tree;

pub use cycle::{CycleConfig, CycleOutcome, Decision, Eviction, Requeue, schedule_cycle};
pub use key::ObjectKey;
pub use quantity::{Quantity, QuantityError};
pub use snapshot::Snapshot;
