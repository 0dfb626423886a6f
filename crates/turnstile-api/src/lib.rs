//! Turnstile's API: the Kueue `kueue.x-k8s.io/v1beta2` kinds as Rust types, their CRDs, and the
//! well-known keys (labels, annotations, conditions, reasons) of the Kueue API.
//!
//! Responsibility: be schema-compatible with Kueue, so that a manifest valid for Kueue is valid
//! here and an invalid one is rejected by the apiserver with a field path. It must not hold
//! behaviour: no client, no I/O, no scheduling.
//!
//! ```text
//!   Rust types (serde + schemars + CEL rules)
//!        |  crds::all()  (kube-derive, then the Kueue-compatibility pass)
//!        v
//!   CustomResourceDefinitions  -->  `turnstile crds`  -->  crds/*.yaml, chart CRDs
//! ```

pub mod crds;
pub mod keys;
pub mod manifest;
pub mod selector;
pub mod v1alpha1;
pub mod v1beta1;
pub mod v1beta2;

pub use v1beta2::*;
