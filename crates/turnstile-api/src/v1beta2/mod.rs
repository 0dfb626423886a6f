//! `kueue.x-k8s.io/v1beta2` types, field for field as Kueue defines them.

pub mod admissioncheck;
pub mod clusterqueue;
pub mod cohort;
pub mod common;
pub mod localqueue;
pub mod resourceflavor;
pub mod root;
pub mod workload;
pub mod workloadpriorityclass;

pub use admissioncheck::*;
pub use clusterqueue::*;
pub use cohort::*;
pub use common::*;
pub use localqueue::*;
pub use resourceflavor::*;
pub use root::*;
pub use workload::*;
pub use workloadpriorityclass::*;
