//! The `v1beta1` version of each Kueue CRD, derived from the generated `v1beta2` schema by the
//! differences between the two versions as Kueue v0.19.2 serves them (checked node by node
//! against Kueue's released CRDs by `tests/kueue_parity.rs`).
//!
//! v1beta1 is served for reading and writing, never stored: the apiserver converts through the
//! conversion webhook (`super::convert`) for the kinds whose shape changed, and by renaming the
//! version for the others, as Kueue does.

use serde_json::{Map, Value, json};

/// The deprecation warning the apiserver returns for every v1beta1 request (Kueue's text).
pub const DEPRECATION_WARNING: &str = "This version is deprecated. Use v1beta2 instead.";

/// The Kueue kinds served as v1beta1, by CRD name, and whether their v1beta1 shape differs from
/// v1beta2 (so that the apiserver must call the conversion webhook).
pub const SERVED: &[(&str, bool)] = &[
    ("resourceflavors.kueue.x-k8s.io", false),
    ("admissionchecks.kueue.x-k8s.io", false),
    ("clusterqueues.kueue.x-k8s.io", true),
    ("cohorts.kueue.x-k8s.io", true),
    ("localqueues.kueue.x-k8s.io", true),
    ("workloads.kueue.x-k8s.io", true),
    ("workloadpriorityclasses.kueue.x-k8s.io", false),
];

const DNS_SUBDOMAIN: &str = "^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$";
const QUANTITY: &str = "^(\\+|-)?(([0-9]+(\\.[0-9]*)?)|(\\.[0-9]+))(([KMGTPE]i)|[numkMGTPE]|([eE](\\+|-)?(([0-9]+(\\.[0-9]*)?)|(\\.[0-9]+))))?$";
const RESERVED: &str = "has(oldSelf.status) && has(oldSelf.status.conditions) && oldSelf.status.conditions.exists(c, c.type == 'QuotaReserved' && c.status == 'True')";

/// One difference, at a schema node given as a dotted path (`[]` steps into array items).
enum Edit {
    /// Drop a property (a v1beta2-only field).
    Remove(&'static str),
    /// Rename a property, keeping its schema (and its place in the parent's `required`).
    Rename(&'static str, &'static str),
    /// Add a property (a v1beta1-only field): path, schema.
    Add(&'static str, Value),
    /// Drop a keyword of a node (a v1beta2-only constraint).
    Unset(&'static str, &'static [&'static str]),
    /// Set a keyword of a node.
    Set(&'static str, &'static str, Value),
    /// Replace the CEL rules of a node: (rule, message).
    Rules(&'static str, Vec<(String, &'static str)>),
}

fn conditions_unbounded() -> Edit {
    Edit::Unset("status.conditions", &["maxItems"])
}

fn fair_sharing_status(path: &'static str) -> Edit {
    Edit::Add(
        path,
        json!({"type": "object", "description": "Usage the Admission Fair Sharing of v1beta1 reported (not kept in v1beta2).",
            "required": ["consumedResources", "lastUpdate"],
            "properties": {
                "consumedResources": {"type": "object", "description": "Resources consumed, decayed over time.",
                    "additionalProperties": {"anyOf": [{"type": "integer"}, {"type": "string"}], "pattern": QUANTITY, "x-kubernetes-int-or-string": true}},
                "lastUpdate": {"type": "string", "format": "date-time", "description": "When consumedResources was last updated."}}}),
    )
}

fn edits(crd: &str) -> Vec<Edit> {
    use Edit::{Add, Remove, Rename, Rules, Set, Unset};
    match crd {
        "clusterqueues.kueue.x-k8s.io" => vec![
            Rename("spec.cohortName", "cohort"),
            Rules(
                "spec",
                vec![("!has(self.cohort) && has(self.resourceGroups) ? self.resourceGroups.all(rg, rg.flavors.all(f, f.resources.all(r, !has(r.borrowingLimit)))) : true".into(),
                    "borrowingLimit must be nil when cohort is empty")],
            ),
            Add(
                "spec.admissionChecks",
                json!({"type": "array", "description": "Names of the AdmissionChecks every Workload of this ClusterQueue needs (v1beta1; v1beta2 has admissionChecksStrategy).",
                    "items": {"type": "string", "maxLength": 316}}),
            ),
            Remove("spec.concurrentAdmissionPolicy"),
            Unset("spec.admissionChecksStrategy", &["required"]),
            Unset(
                "spec.admissionChecksStrategy.admissionChecks",
                &["minItems", "maxItems", "x-kubernetes-list-type", "x-kubernetes-list-map-keys"],
            ),
            Unset("spec.admissionChecksStrategy.admissionChecks[].name", &["minLength"]),
            Unset(
                "spec.admissionChecksStrategy.admissionChecks[].onFlavors",
                &["maxItems", "x-kubernetes-list-type"],
            ),
            Unset("spec.admissionScope.admissionMode", &["enum"]),
            Set(
                "spec.flavorFungibility.whenCanBorrow",
                "enum",
                json!(["MayStopSearch", "TryNextFlavor", "Borrow"]),
            ),
            Set(
                "spec.flavorFungibility.whenCanPreempt",
                "enum",
                json!(["MayStopSearch", "TryNextFlavor", "Preempt"]),
            ),
            Unset("spec.resourceGroups[].coveredResources", &["x-kubernetes-list-type"]),
            conditions_unbounded(),
            fair_sharing_status("status.fairSharing.admissionFairSharingStatus"),
            Add(
                "status.pendingWorkloadsStatus",
                json!({"type": "object", "description": "Not filled (Kueue stopped filling it in v0.14; use the visibility API).",
                    "required": ["lastChangeTime"],
                    "properties": {
                        "clusterQueuePendingWorkload": {"type": "array", "x-kubernetes-list-type": "atomic",
                            "items": {"type": "object", "required": ["name", "namespace"],
                                "properties": {"name": {"type": "string"}, "namespace": {"type": "string"}}}},
                        "lastChangeTime": {"type": "string", "format": "date-time"}}}),
            ),
        ],
        "cohorts.kueue.x-k8s.io" => vec![
            Unset("spec.resourceGroups[].coveredResources", &["x-kubernetes-list-type"]),
            fair_sharing_status("status.fairSharing.admissionFairSharingStatus"),
        ],
        "localqueues.kueue.x-k8s.io" => vec![
            conditions_unbounded(),
            Rename("status.flavorsUsage", "flavorUsage"),
            Add(
                "status.flavors",
                json!({"type": "array", "description": "The ResourceFlavors of the ClusterQueue (v1beta1 only; not filled).",
                    "maxItems": 64, "x-kubernetes-list-type": "map", "x-kubernetes-list-map-keys": ["name"],
                    "items": {"type": "object", "required": ["name"], "properties": {
                        "name": {"type": "string", "maxLength": 253, "pattern": DNS_SUBDOMAIN},
                        "nodeLabels": {"type": "object", "maxProperties": 8, "x-kubernetes-map-type": "atomic", "additionalProperties": {"type": "string"}},
                        "nodeTaints": {"type": "array", "maxItems": 8, "x-kubernetes-list-type": "atomic", "items": {"type": "object", "required": ["effect", "key"],
                            "properties": {"effect": {"type": "string"}, "key": {"type": "string"}, "timeAdded": {"type": "string", "format": "date-time"}, "value": {"type": "string"}}}},
                        "resources": {"type": "array", "maxItems": 64, "x-kubernetes-list-type": "set", "items": {"type": "string"}},
                        "topology": {"type": "object", "required": ["levels", "name"], "properties": {
                            "levels": {"type": "array", "minItems": 1, "maxItems": 16, "x-kubernetes-list-type": "atomic", "items": {"type": "string"}},
                            "name": {"type": "string", "maxLength": 253, "pattern": DNS_SUBDOMAIN}}}}}}),
            ),
        ],
        "workloads.kueue.x-k8s.io" => workload_edits(),
        "admissionchecks.kueue.x-k8s.io" => vec![
            Unset("spec.controllerName", &["minLength", "maxLength"]),
            Unset("spec.parameters.apiGroup", &["minLength"]),
            Unset("spec.parameters.kind", &["minLength"]),
            Unset("spec.parameters.name", &["minLength"]),
            Add(
                "spec.retryDelayMinutes",
                json!({"type": "integer", "format": "int64", "default": 15,
                    "description": "Deprecated in Kueue since v0.8 and without effect; dropped in v1beta2."}),
            ),
            conditions_unbounded(),
        ],
        "workloadpriorityclasses.kueue.x-k8s.io" => vec![Unset("description", &["maxLength"])],
        _ => Vec::new(),
    }
}

fn workload_edits() -> Vec<Edit> {
    use Edit::{Add, Remove, Rename, Rules, Set, Unset};
    let ta = "status.admission.podSetAssignments[].topologyAssignment";
    let tr = "spec.podSets[].topologyRequest";
    vec![
        Rules(
            "",
            vec![
                ("has(self.status) && has(self.status.conditions) && self.status.conditions.exists(c, c.type == 'QuotaReserved' && c.status == 'True') && has(self.status.admission) ? size(self.spec.podSets) == size(self.status.admission.podSetAssignments) : true".into(),
                    "podSetAssignments must have the same number of podSets as the spec"),
                (format!("({RESERVED} && has(oldSelf.spec.priorityClassSource) && has(self.spec.priorityClassSource)) ? (oldSelf.spec.priorityClassSource == self.spec.priorityClassSource) : true"),
                    "priorityClassSource is immutable while workload quota reserved"),
                (format!("({RESERVED} && has(oldSelf.spec.priorityClassSource) && has(self.spec.priorityClassSource) && (self.spec.priorityClassSource != 'kueue.x-k8s.io/workloadpriorityclass') && has(oldSelf.spec.priorityClassName) && has(self.spec.priorityClassName)) ? (oldSelf.spec.priorityClassName == self.spec.priorityClassName) : true"),
                    "priorityClassName is immutable while workload quota reserved and priorityClassSource is not equal to kueue.x-k8s.io/workloadpriorityclass"),
                (format!("(({RESERVED}) && (has(self.status) && has(self.status.conditions) && self.status.conditions.exists(c, c.type == 'QuotaReserved' && c.status == 'True'))) ? ((has(oldSelf.spec.queueName) == has(self.spec.queueName)) && (!has(oldSelf.spec.queueName) || oldSelf.spec.queueName == self.spec.queueName)) : true"),
                    "queueName is immutable while workload quota reserved"),
                ("((has(oldSelf.status) && has(oldSelf.status.conditions) && oldSelf.status.conditions.exists(c, c.type == 'Admitted' && c.status == 'True')) && (has(self.status) && has(self.status.conditions) && self.status.conditions.exists(c, c.type == 'Admitted' && c.status == 'True')))?((has(oldSelf.spec.maximumExecutionTimeSeconds)?oldSelf.spec.maximumExecutionTimeSeconds:0) ==  (has(self.spec.maximumExecutionTimeSeconds)?self.spec.maximumExecutionTimeSeconds:0)):true".into(),
                    "maximumExecutionTimeSeconds is immutable while workload quota reserved"),
            ],
        ),
        Set("spec", "required", json!(["podSets"])),
        Rules(
            "spec",
            vec![("has(self.priorityClassName) ? has(self.priority) : true".into(),
                "priority should not be nil when priorityClassName is set")],
        ),
        Set("spec.podSets[]", "required", json!(["count", "template"])),
        Unset("spec.podSets[].topologyRequest.podIndexLabel", &["maxLength"]),
        Unset("spec.podSets[].topologyRequest.podSetGroupName", &["maxLength"]),
        Unset("spec.podSets[].topologyRequest.podSetSliceRequiredTopology", &["maxLength"]),
        Unset("spec.podSets[].topologyRequest.preferred", &["maxLength"]),
        Unset("spec.podSets[].topologyRequest.required", &["maxLength"]),
        Unset("spec.podSets[].topologyRequest.subGroupIndexLabel", &["maxLength"]),
        Remove(leak(format!("{tr}.podsetSliceRequiredTopologyConstraints"))),
        Remove("spec.preemptionGates"),
        Remove("spec.priorityClassRef"),
        Add(
            "spec.priorityClassName",
            json!({"type": "string", "maxLength": 253, "pattern": DNS_SUBDOMAIN,
                "description": "Name of the PriorityClass or WorkloadPriorityClass (per priorityClassSource) giving the priority."}),
        ),
        Add(
            "spec.priorityClassSource",
            json!({"type": "string", "default": "", "enum": ["kueue.x-k8s.io/workloadpriorityclass", "scheduling.k8s.io/priorityclass", ""],
                "description": "What priorityClassName names: a WorkloadPriorityClass or a pod PriorityClass."}),
        ),
        Rename("status.accumulatedPastExecutionTimeSeconds", "accumulatedPastExexcutionTimeSeconds"),
        Set("status.admission", "required", json!(["clusterQueue", "podSetAssignments"])),
        Set("status.admission.podSetAssignments[]", "required", json!(["name"])),
        Unset("status.admission.podSetAssignments[].delayedTopologyRequest", &["maxLength", "enum"]),
        Set(ta, "required", json!(["domains", "levels"])),
        Rules(ta, Vec::new()),
        Unset(leak(format!("{ta}.levels[]")), &["maxLength"]),
        Remove(leak(format!("{ta}.slices"))),
        Add(
            leak(format!("{ta}.domains")),
            json!({"type": "array", "description": "Pods per topology domain at the lowest level.",
                "items": {"type": "object", "required": ["count", "values"], "properties": {
                    "count": {"type": "integer", "format": "int32", "minimum": 1},
                    "values": {"type": "array", "minItems": 1, "maxItems": 16, "x-kubernetes-list-type": "atomic", "items": {"type": "string"}}}}}),
        ),
        Unset("status.admissionChecks[].name", &["minLength"]),
        Unset("status.admissionChecks[].podSetUpdates[].tolerations", &["x-kubernetes-list-type"]),
        Unset("status.clusterName", &["maxLength"]),
        conditions_unbounded(),
        Unset("status.nominatedClusterNames[]", &["maxLength"]),
        Remove("status.preemptionGates"),
        Unset("status.schedulingStats.evictions", &["maxItems"]),
        Unset("status.unhealthyNodes", &["maxItems", "x-kubernetes-list-type", "x-kubernetes-list-map-keys"]),
        Unset("status.unhealthyNodes[].name", &["maxLength"]),
    ]
}

/// Paths are built once per CRD generation; leaking them keeps `Edit` simple.
fn leak(s: String) -> &'static str {
    Box::leak(s.into_boxed_str())
}

/// The node at `path` (dotted; `[]` steps into items), or an error naming the path.
fn node<'a>(root: &'a mut Value, path: &str) -> Result<&'a mut Value, String> {
    let mut cur = root;
    if path.is_empty() {
        return Ok(cur);
    }
    for step in path.split('.') {
        let (name, items) = match step.strip_suffix("[]") {
            Some(n) => (n, true),
            None => (step, false),
        };
        cur = cur
            .get_mut("properties")
            .and_then(|p| p.get_mut(name))
            .ok_or_else(|| format!("no property {name:?} on the way to {path}"))?;
        if items {
            cur = cur
                .get_mut("items")
                .ok_or_else(|| format!("{name} has no items on the way to {path}"))?;
        }
    }
    Ok(cur)
}

fn parent_and_name(path: &str) -> (&str, &str) {
    path.rsplit_once('.').unwrap_or(("", path))
}

fn properties(node: &mut Value) -> Result<&mut Map<String, Value>, String> {
    node.get_mut("properties")
        .and_then(Value::as_object_mut)
        .ok_or_else(|| "not an object schema".to_owned())
}

fn apply(root: &mut Value, edit: &Edit) -> Result<(), String> {
    match edit {
        Edit::Remove(path) => {
            let (parent, name) = parent_and_name(path);
            let p = node(root, parent)?;
            properties(p)?
                .remove(name)
                .ok_or_else(|| format!("{path}: nothing to remove"))?;
            if let Some(Value::Array(req)) = p.get_mut("required") {
                req.retain(|r| r != name);
            }
        }
        Edit::Rename(path, to) => {
            let (parent, name) = parent_and_name(path);
            let p = node(root, parent)?;
            let props = properties(p)?;
            let schema = props
                .remove(name)
                .ok_or_else(|| format!("{path}: nothing to rename"))?;
            props.insert((*to).to_owned(), schema);
            if let Some(Value::Array(req)) = p.get_mut("required") {
                for r in req.iter_mut().filter(|r| *r == name) {
                    *r = Value::String((*to).to_owned());
                }
            }
        }
        Edit::Add(path, schema) => {
            let (parent, name) = parent_and_name(path);
            properties(node(root, parent)?)?.insert((*name).to_owned(), schema.clone());
        }
        Edit::Unset(path, keys) => {
            let n = node(root, path)?
                .as_object_mut()
                .ok_or_else(|| format!("{path}: not an object"))?;
            for k in *keys {
                n.remove(*k)
                    .ok_or_else(|| format!("{path}: no {k} to drop"))?;
            }
        }
        Edit::Set(path, key, value) => {
            node(root, path)?
                .as_object_mut()
                .ok_or_else(|| format!("{path}: not an object"))?
                .insert((*key).to_owned(), value.clone());
        }
        Edit::Rules(path, rules) => {
            let n = node(root, path)?
                .as_object_mut()
                .ok_or_else(|| format!("{path}: not an object"))?;
            if rules.is_empty() {
                n.remove("x-kubernetes-validations");
            } else {
                n.insert(
                    "x-kubernetes-validations".into(),
                    rules
                        .iter()
                        .map(|(rule, message)| json!({"rule": rule, "message": message}))
                        .collect(),
                );
            }
        }
    }
    Ok(())
}

/// The v1beta1 version entry of CRD `crd`, from its (compatibility-passed) v1beta2 entry: same
/// subresources and printer columns (the ClusterQueue's Cohort column reads `.spec.cohort`),
/// served, not stored, deprecated with Kueue's warning. An edit that does not find its node is an
/// error: the v1beta2 types changed and the differences must be looked at again.
///
/// # Errors
/// When an edit's path is not in the schema.
pub fn version(crd: &str, v1beta2: &Value) -> Result<Value, String> {
    let mut v = v1beta2.clone();
    let root = v
        .pointer_mut("/schema/openAPIV3Schema")
        .ok_or_else(|| format!("{crd}: v1beta2 has no schema"))?;
    for e in edits(crd) {
        apply(root, &e).map_err(|m| format!("{crd} v1beta1: {m}"))?;
    }
    if let Some(cols) = v
        .get_mut("additionalPrinterColumns")
        .and_then(Value::as_array_mut)
    {
        for c in cols {
            if c["jsonPath"] == ".spec.cohortName" && crd.starts_with("clusterqueues.") {
                c["jsonPath"] = json!(".spec.cohort");
            }
        }
    }
    let obj = v
        .as_object_mut()
        .ok_or_else(|| format!("{crd}: version is not an object"))?;
    // Kueue's v1beta1 declares no selectable fields (v1beta2's Workloads select on the admitted
    // ClusterQueue).
    obj.remove("selectableFields");
    obj.insert("name".into(), json!("v1beta1"));
    obj.insert("served".into(), json!(true));
    obj.insert("storage".into(), json!(false));
    obj.insert("deprecated".into(), json!(true));
    obj.insert("deprecationWarning".into(), json!(DEPRECATION_WARNING));
    Ok(v)
}
