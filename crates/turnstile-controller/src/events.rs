//! Kubernetes Events about Workloads (`kubectl describe workload` shows them), as Kueue emits
//! them: `QuotaReserved` and `Admitted` on admission, a Warning with the pending reason when a
//! workload cannot be admitted, `Preempted` / `PreemptedWorkload` on preemption and
//! `EvictedDueTo<reason>` on eviction.
//!
//! Events never hold up scheduling: they go through a bounded queue to one publishing task, and
//! are dropped (with a debug log) when the queue is full or the API refuses them.

use k8s_openapi::api::core::v1::ObjectReference;
use kube::runtime::events::{Event, EventType, Recorder, Reporter};
use kube::{Client, Resource, ResourceExt};
use tokio::sync::mpsc;

/// The controller name events are reported under.
pub const REPORTER: &str = "turnstile-admission";

const QUEUE: usize = 4096;

/// A handle to emit events; the default handle drops everything (no API client).
#[derive(Clone, Default)]
pub struct Events {
    tx: Option<mpsc::Sender<(ObjectReference, Event)>>,
}

impl Events {
    /// Starts the publishing task.
    pub fn start(client: Client, instance: Option<String>) -> Self {
        let (tx, mut rx) = mpsc::channel::<(ObjectReference, Event)>(QUEUE);
        let recorder = Recorder::new(
            client,
            Reporter {
                controller: REPORTER.into(),
                instance,
            },
        );
        tokio::spawn(async move {
            while let Some((reference, event)) = rx.recv().await {
                if let Err(e) = recorder.publish(&event, &reference).await {
                    tracing::debug!(error = %e, reason = %event.reason, "event not recorded");
                }
            }
        });
        Self { tx: Some(tx) }
    }

    /// Emits an event about `obj`.
    pub fn emit<K: Resource<DynamicType = ()>>(
        &self,
        obj: &K,
        warning: bool,
        reason: &str,
        note: String,
    ) {
        let Some(tx) = &self.tx else { return };
        let mut reference = obj.object_ref(&());
        if reference.uid.is_none() {
            reference.uid.clone_from(&obj.meta().uid);
        }
        let event = Event {
            type_: if warning {
                EventType::Warning
            } else {
                EventType::Normal
            },
            reason: reason.to_owned(),
            // The API limits an event's note to 1 kB.
            note: Some(truncate(note, 1024)),
            action: reason.to_owned(),
            secondary: None,
        };
        if tx.try_send((reference, event)).is_err() {
            tracing::debug!(object = %obj.name_any(), reason, "event queue full; event dropped");
        }
    }
}

fn truncate(mut s: String, max: usize) -> String {
    if s.len() > max {
        let mut cut = max;
        while !s.is_char_boundary(cut) {
            cut -= 1;
        }
        s.truncate(cut);
    }
    s
}

#[cfg(test)]
mod tests {
    use super::truncate;

    #[test]
    fn notes_are_cut_on_a_character_boundary() {
        assert_eq!(truncate("abc".into(), 5), "abc");
        assert_eq!(truncate("ééé".into(), 3), "é");
        assert_eq!(truncate("x".repeat(2000), 1024).len(), 1024);
    }
}
