use serde_json::json;

use super::*;

fn pod(v: serde_json::Value) -> PodSpec {
    serde_json::from_value(v).unwrap()
}

fn req(m: &BTreeMap<String, Quantity>, r: &str) -> String {
    m.get(r).map(ToString::to_string).unwrap_or_default()
}

#[test]
fn pod_requests_follow_kubernetes() {
    let spec = pod(json!({
        "initContainers": [
            {"name": "init", "image": "i", "resources": {"requests": {"cpu": "2", "memory": "1Gi"}}},
            {"name": "sidecar", "image": "i", "restartPolicy": "Always", "resources": {"requests": {"cpu": "100m"}}},
            {"name": "late-init", "image": "i", "resources": {"requests": {"cpu": "500m"}}}
        ],
        "containers": [
            {"name": "a", "image": "i", "resources": {"requests": {"cpu": "500m", "memory": "256Mi"}}},
            {"name": "b", "image": "i", "resources": {"limits": {"cpu": "250m", "nvidia.com/gpu": "1"}}}
        ],
        "overhead": {"cpu": "10m"}
    }));
    let r = pod_requests(&spec, "spec").unwrap();
    // containers 750m + sidecar 100m = 850m; init peak 2 > 850m; + overhead 10m.
    assert_eq!(req(&r, "cpu"), "2010m");
    assert_eq!(req(&r, "memory"), (1i64 << 30).to_string());
    assert_eq!(
        req(&r, "nvidia.com/gpu"),
        "1",
        "limits stand in for missing requests"
    );
}

#[test]
fn pod_level_resources_win() {
    let spec = pod(
        json!({"resources": {"requests": {"cpu": "3"}}, "containers": [{"name": "a", "image": "i", "resources": {"requests": {"cpu": "1"}}}]}),
    );
    assert_eq!(req(&pod_requests(&spec, "spec").unwrap(), "cpu"), "3");
}

#[test]
fn bad_quantities_are_field_pathed_errors() {
    let spec = pod(
        json!({"containers": [{"name": "a", "image": "i", "resources": {"requests": {"cpu": "lots"}}}]}),
    );
    let err = pod_requests(&spec, "spec.podSets[0].template.spec").unwrap_err();
    assert_eq!(
        err.path,
        "spec.podSets[0].template.spec.containers[0].resources.requests[cpu]"
    );
    let cq: api::ClusterQueue = serde_json::from_value(json!({"metadata": {"name": "q"}, "spec": {"resourceGroups": [
        {"coveredResources": ["cpu"], "flavors": [{"name": "f", "resources": [{"name": "cpu", "nominalQuota": "1e40"}]}]}]}}))
    .unwrap();
    let err = cluster_queue(&cq, true).unwrap_err();
    assert_eq!(
        err.path,
        "spec.resourceGroups[0].flavors[0].resources[0].nominalQuota"
    );
    assert!(err.to_string().contains("too large"), "{err}");
}

#[test]
fn cluster_queue_and_defaults() {
    let cq: api::ClusterQueue = serde_json::from_value(json!({"metadata": {"name": "q"}, "spec": {
        "cohortName": "c",
        "resourceGroups": [{"coveredResources": ["cpu", "memory"], "flavors": [{"name": "f", "resources": [
            {"name": "cpu", "nominalQuota": 9, "borrowingLimit": "500m", "lendingLimit": "2"},
            {"name": "memory", "nominalQuota": "1Gi"}]}]}],
        "preemption": {"withinClusterQueue": "LowerPriority", "reclaimWithinCohort": "Any", "borrowWithinCohort": {"policy": "LowerPriority", "maxPriorityThreshold": 5}}
    }}))
    .unwrap();
    let (m, q) = cluster_queue(&cq, true).unwrap();
    assert_eq!(q.cohort.as_deref(), Some("c"));
    let cpu = q.quotas[&FlavorResource::new("f", "cpu")];
    assert_eq!(
        (cpu.nominal, cpu.borrowing_limit, cpu.lending_limit),
        (9000, Some(500), Some(2000))
    );
    assert_eq!(
        q.quotas[&FlavorResource::new("f", "memory")].nominal,
        1 << 30
    );
    assert_eq!(m.strategy, model::QueueingStrategy::BestEffortFifo);
    assert_eq!(m.fungibility, model::Fungibility::default());
    assert_eq!(
        m.preemption.within_cluster_queue,
        model::PreemptionPolicy::LowerPriority
    );
    assert_eq!(
        m.preemption.reclaim_within_cohort,
        model::PreemptionPolicy::Any
    );
    assert!(m.preemption.borrow_within_cohort.lower_priority);
    assert_eq!(
        m.preemption.borrow_within_cohort.max_priority_threshold,
        Some(5)
    );
    assert_eq!(m.resource_groups[0].flavors, vec!["f".to_owned()]);
}

#[test]
fn workload_and_its_admission() {
    let wl: api::Workload = serde_json::from_value(json!({
        "metadata": {"name": "w", "namespace": "ns", "uid": "u1"},
        "spec": {"queueName": "lq", "priority": 7, "podSets": [{"name": "main", "count": 3, "minCount": 2, "template": {"spec": {
            "nodeSelector": {"instance-type": "spot"},
            "tolerations": [{"key": "spot", "operator": "Exists", "effect": "NoSchedule"}],
            "affinity": {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": [
                {"matchExpressions": [{"key": "zone", "operator": "In", "values": ["a"]}]}]}}},
            "containers": [{"name": "c", "image": "i", "resources": {"requests": {"cpu": "1500m"}}}]}}}]},
        "status": {"admission": {"clusterQueue": "q", "podSetAssignments": [{"name": "main", "flavors": {"cpu": "spot"}, "resourceUsage": {"cpu": "4500m"}, "count": 3}]}}
    }))
    .unwrap();
    let w = workload(&wl, "q", 123, &ResourceRules::default()).unwrap();
    assert_eq!(
        (w.key.as_str(), w.uid.as_str(), w.priority, w.timestamp),
        ("ns/w", "u1", 7, 123)
    );
    let ps = &w.pod_sets[0];
    assert_eq!(
        (ps.count, ps.min_count, ps.per_pod.get("cpu")),
        (3, Some(2), Some(&1500))
    );
    assert_eq!(
        ps.node_selector.get("instance-type").map(String::as_str),
        Some("spot")
    );
    assert_eq!(ps.required_affinity[0][0].values, vec!["a".to_owned()]);
    assert!(ps.tolerations[0].exists);
    let (cq, assignment) = admission(&wl, |_| None).unwrap().unwrap();
    assert_eq!(cq, "q");
    assert_eq!(assignment[0].usage.get("cpu"), Some(&4500));
    assert_eq!(
        assignment[0].flavors.get("cpu").map(String::as_str),
        Some("spot")
    );
}

#[test]
fn reclaimable_pods_give_their_usage_back() {
    let wl = |pod_sets: serde_json::Value,
              reclaimable: serde_json::Value,
              count: i32|
     -> api::Workload {
        serde_json::from_value(json!({
            "metadata": {"name": "w", "namespace": "ns"},
            "spec": {"queueName": "lq", "podSets": pod_sets},
            "status": {
                "admission": {"clusterQueue": "q", "podSetAssignments": [{"name": "main",
                    "flavors": {"cpu": "f"}, "resourceUsage": {"cpu": "4500m", "memory": "3Gi"}, "count": count}]},
                "reclaimablePods": reclaimable
            }
        }))
        .unwrap()
    };
    let pod_sets = json!([{"name": "main", "count": 3, "template": {"spec": {"containers": []}}}]);
    let usage = |w: &api::Workload, spec: Option<i32>| {
        let (_, a) = admission(w, |_| spec).unwrap().unwrap();
        (
            a[0].count,
            a[0].usage.get("cpu").copied(),
            a[0].usage.get("memory").copied(),
        )
    };
    let gib = 1024 * 1024 * 1024;
    // 3 pods admitted, 1 done: 2 pods' worth.
    let w = wl(pod_sets.clone(), json!([{"name": "main", "count": 1}]), 3);
    assert_eq!(usage(&w, None), (2, Some(3000), Some(2 * gib)));
    // Pod sets dropped (as in the cache): the count comes from the model.
    let mut stripped = w.clone();
    stripped.spec.pod_sets.clear();
    assert_eq!(usage(&stripped, Some(3)), (2, Some(3000), Some(2 * gib)));
    assert_eq!(
        usage(&stripped, None),
        (3, Some(4500), Some(3 * gib)),
        "unknown total: unchanged"
    );
    // Partially admitted 2 of 3, 1 reclaimable: 3 - 1 = 2 still needed, not below 2: unchanged.
    let w = wl(pod_sets.clone(), json!([{"name": "main", "count": 1}]), 2);
    assert_eq!(usage(&w, None), (2, Some(4500), Some(3 * gib)));
    // More reclaimable than pods never goes negative.
    let w = wl(pod_sets, json!([{"name": "main", "count": 9}]), 3);
    assert_eq!(usage(&w, None), (0, Some(0), Some(0)));
}

#[test]
fn resource_rules_exclude_then_transform_as_kueue_does() {
    let q = |s: &str| Quantity::parse(s).unwrap();
    let rules = ResourceRules {
        exclude_prefixes: vec!["example.com/".into()],
        transformations: [
            (
                "nvidia.com/mig-1g.5gb".to_owned(),
                Transformation {
                    retain: false,
                    multiply_by: None,
                    outputs: [
                        ("example.net/gpu-memory".to_owned(), q("5Gi")),
                        ("example.net/credits".to_owned(), q("10")),
                    ]
                    .into(),
                },
            ),
            (
                "cpu".to_owned(),
                Transformation {
                    retain: true,
                    multiply_by: Some("pods-weight".into()),
                    outputs: [("example.net/credits".to_owned(), q("-1"))].into(),
                },
            ),
        ]
        .into(),
    };
    let input: BTreeMap<String, Quantity> = [
        ("cpu".to_owned(), q("2")),
        ("pods-weight".to_owned(), q("3")),
        ("nvidia.com/mig-1g.5gb".to_owned(), q("2")),
        ("example.com/ignored".to_owned(), q("7")),
    ]
    .into();
    let out = rules.apply(input);
    assert_eq!(
        out,
        [
            ("cpu".to_owned(), q("2")),
            // 2 × 10 credits from the MIG slices, −(2 × 3) from cpu: outputs sum before clamping.
            ("example.net/credits".to_owned(), q("14")),
            ("example.net/gpu-memory".to_owned(), q("10Gi")),
            ("pods-weight".to_owned(), q("3")),
        ]
        .into(),
        "excluded prefix dropped, Replace drops the input, Retain keeps it"
    );
    // No rule touches the requests: unchanged.
    let plain: BTreeMap<String, Quantity> = [("memory".to_owned(), q("1Gi"))].into();
    assert_eq!(ResourceRules::default().apply(plain.clone()), plain);
    assert_eq!(q("500m").saturating_mul_quantity(q("3")), q("1500m"));
}
