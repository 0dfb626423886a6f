//! Kueue's deprecated `kueue.x-k8s.io/v1beta1`, served beside v1beta2 as Kueue v0.19 serves it:
//! the v1beta1 CRD versions (`schema`) and the conversion between the two shapes (`convert`),
//! which the conversion webhook runs. Nothing in Turnstile reads or writes v1beta1 itself.

pub mod convert;
pub mod schema;
