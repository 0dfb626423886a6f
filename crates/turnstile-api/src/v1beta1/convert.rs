//! Conversion between `kueue.x-k8s.io/v1beta1` and `v1beta2` objects, as JSON, with Kueue
//! v0.19.2's rules (facts from its `apis/kueue/v1beta1` conversion functions):
//!
//! | kind | v1beta1 | v1beta2 |
//! |---|---|---|
//! | ClusterQueue | `spec.cohort` | `spec.cohortName` |
//! | ClusterQueue | `spec.admissionChecks: [name]` | `spec.admissionChecksStrategy.admissionChecks: [{name}]` (a non-empty list wins over a strategy; never filled going down) |
//! | ClusterQueue | `flavorFungibility.whenCanBorrow: Borrow`, `whenCanPreempt: Preempt` | `MayStopSearch` (going up only) |
//! | ClusterQueue | — | `spec.concurrentAdmissionPolicy` (dropped going down) |
//! | ClusterQueue, Cohort | `status.fairSharing.admissionFairSharingStatus` (dropped going up) | — |
//! | ClusterQueue | `status.pendingWorkloadsStatus` (dropped going up) | — |
//! | LocalQueue | `status.flavorUsage` | `status.flavorsUsage` |
//! | LocalQueue | `status.flavors` (dropped going up) | — |
//! | Workload | `spec.priorityClassSource` + `spec.priorityClassName` | `spec.priorityClassRef {group, kind, name}` (an empty source drops the name; an unknown group/kind drops the reference going down) |
//! | Workload | `status.accumulatedPastExexcutionTimeSeconds` (sic) | `status.accumulatedPastExecutionTimeSeconds` |
//! | Workload | `topologyAssignment {levels, domains [{values, count}]}` | `topologyAssignment {levels, slices [...]}` (one compact slice going up; expanded going down) |
//! | Workload | — | `spec.preemptionGates`, `status.preemptionGates`, `podSets[].topologyRequest.podsetSliceRequiredTopologyConstraints` (dropped going down) |
//! | AdmissionCheck | `spec.retryDelayMinutes` (dropped going up) | — |
//!
//! Everything else is carried as is. Nothing is kept in annotations (Kueue keeps nothing either).

use serde_json::{Map, Value, json};

/// The two versions.
pub const V1BETA1: &str = "kueue.x-k8s.io/v1beta1";
/// The storage version.
pub const V1BETA2: &str = "kueue.x-k8s.io/v1beta2";

const WPC_SOURCE: &str = "kueue.x-k8s.io/workloadpriorityclass";
const PC_SOURCE: &str = "scheduling.k8s.io/priorityclass";

/// Why an object could not be converted.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum ConvertError {
    /// `apiVersion` is neither v1beta1 nor v1beta2 of `kueue.x-k8s.io`.
    #[error("apiVersion {0:?} is not kueue.x-k8s.io/v1beta1 or v1beta2")]
    Version(String),
    /// The object is not a JSON object.
    #[error("the object is not a JSON object")]
    NotAnObject,
}

/// Converts `obj` to `desired` (`kueue.x-k8s.io/v1beta1` or `/v1beta2`).
///
/// # Errors
/// When either version is not one of the two, or `obj` is not an object.
pub fn convert(obj: &Value, desired: &str) -> Result<Value, ConvertError> {
    let from = obj
        .get("apiVersion")
        .and_then(Value::as_str)
        .unwrap_or_default();
    for v in [from, desired] {
        if v != V1BETA1 && v != V1BETA2 {
            return Err(ConvertError::Version(v.to_owned()));
        }
    }
    let mut out = obj.clone();
    let map = out.as_object_mut().ok_or(ConvertError::NotAnObject)?;
    let kind = map
        .get("kind")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned();
    if from != desired {
        if desired == V1BETA2 {
            up(&kind, map);
        } else {
            down(&kind, map);
        }
        map.insert("apiVersion".into(), json!(desired));
    }
    Ok(out)
}

/// The object at `key` of `m`, if it is one.
fn obj<'a>(m: &'a mut Map<String, Value>, key: &str) -> Option<&'a mut Map<String, Value>> {
    m.get_mut(key).and_then(Value::as_object_mut)
}

fn rename(m: &mut Map<String, Value>, from: &str, to: &str) {
    if let Some(v) = m.remove(from) {
        m.insert(to.to_owned(), v);
    }
}

fn up(kind: &str, m: &mut Map<String, Value>) {
    match kind {
        "ClusterQueue" => {
            if let Some(spec) = obj(m, "spec") {
                rename(spec, "cohort", "cohortName");
                if let Some(Value::Array(names)) = spec.remove("admissionChecks")
                    && !names.is_empty()
                {
                    let checks: Vec<Value> =
                        names.into_iter().map(|n| json!({"name": n})).collect();
                    spec.insert(
                        "admissionChecksStrategy".into(),
                        json!({"admissionChecks": checks}),
                    );
                }
                if let Some(ff) = obj(spec, "flavorFungibility") {
                    for (field, old) in [("whenCanBorrow", "Borrow"), ("whenCanPreempt", "Preempt")]
                    {
                        if ff.get(field).and_then(Value::as_str) == Some(old) {
                            ff.insert(field.into(), json!("MayStopSearch"));
                        }
                    }
                }
            }
            if let Some(status) = obj(m, "status") {
                status.remove("pendingWorkloadsStatus");
                if let Some(fs) = obj(status, "fairSharing") {
                    fs.remove("admissionFairSharingStatus");
                }
            }
        }
        "Cohort" => {
            if let Some(fs) = obj(m, "status").and_then(|s| obj(s, "fairSharing")) {
                fs.remove("admissionFairSharingStatus");
            }
        }
        "LocalQueue" => {
            if let Some(status) = obj(m, "status") {
                rename(status, "flavorUsage", "flavorsUsage");
                status.remove("flavors");
            }
        }
        "Workload" => {
            if let Some(spec) = obj(m, "spec") {
                let source = spec.remove("priorityClassSource");
                let name = spec.remove("priorityClassName");
                let gk = match source.as_ref().and_then(Value::as_str) {
                    Some(WPC_SOURCE) => Some(("kueue.x-k8s.io", "WorkloadPriorityClass")),
                    Some(PC_SOURCE) => Some(("scheduling.k8s.io", "PriorityClass")),
                    _ => None,
                };
                if let (Some((group, kind)), Some(name)) = (gk, name) {
                    spec.insert(
                        "priorityClassRef".into(),
                        json!({"group": group, "kind": kind, "name": name}),
                    );
                }
            }
            if let Some(status) = obj(m, "status") {
                rename(
                    status,
                    "accumulatedPastExexcutionTimeSeconds",
                    "accumulatedPastExecutionTimeSeconds",
                );
                for_each_topology_assignment(status, domains_to_slices);
            }
        }
        "AdmissionCheck" => {
            if let Some(spec) = obj(m, "spec") {
                spec.remove("retryDelayMinutes");
            }
        }
        _ => {}
    }
}

fn down(kind: &str, m: &mut Map<String, Value>) {
    match kind {
        "ClusterQueue" => {
            if let Some(spec) = obj(m, "spec") {
                rename(spec, "cohortName", "cohort");
                spec.remove("concurrentAdmissionPolicy");
            }
        }
        "LocalQueue" => {
            if let Some(status) = obj(m, "status") {
                rename(status, "flavorsUsage", "flavorUsage");
            }
        }
        "Workload" => {
            if let Some(spec) = obj(m, "spec") {
                spec.remove("preemptionGates");
                if let Some(r) = spec.remove("priorityClassRef") {
                    let source = match (
                        r.get("group").and_then(Value::as_str),
                        r.get("kind").and_then(Value::as_str),
                    ) {
                        (Some("kueue.x-k8s.io"), Some("WorkloadPriorityClass")) => Some(WPC_SOURCE),
                        (Some("scheduling.k8s.io"), Some("PriorityClass")) => Some(PC_SOURCE),
                        _ => None,
                    };
                    if let Some(source) = source {
                        spec.insert("priorityClassSource".into(), json!(source));
                        if let Some(name) = r.get("name") {
                            spec.insert("priorityClassName".into(), name.clone());
                        }
                    }
                }
                if let Some(Value::Array(pod_sets)) = spec.get_mut("podSets") {
                    for ps in pod_sets {
                        if let Some(tr) =
                            ps.get_mut("topologyRequest").and_then(Value::as_object_mut)
                        {
                            tr.remove("podsetSliceRequiredTopologyConstraints");
                        }
                    }
                }
            }
            if let Some(status) = obj(m, "status") {
                status.remove("preemptionGates");
                rename(
                    status,
                    "accumulatedPastExecutionTimeSeconds",
                    "accumulatedPastExexcutionTimeSeconds",
                );
                for_each_topology_assignment(status, slices_to_domains);
            }
        }
        _ => {}
    }
}

fn for_each_topology_assignment(status: &mut Map<String, Value>, f: fn(&mut Map<String, Value>)) {
    let Some(Value::Array(psas)) =
        obj(status, "admission").and_then(|a| a.get_mut("podSetAssignments"))
    else {
        return;
    };
    for psa in psas {
        if let Some(ta) = psa
            .get_mut("topologyAssignment")
            .and_then(Value::as_object_mut)
        {
            f(ta);
        }
    }
}

/// v1beta1 `domains` -> one v1beta2 slice: a level's value is `universal` when every domain has
/// the same, else listed per domain; the pod counts likewise. (Kueue may split by hostname
/// prefix; the encoding is not part of the API, only the decoded domains are.)
fn domains_to_slices(ta: &mut Map<String, Value>) {
    let domains: Vec<(Vec<String>, i64)> = match ta.remove("domains") {
        Some(Value::Array(ds)) => ds
            .iter()
            .map(|d| {
                let values = d
                    .get("values")
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                    .map(|v| v.as_str().unwrap_or_default().to_owned())
                    .collect();
                (values, d.get("count").and_then(Value::as_i64).unwrap_or(0))
            })
            .collect(),
        _ => Vec::new(),
    };
    if domains.is_empty() {
        ta.insert("slices".into(), json!([]));
        return;
    }
    let levels = ta
        .get("levels")
        .and_then(Value::as_array)
        .map_or(0, Vec::len);
    let values_per_level: Vec<Value> = (0..levels)
        .map(|l| {
            let at: Vec<&str> = domains
                .iter()
                .map(|(v, _)| v.get(l).map_or("", String::as_str))
                .collect();
            if at.iter().all(|v| *v == at[0]) {
                json!({"universal": at[0]})
            } else {
                json!({"individual": {"roots": at}})
            }
        })
        .collect();
    let counts: Vec<i64> = domains.iter().map(|(_, c)| *c).collect();
    let pod_counts = if counts.iter().all(|c| *c == counts[0]) {
        json!({"universal": counts[0]})
    } else {
        json!({"individual": counts})
    };
    ta.insert(
        "slices".into(),
        json!([{"domainCount": domains.len(), "valuesPerLevel": values_per_level, "podCounts": pod_counts}]),
    );
}

/// v1beta2 `slices` -> v1beta1 `domains`, every slice expanded in order: domain `i` of a slice
/// has, per level, the universal value or `prefix + roots[i] + suffix`, and the universal or
/// `individual[i]` pod count.
fn slices_to_domains(ta: &mut Map<String, Value>) {
    let mut domains = Vec::new();
    if let Some(Value::Array(slices)) = ta.remove("slices") {
        for s in &slices {
            let n = s.get("domainCount").and_then(Value::as_u64).unwrap_or(0);
            let n = usize::try_from(n).unwrap_or(0);
            let levels: Vec<&Value> = s
                .get("valuesPerLevel")
                .and_then(Value::as_array)
                .map(|a| a.iter().collect())
                .unwrap_or_default();
            for i in 0..n {
                let values: Vec<String> = levels
                    .iter()
                    .map(|lv| {
                        if let Some(u) = lv.get("universal").and_then(Value::as_str) {
                            return u.to_owned();
                        }
                        let ind = &lv["individual"];
                        let root = ind["roots"]
                            .get(i)
                            .and_then(Value::as_str)
                            .unwrap_or_default();
                        format!(
                            "{}{root}{}",
                            ind["prefix"].as_str().unwrap_or_default(),
                            ind["suffix"].as_str().unwrap_or_default()
                        )
                    })
                    .collect();
                let pc = &s["podCounts"];
                let count = pc["universal"]
                    .as_i64()
                    .or_else(|| pc["individual"].get(i).and_then(Value::as_i64))
                    .unwrap_or(0);
                domains.push(json!({"values": values, "count": count}));
            }
        }
    }
    ta.insert("domains".into(), Value::Array(domains));
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cq_v1beta2() -> Value {
        json!({"apiVersion": V1BETA2, "kind": "ClusterQueue", "metadata": {"name": "cq"},
            "spec": {"cohortName": "team", "namespaceSelector": {},
                "flavorFungibility": {"whenCanBorrow": "TryNextFlavor", "whenCanPreempt": "MayStopSearch"},
                "admissionChecksStrategy": {"admissionChecks": [{"name": "prov", "onFlavors": ["a"]}]},
                "resourceGroups": [{"coveredResources": ["cpu"], "flavors": [{"name": "a", "resources": [{"name": "cpu", "nominalQuota": "10"}]}]}]},
            "status": {"pendingWorkloads": 3, "fairSharing": {"weightedShare": 5}}})
    }

    #[test]
    fn cluster_queue_both_ways() {
        let down = convert(&cq_v1beta2(), V1BETA1).unwrap();
        assert_eq!(down["apiVersion"], V1BETA1);
        assert_eq!(down["spec"]["cohort"], "team");
        assert!(down["spec"].get("cohortName").is_none());
        assert_eq!(convert(&down, V1BETA2).unwrap(), cq_v1beta2(), "round trip");
        let old = json!({"apiVersion": V1BETA1, "kind": "ClusterQueue", "metadata": {"name": "cq"},
            "spec": {"cohort": "team", "admissionChecks": ["a", "b"],
                "admissionChecksStrategy": {"admissionChecks": [{"name": "ignored"}]},
                "flavorFungibility": {"whenCanBorrow": "Borrow", "whenCanPreempt": "Preempt"}},
            "status": {"pendingWorkloadsStatus": {"lastChangeTime": "2026-01-01T00:00:00Z"},
                "fairSharing": {"weightedShare": 1, "admissionFairSharingStatus": {"consumedResources": {}, "lastUpdate": "2026-01-01T00:00:00Z"}}}});
        let up = convert(&old, V1BETA2).unwrap();
        assert_eq!(
            up["spec"],
            json!({"cohortName": "team",
                "admissionChecksStrategy": {"admissionChecks": [{"name": "a"}, {"name": "b"}]},
                "flavorFungibility": {"whenCanBorrow": "MayStopSearch", "whenCanPreempt": "MayStopSearch"}})
        );
        assert_eq!(up["status"], json!({"fairSharing": {"weightedShare": 1}}));
        let dropped = {
            let mut v = cq_v1beta2();
            v["spec"]["concurrentAdmissionPolicy"] = json!({"migration": {"mode": "Disabled"}});
            convert(&convert(&v, V1BETA1).unwrap(), V1BETA2).unwrap()
        };
        assert_eq!(
            dropped,
            cq_v1beta2(),
            "no place for it in v1beta1: dropped, as in Kueue"
        );
    }

    #[test]
    fn local_queue_usage_renamed() {
        let v2 = json!({"apiVersion": V1BETA2, "kind": "LocalQueue", "metadata": {"name": "lq", "namespace": "ns"},
            "spec": {"clusterQueue": "cq"}, "status": {"flavorsUsage": [{"name": "a", "resources": [{"name": "cpu", "total": "1"}]}]}});
        let v1 = convert(&v2, V1BETA1).unwrap();
        assert_eq!(v1["status"]["flavorUsage"], v2["status"]["flavorsUsage"]);
        assert_eq!(convert(&v1, V1BETA2).unwrap(), v2);
        let mut with_flavors = v1.clone();
        with_flavors["status"]["flavors"] = json!([{"name": "a"}]);
        assert_eq!(convert(&with_flavors, V1BETA2).unwrap(), v2);
    }

    fn wl_v1beta2() -> Value {
        json!({"apiVersion": V1BETA2, "kind": "Workload", "metadata": {"name": "w", "namespace": "ns"},
            "spec": {"queueName": "lq", "priority": 7,
                "priorityClassRef": {"group": "kueue.x-k8s.io", "kind": "WorkloadPriorityClass", "name": "high"},
                "podSets": [{"name": "main", "count": 4, "template": {"spec": {"containers": []}}}]},
            "status": {"accumulatedPastExecutionTimeSeconds": 12,
                "admission": {"clusterQueue": "cq", "podSetAssignments": [{"name": "main", "count": 4,
                    "topologyAssignment": {"levels": ["rack", "kubernetes.io/hostname"], "slices": [
                        {"domainCount": 3, "valuesPerLevel": [{"universal": "r1"}, {"individual": {"prefix": "node-", "roots": ["a", "b", "c"]}}],
                         "podCounts": {"individual": [2, 1, 1]}}]}}]}}})
    }

    #[test]
    fn workload_priority_time_and_topology() {
        let v1 = convert(&wl_v1beta2(), V1BETA1).unwrap();
        assert_eq!(v1["spec"]["priorityClassSource"], WPC_SOURCE);
        assert_eq!(v1["spec"]["priorityClassName"], "high");
        assert_eq!(v1["status"]["accumulatedPastExexcutionTimeSeconds"], 12);
        assert_eq!(
            v1["status"]["admission"]["podSetAssignments"][0]["topologyAssignment"],
            json!({"levels": ["rack", "kubernetes.io/hostname"], "domains": [
                {"values": ["r1", "node-a"], "count": 2},
                {"values": ["r1", "node-b"], "count": 1},
                {"values": ["r1", "node-c"], "count": 1}]})
        );
        let back = convert(&v1, V1BETA2).unwrap();
        // The slice encoding may differ; the decoded domains may not.
        assert_eq!(convert(&back, V1BETA1).unwrap(), v1);
        let mut same = back.clone();
        same["status"]["admission"] = wl_v1beta2()["status"]["admission"].clone();
        assert_eq!(same, wl_v1beta2(), "everything else is identical");
        // A pod PriorityClass, an empty source, and a reference v1beta1 cannot express.
        let pc = json!({"apiVersion": V1BETA1, "kind": "Workload",
            "spec": {"priorityClassSource": PC_SOURCE, "priorityClassName": "system", "priority": 1}});
        assert_eq!(
            convert(&pc, V1BETA2).unwrap()["spec"]["priorityClassRef"],
            json!({"group": "scheduling.k8s.io", "kind": "PriorityClass", "name": "system"})
        );
        let empty = json!({"apiVersion": V1BETA1, "kind": "Workload",
            "spec": {"priorityClassSource": "", "priorityClassName": "x"}});
        assert_eq!(convert(&empty, V1BETA2).unwrap()["spec"], json!({}));
        let odd = json!({"apiVersion": V1BETA2, "kind": "Workload",
            "spec": {"priorityClassRef": {"group": "example.com", "kind": "Other", "name": "x"}, "preemptionGates": [{"name": "g"}]}});
        assert_eq!(convert(&odd, V1BETA1).unwrap()["spec"], json!({}));
    }

    #[test]
    fn other_kinds_change_only_the_version_and_bad_input_is_an_error() {
        let rf = json!({"apiVersion": V1BETA1, "kind": "ResourceFlavor", "metadata": {"name": "a"}, "spec": {"nodeLabels": {"x": "y"}}});
        let up = convert(&rf, V1BETA2).unwrap();
        assert_eq!(up["apiVersion"], V1BETA2);
        assert_eq!(up["spec"], rf["spec"]);
        let ac = json!({"apiVersion": V1BETA1, "kind": "AdmissionCheck", "spec": {"controllerName": "c", "retryDelayMinutes": 15}});
        assert_eq!(
            convert(&ac, V1BETA2).unwrap()["spec"],
            json!({"controllerName": "c"})
        );
        assert_eq!(
            convert(&rf, V1BETA1).unwrap(),
            rf,
            "same version: unchanged"
        );
        assert!(matches!(
            convert(&rf, "kueue.x-k8s.io/v1"),
            Err(ConvertError::Version(_))
        ));
        assert!(matches!(
            convert(&json!({"apiVersion": "v1", "kind": "Pod"}), V1BETA2),
            Err(ConvertError::Version(_))
        ));
        assert_eq!(
            convert(&json!([1]), V1BETA2),
            Err(ConvertError::Version(String::new()))
        );
    }

    /// Round trips over many generated objects: v1beta2 -> v1beta1 -> v1beta2 keeps every field
    /// v1beta1 can hold, and v1beta1 -> v1beta2 -> v1beta1 keeps every v1beta1 field Kueue keeps.
    #[test]
    fn round_trips_over_generated_objects() {
        let mut seed = 0x9e37_79b9_7f4a_7c15_u64;
        let mut next = |n: u64| {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed % n
        };
        for _ in 0..2_000 {
            let cohort = format!("c{}", next(5));
            let mut cq = json!({"apiVersion": V1BETA2, "kind": "ClusterQueue", "metadata": {"name": "q"}, "spec": {}});
            if next(2) == 0 {
                cq["spec"]["cohortName"] = json!(cohort);
            }
            if next(2) == 0 {
                let checks: Vec<Value> = (0..=next(3))
                    .map(|i| json!({"name": format!("ac{i}")}))
                    .collect();
                cq["spec"]["admissionChecksStrategy"] = json!({"admissionChecks": checks});
            }
            assert_eq!(
                convert(&convert(&cq, V1BETA1).unwrap(), V1BETA2).unwrap(),
                cq
            );

            let n = usize::try_from(1 + next(6)).unwrap();
            let domains: Vec<Value> = (0..n)
                .map(|i| json!({"values": [format!("b{}", next(2)), format!("host-{i}")], "count": 1 + next(3)}))
                .collect();
            let mut wl = json!({"apiVersion": V1BETA1, "kind": "Workload", "metadata": {"name": "w"},
                "spec": {"podSets": [{"name": "main", "count": 1}]},
                "status": {"admission": {"clusterQueue": "cq", "podSetAssignments": [{"name": "main",
                    "topologyAssignment": {"levels": ["block", "kubernetes.io/hostname"], "domains": domains}}]}}});
            match next(3) {
                0 => {
                    wl["spec"]["priorityClassSource"] = json!(WPC_SOURCE);
                    wl["spec"]["priorityClassName"] = json!("p");
                    wl["spec"]["priority"] = json!(3);
                }
                1 => {
                    wl["spec"]["priorityClassSource"] = json!(PC_SOURCE);
                    wl["spec"]["priorityClassName"] = json!("p");
                    wl["spec"]["priority"] = json!(3);
                }
                _ => {}
            }
            if next(2) == 0 {
                wl["status"]["accumulatedPastExexcutionTimeSeconds"] = json!(next(1000));
            }
            assert_eq!(
                convert(&convert(&wl, V1BETA2).unwrap(), V1BETA1).unwrap(),
                wl
            );
        }
    }
}
