//! The Job reconciler's view of the cache: Workloads by the Job that controls them (fed by the one
//! Workload watch), the Jobs whose Workloads changed, and prebuilt Workloads Jobs wait for.

use super::{BTreeSet, Index, Workload, api, convert, job_key_of};
use turnstile_core::ObjectKey;

impl Index {
    pub(super) fn unlink_job(&mut self, key: &ObjectKey, old: &api::Workload) {
        let Some(job) = job_key_of(old) else {
            return;
        };
        if let Some(set) = self.by_job.get_mut(&job) {
            set.remove(key);
            if set.is_empty() {
                self.by_job.remove(&job);
            }
        }
        self.dirty_jobs.insert(job);
    }

    /// The Workloads a Job controls (`namespace/name` of the Job; the caller checks the owner's
    /// UID), each with its converted model (pod counts, tolerations) or why it did not convert.
    pub fn workloads_of_job(
        &self,
        job: &str,
    ) -> Vec<(&api::Workload, Result<&Workload, &convert::ConvertError>)> {
        self.by_job
            .get(job)
            .into_iter()
            .flatten()
            .filter_map(|k| self.workload_with_model(k))
            .collect()
    }

    /// A Workload (`namespace/name`) with its converted model or why it did not convert.
    pub fn workload_with_model(
        &self,
        key: &str,
    ) -> Option<(&api::Workload, Result<&Workload, &convert::ConvertError>)> {
        let wl = self.workloads.get(key)?;
        let model = self.models.get(key)?.as_ref().map(AsRef::as_ref);
        Some((wl, model))
    }

    /// Marks Job `job` (`namespace/name`) dirty when Workload `workload` (`namespace/name`) is
    /// next seen (a prebuilt Workload the Job waits for).
    pub fn await_workload(&mut self, workload: &ObjectKey, job: &ObjectKey) {
        self.awaited
            .entry(workload.to_owned())
            .or_default()
            .insert(job.to_owned());
    }

    /// Jobs whose Workloads changed since the last call (`namespace/name`).
    pub fn take_dirty_jobs(&mut self) -> BTreeSet<ObjectKey> {
        std::mem::take(&mut self.dirty_jobs)
    }

    /// Every Job that controls a Workload (`namespace/name`).
    pub fn jobs_with_workloads(&self) -> Vec<ObjectKey> {
        self.by_job.keys().cloned().collect()
    }
}
