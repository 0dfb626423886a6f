//! The scheduler's side of the write protocol, as the cache sees it: what a Workload write does
//! to the cache before it is sent ([`Index::writing`]) and once it has ended
//! ([`Index::write_ended`]). One rule for every write the scheduler makes (admissions, evictions,
//! pending reasons, blocked reasons, the lifecycle's upkeep), so that no caller restates it.
//!
//! Before: a write the next cycle must not decide again on the same stale view holds the workload
//! until the cache sees a newer version (an eviction also shows it as evicted at once, so that
//! preemptors take it first). After: a stored write needs nothing (the watch brings the new version,
//! which ends the hold); a refused or failed one gives the workload back at once, and an admission
//! refused because the Workload changed (409) keeps it out of the active queues until the newer
//! version is seen.

use turnstile_core::ObjectKey;

use super::Index;

/// A Workload write the scheduler makes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SchedulerWrite {
    /// Quota reserved (the cycle assumed it: the snapshot charges it already).
    Admission,
    /// Evicted (preempted, drained, deactivated).
    Eviction,
    /// Another lifecycle transition of the upkeep (requeue, priority, notice, deletion).
    Upkeep,
    /// Why a workload cannot be queued (QuotaReserved=False, `Misconfigured`...).
    BlockedReason,
    /// Why a head waits (QuotaReserved=False, `Pending`), written after its grace.
    PendingReason,
}

/// How a write ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WriteEnd {
    /// Stored.
    Stored,
    /// Refused: the Workload changed since the version the write was based on (409).
    Conflict,
    /// Failed otherwise (gone, refused, timed out).
    Failed,
}

impl Index {
    /// Before a write of workload `key` based on version `seen` is sent.
    pub fn writing(&mut self, key: &ObjectKey, seen: Option<&str>, write: SchedulerWrite) {
        match write {
            SchedulerWrite::Eviction => self.hold_eviction(key, seen),
            SchedulerWrite::Upkeep | SchedulerWrite::BlockedReason => {
                self.hold_until_newer(key, seen);
            }
            // Assumed by `apply_outcome`; a pending reason is written only for a workload that
            // is neither held nor admitted meanwhile, and changes nothing the cycle reads.
            SchedulerWrite::Admission | SchedulerWrite::PendingReason => {}
        }
    }

    /// Once that write has ended. Returns whether the scheduler should look again at once (the
    /// workload is back in its queue).
    pub fn write_ended(
        &mut self,
        key: &ObjectKey,
        seen: Option<&str>,
        write: SchedulerWrite,
        end: WriteEnd,
    ) -> bool {
        match (write, end) {
            (_, WriteEnd::Stored) | (SchedulerWrite::PendingReason, _) => false,
            (SchedulerWrite::Admission, WriteEnd::Conflict) => {
                self.forget_stale(key, seen);
                true
            }
            (SchedulerWrite::Admission, WriteEnd::Failed) => {
                self.forget(key);
                true
            }
            (
                SchedulerWrite::Eviction | SchedulerWrite::Upkeep | SchedulerWrite::BlockedReason,
                WriteEnd::Conflict | WriteEnd::Failed,
            ) => {
                self.release_hold(key);
                false
            }
        }
    }
}
