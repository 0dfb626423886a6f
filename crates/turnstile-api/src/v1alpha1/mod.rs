//! `turnstile.dev/v1alpha1`: Turnstile's own kinds, beyond Kueue's API.
//!
//! `TimeWindowPolicy` pauses ClusterQueues and LocalQueues outside (or inside) time windows of a
//! named time zone: Hold stops admitting, Drain also evicts admitted work (Jobs suspended, never
//! deleted). It never edits the queues it targets, so a GitOps tool owning them does not fight it.

pub mod timewindowpolicy;

pub use timewindowpolicy::*;
