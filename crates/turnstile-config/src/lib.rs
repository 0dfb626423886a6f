//! Kueue's `Configuration` file (`config.kueue.x-k8s.io/v1beta2`), read as is.
