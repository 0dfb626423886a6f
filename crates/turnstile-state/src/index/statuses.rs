//! The statuses ClusterQueues, LocalQueues and Cohorts should show, read from the ledger and the
//! pending counts (never from a scan of the workloads).

use super::{BTreeMap, Index, Snapshot, Totals, api, conditions, convert, reasons};

impl Index {
    /// The status a ClusterQueue should show (conditions without times: the writer keeps or sets
    /// them). `None` for an unknown queue.
    pub fn cluster_queue_status(&self, name: &str) -> Option<api::ClusterQueueStatus> {
        self.cluster_queue_status_with(name, None)
    }

    /// As [`Index::cluster_queue_status`]; with a snapshot (fair sharing on), also the weighted share.
    pub fn cluster_queue_status_with(
        &self,
        name: &str,
        fair: Option<&Snapshot>,
    ) -> Option<api::ClusterQueueStatus> {
        let cq = self.cluster_queues.get(name)?;
        let empty = Totals::default();
        let totals = self.ledger.cluster_queue(name).unwrap_or(&empty);
        let in_cohort = cq.spec.cohort_name.as_ref().is_some_and(|c| !c.is_empty());
        let quotas = convert::cluster_queue(cq, true)
            .map(|(_, q)| q.quotas)
            .unwrap_or_default();
        let flavors_usage = |admitted: bool| -> Vec<api::FlavorUsage> {
            let mut out = Vec::new();
            for g in &cq.spec.resource_groups {
                for f in &g.flavors {
                    let mut resources: Vec<api::ResourceUsage> = g
                        .covered_resources
                        .iter()
                        .map(|r| {
                            let total = if admitted {
                                totals.admitted_of(f.name.as_str(), r)
                            } else {
                                totals.reserving_of(f.name.as_str(), r)
                            };
                            let nominal = quotas
                                .get(&turnstile_core::resources::FlavorResource::new(
                                    f.name.as_str(),
                                    r,
                                ))
                                .map_or(0, |q| q.nominal);
                            api::ResourceUsage {
                                name: r.clone(),
                                total: Some(convert::quantity_string(r, total).as_str().into()),
                                borrowed: in_cohort.then(|| {
                                    convert::quantity_string(r, (total - nominal).max(0))
                                        .as_str()
                                        .into()
                                }),
                            }
                        })
                        .collect();
                    resources.sort_by(|a, b| a.name.cmp(&b.name));
                    out.push(api::FlavorUsage {
                        name: f.name.clone(),
                        resources,
                    });
                }
            }
            out
        };
        let (status, reason, message) = match self.inactive(name) {
            None => ("True", reasons::READY, "Can admit new workloads".to_owned()),
            Some(i) => ("False", i.reason, i.message),
        };
        let condition = k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition {
            type_: conditions::ACTIVE.into(),
            status: status.into(),
            reason: reason.into(),
            message,
            observed_generation: cq.metadata.generation,
            last_transition_time: k8s_openapi::apimachinery::pkg::apis::meta::v1::Time(
                k8s_openapi::jiff::Timestamp::UNIX_EPOCH,
            ),
        };
        Some(api::ClusterQueueStatus {
            conditions: vec![condition],
            flavors_reservation: flavors_usage(false),
            flavors_usage: flavors_usage(true),
            pending_workloads: i32::try_from(self.pending_count(name)).unwrap_or(i32::MAX),
            reserving_workloads: totals.reserving_count,
            admitted_workloads: totals.admitted_count,
            fair_sharing: fair.map(|snap| {
                let node = turnstile_core::tree::NodeRef::Queue(name);
                api::FairSharingStatus {
                    weighted_share: turnstile_core::fair::share(
                        &snap.tree,
                        node,
                        None,
                        snap.weight(node),
                    )
                    .status_value(),
                }
            }),
        })
    }

    /// The status a LocalQueue should show. `None` for an unknown queue.
    pub fn local_queue_status(&self, key: &str) -> Option<api::LocalQueueStatus> {
        let lq = self.local_queues.get(key)?;
        let cq_name = lq
            .spec
            .cluster_queue
            .as_ref()
            .map(ToString::to_string)
            .unwrap_or_default();
        let stopped = lq.spec.stop_policy.unwrap_or_default() != api::StopPolicy::None;
        let (status, reason, message) = if stopped {
            ("False", reasons::STOPPED, "LocalQueue is stopped")
        } else if !self.cluster_queues.contains_key(&cq_name) {
            (
                "False",
                reasons::CLUSTER_QUEUE_DOES_NOT_EXIST,
                "Can't submit new workloads to clusterQueue",
            )
        } else if self.inactive(&cq_name).is_none() {
            (
                "True",
                reasons::READY,
                "Can submit new workloads to localQueue",
            )
        } else {
            (
                "False",
                reasons::CLUSTER_QUEUE_IS_INACTIVE,
                "Can't submit new workloads to clusterQueue",
            )
        };
        let empty = Totals::default();
        let totals = if self.cluster_queues.contains_key(&cq_name) {
            self.ledger.local_queue(key, &cq_name).unwrap_or(&empty)
        } else {
            &empty
        };
        let pending = if stopped {
            0
        } else {
            self.pending_per_local_queue.get(key).copied().unwrap_or(0)
        };
        let lq_usage =
            |usage: &mut dyn Iterator<Item = (&(String, String), i64)>| -> Vec<api::LocalQueueFlavorUsage> {
                let mut by_flavor: BTreeMap<String, Vec<api::LocalQueueResourceUsage>> =
                    BTreeMap::new();
                for ((f, r), v) in usage {
                    by_flavor
                        .entry(f.clone())
                        .or_default()
                        .push(api::LocalQueueResourceUsage {
                            name: r.clone(),
                            total: Some(convert::quantity_string(r, v).as_str().into()),
                        });
                }
                by_flavor
                    .into_iter()
                    .map(|(f, resources)| api::LocalQueueFlavorUsage {
                        name: f.as_str().into(),
                        resources,
                    })
                    .collect()
            };
        Some(api::LocalQueueStatus {
            conditions: vec![k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition {
                type_: conditions::ACTIVE.into(),
                status: status.into(),
                reason: reason.into(),
                message: message.into(),
                observed_generation: lq.metadata.generation,
                last_transition_time: k8s_openapi::apimachinery::pkg::apis::meta::v1::Time(
                    k8s_openapi::jiff::Timestamp::UNIX_EPOCH,
                ),
            }],
            pending_workloads: i32::try_from(pending).unwrap_or(i32::MAX),
            reserving_workloads: totals.reserving_count,
            admitted_workloads: totals.admitted_count,
            flavors_reservation: lq_usage(&mut totals.reserving()),
            flavors_usage: lq_usage(&mut totals.admitted()),
            fair_sharing: None,
        })
    }

    /// The status a Cohort should show with fair sharing on: its weighted share in `snap`.
    pub fn cohort_status(&self, name: &str, snap: &Snapshot) -> Option<api::CohortStatus> {
        self.cohorts.get(name)?;
        let node = turnstile_core::tree::NodeRef::Cohort(name);
        Some(api::CohortStatus {
            fair_sharing: Some(api::FairSharingStatus {
                weighted_share: turnstile_core::fair::share(
                    &snap.tree,
                    node,
                    None,
                    snap.weight(node),
                )
                .status_value(),
            }),
        })
    }
}
