use std::collections::BTreeMap;
use std::sync::atomic::{AtomicUsize, Ordering};

use serde_json::{Value, json};
use turnstile_core::{CycleConfig, schedule_cycle};

use super::*;
use crate::metrics_auth::Boxed;

fn obj<T: serde::de::DeserializeOwned>(v: Value) -> T {
    serde_json::from_value(v).unwrap()
}

fn cq(name: &str, nominal: &str) -> api::ClusterQueue {
    obj(
        json!({"metadata": {"name": name}, "spec": {"namespaceSelector": {}, "resourceGroups": [
        {"coveredResources": ["cpu"], "flavors": [{"name": "default", "resources": [{"name": "cpu", "nominalQuota": nominal}]}]}]}}),
    )
}

fn wl(ns: &str, lq: &str, name: &str, priority: i32, created: &str) -> api::Workload {
    obj(
        json!({"metadata": {"name": name, "namespace": ns, "uid": format!("uid-{name}"), "creationTimestamp": created,
            "ownerReferences": [{"apiVersion": "batch/v1", "kind": "Job", "name": format!("job-{name}"),
                "uid": format!("job-uid-{name}"), "controller": true, "blockOwnerDeletion": true}]},
        "spec": {"queueName": lq, "priority": priority, "podSets": [{"name": "main", "count": 1, "template": {"spec": {"containers": [
            {"name": "c", "image": "i", "resources": {"requests": {"cpu": "1"}}}]}}}]}}),
    )
}

/// ClusterQueue `cq` (no quota), LocalQueues `a/lq` and `b/lq` on it, and seven workloads:
/// priorities and creation times mixed across the two LocalQueues.
fn setup() -> Index {
    let mut ix = Index::default();
    ix.apply_flavor(obj(json!({"metadata": {"name": "default"}})));
    ix.apply_cluster_queue(cq("cq", "0"));
    for ns in ["a", "b"] {
        ix.apply_namespace(ns, BTreeMap::new());
        ix.apply_local_queue(obj(
            json!({"metadata": {"name": "lq", "namespace": ns}, "spec": {"clusterQueue": "cq"}}),
        ));
    }
    ix.apply_local_queue(obj(
        json!({"metadata": {"name": "orphan", "namespace": "a"}, "spec": {"clusterQueue": "gone"}}),
    ));
    for (ns, name, prio, t) in [
        ("a", "a1", 0, 1),
        ("b", "b1", 0, 2),
        ("a", "a2", 5, 3),
        ("b", "b2", 5, 4),
        ("a", "a3", 0, 5),
        ("b", "b3", 9, 6),
        ("a", "a4", 0, 7),
    ] {
        ix.apply_workload(wl(ns, "lq", name, prio, &format!("2026-12-05T00:00:0{t}Z")));
    }
    ix
}

fn names(body: &str) -> Vec<(String, i64, i64)> {
    let v: Value = serde_json::from_str(body).unwrap();
    v["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| {
            (
                i["metadata"]["name"].as_str().unwrap().to_owned(),
                i["positionInClusterQueue"].as_i64().unwrap(),
                i["positionInLocalQueue"].as_i64().unwrap(),
            )
        })
        .collect()
}

fn get(ix: &Index, path: &str, query: Option<&str>) -> Result<String, Failure> {
    answer(&route("GET", path, query)?, ix)
}

const CQ: &str = "/apis/visibility.kueue.x-k8s.io/v1beta2/clusterqueues/cq/pendingworkloads";
const LQ_B: &str =
    "/apis/visibility.kueue.x-k8s.io/v1beta2/namespaces/b/localqueues/lq/pendingworkloads";

#[test]
fn a_cluster_queue_lists_its_pending_workloads_in_queue_order_with_both_positions() {
    let ix = setup();
    let body = get(&ix, CQ, None).unwrap();
    let v: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(v["kind"], "PendingWorkloadsSummary");
    assert_eq!(v["apiVersion"], "visibility.kueue.x-k8s.io/v1beta2");
    assert_eq!(
        names(&body),
        [
            ("b3", 0, 0),
            ("a2", 1, 0),
            ("b2", 2, 1),
            ("a1", 3, 1),
            ("b1", 4, 2),
            ("a3", 5, 2),
            ("a4", 6, 3)
        ]
        .map(|(n, c, l)| (n.to_owned(), c, l))
    );
    let first = &v["items"][0];
    assert_eq!(first["priority"], 9);
    assert_eq!(first["localQueueName"], "lq");
    assert_eq!(first["metadata"]["namespace"], "b");
    assert_eq!(
        first["metadata"]["creationTimestamp"],
        "2026-12-05T00:00:06Z"
    );
    assert_eq!(
        first["metadata"]["ownerReferences"],
        json!([{"apiVersion": "batch/v1", "kind": "Job", "name": "job-b3", "uid": "job-uid-b3"}]),
        "owner references without controller/blockOwnerDeletion, as Kueue lists them"
    );
    // v1beta1 is the same list under its own apiVersion.
    let old = get(
        &ix,
        "/apis/visibility.kueue.x-k8s.io/v1beta1/clusterqueues/cq/pendingworkloads",
        None,
    )
    .unwrap();
    assert_eq!(names(&old), names(&body));
    assert!(old.contains("visibility.kueue.x-k8s.io/v1beta1"));
}

#[test]
fn limit_and_offset_page_as_kueue_does() {
    let ix = setup();
    let page = |q: &str| names(&get(&ix, CQ, Some(q)).unwrap());
    assert_eq!(
        page("limit=2&offset=3"),
        vec![("a1".into(), 3, 1), ("b1".into(), 4, 2)],
        "positions in the LocalQueue still count the skipped items"
    );
    assert_eq!(page("limit=0").len(), 7, "limit 0 is the default 1000");
    assert!(page("limit=-3").is_empty(), "a negative limit is 0");
    assert_eq!(page("offset=-4").len(), 7, "a negative offset is 0");
    assert!(page("offset=7").is_empty());
    let lq = |q: Option<&str>| names(&get(&ix, LQ_B, q).unwrap());
    assert_eq!(
        lq(None),
        vec![
            ("b3".into(), 0, 0),
            ("b2".into(), 2, 1),
            ("b1".into(), 4, 2)
        ]
    );
    assert_eq!(lq(Some("offset=1&limit=1")), vec![("b2".into(), 2, 1)]);
    let bad = get(&ix, CQ, Some("limit=ten")).unwrap_err();
    assert_eq!((bad.code, bad.reason), (400, "BadRequest"));
    assert!(bad.message.contains("limit"), "{}", bad.message);
}

#[test]
fn unknown_queues_and_paths_get_kubernetes_statuses() {
    let ix = setup();
    let f = get(
        &ix,
        "/apis/visibility.kueue.x-k8s.io/v1beta2/clusterqueues/nope/pendingworkloads",
        None,
    )
    .unwrap_err();
    assert_eq!(f.code, 404);
    let status: Value = serde_json::from_str(&f.body()).unwrap();
    assert_eq!(
        status["message"],
        "clusterqueue.visibility.kueue.x-k8s.io \"nope\" not found"
    );
    assert_eq!(status["details"]["kind"], "clusterqueue");
    assert_eq!(status["kind"], "Status");
    let f = get(
        &ix,
        "/apis/visibility.kueue.x-k8s.io/v1beta2/namespaces/a/localqueues/nope/pendingworkloads",
        None,
    )
    .unwrap_err();
    assert_eq!(
        f.message,
        "localqueue.visibility.kueue.x-k8s.io \"nope\" not found"
    );
    // A LocalQueue whose ClusterQueue does not exist lists nothing.
    let body = get(
        &ix,
        "/apis/visibility.kueue.x-k8s.io/v1beta2/namespaces/a/localqueues/orphan/pendingworkloads",
        None,
    )
    .unwrap();
    assert!(names(&body).is_empty());
    assert_eq!(
        route(
            "GET",
            "/apis/visibility.kueue.x-k8s.io/v1alpha1/clusterqueues/cq/pendingworkloads",
            None
        )
        .unwrap_err()
        .code,
        404
    );
    assert_eq!(
        route(
            "GET",
            "/apis/visibility.kueue.x-k8s.io/v1beta2/clusterqueues/cq",
            None
        )
        .unwrap_err()
        .code,
        405
    );
    assert_eq!(route("POST", CQ, None).unwrap_err().code, 405);
    assert_eq!(route("GET", "/metrics", None).unwrap_err().code, 404);
}

#[test]
fn discovery_documents_name_the_group_versions_and_resources() {
    let ix = setup();
    let list: Value =
        serde_json::from_str(&get(&ix, "/apis/visibility.kueue.x-k8s.io/v1beta2", None).unwrap())
            .unwrap();
    assert_eq!(list["kind"], "APIResourceList");
    assert_eq!(list["groupVersion"], "visibility.kueue.x-k8s.io/v1beta2");
    let res: Vec<(&str, bool)> = list["resources"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["name"].as_str().unwrap(),
                r["namespaced"].as_bool().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        res,
        [
            ("clusterqueues", false),
            ("clusterqueues/pendingworkloads", false),
            ("localqueues", true),
            ("localqueues/pendingworkloads", true)
        ]
    );
    let group: Value =
        serde_json::from_str(&get(&ix, "/apis/visibility.kueue.x-k8s.io", None).unwrap()).unwrap();
    assert_eq!(
        group["preferredVersion"]["groupVersion"],
        "visibility.kueue.x-k8s.io/v1beta2"
    );
    assert_eq!(group["versions"].as_array().unwrap().len(), 2);
}

#[test]
fn positions_are_the_order_in_which_the_scheduler_admits() {
    let mut ix = setup();
    let listed: Vec<String> = names(&get(&ix, CQ, None).unwrap())
        .into_iter()
        .map(|(n, ..)| n)
        .collect();
    let mut admitted = Vec::new();
    // One more cpu of quota at a time: each cycle admits exactly the next workload.
    for n in 1..=listed.len() {
        ix.apply_cluster_queue(cq("cq", &n.to_string()));
        let out = schedule_cycle(
            &ix.snapshot(),
            &ix.heads(i64::MAX),
            0,
            &CycleConfig::default(),
        );
        ix.apply_outcome(&out);
        for d in &out.decisions {
            if let turnstile_core::cycle::Decision::Admit { key, .. } = d {
                admitted.push(key.rsplit('/').next().unwrap().to_owned());
            }
        }
        // What is still listed is what is left, positions renumbered from 0.
        let left = names(&get(&ix, CQ, None).unwrap());
        assert_eq!(left.len(), listed.len() - n);
        assert!(
            left.iter()
                .enumerate()
                .all(|(i, (_, p, _))| *p == i64::try_from(i).unwrap())
        );
    }
    assert_eq!(admitted, listed);
}

#[test]
fn the_front_proxy_configmap_is_read_as_kube_apiserver_writes_it() {
    let data: BTreeMap<String, String> = [
        ("client-ca-file", "ignored"),
        (
            "requestheader-client-ca-file",
            "-----BEGIN CERTIFICATE-----\n...",
        ),
        ("requestheader-allowed-names", "[\"front-proxy-client\"]"),
        ("requestheader-username-headers", "[\"X-Remote-User\"]"),
        ("requestheader-group-headers", "[\"X-Remote-Group\"]"),
        (
            "requestheader-extra-headers-prefix",
            "[\"X-Remote-Extra-\"]",
        ),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .collect();
    let fp = FrontProxy::from_configmap(&data).unwrap().unwrap();
    assert_eq!(fp.allowed_names, ["front-proxy-client"]);
    assert_eq!(fp.username_headers, ["x-remote-user"]);
    let headers: Vec<(String, String)> = [
        ("x-remote-user", "alice"),
        ("x-remote-group", "dev"),
        ("x-remote-group", "system:authenticated"),
        ("x-remote-extra-scopes", "a"),
        ("x-remote-extra-acme.com%2fproject", "p"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .collect();
    let who = fp.identity(Some("front-proxy-client"), &headers).unwrap();
    assert_eq!(who.user, "alice");
    assert_eq!(who.groups, ["dev", "system:authenticated"]);
    assert_eq!(who.extra["scopes"], ["a"]);
    assert_eq!(who.extra["acme.com/project"], ["p"]);
    assert_eq!(
        fp.identity(Some("someone-else"), &headers),
        None,
        "a certificate of the CA with a name not allowed proves nothing"
    );
    assert_eq!(
        fp.identity(None, &headers),
        None,
        "headers alone prove nothing"
    );
    assert_eq!(
        fp.identity(Some("front-proxy-client"), &[]),
        None,
        "no user header"
    );
    let mut no_ca = data.clone();
    no_ca.remove("requestheader-client-ca-file");
    assert_eq!(FrontProxy::from_configmap(&no_ca).unwrap(), None);
    let mut broken = data;
    broken.insert(
        "requestheader-allowed-names".into(),
        "front-proxy-client".into(),
    );
    let err = FrontProxy::from_configmap(&broken).unwrap_err();
    assert!(err.starts_with("requestheader-allowed-names"), "{err}");
}

/// Knows the token "t-alice"; alice may read ClusterQueue "cq" only, everyone may read
/// LocalQueues in namespace "a".
#[derive(Default)]
struct Fake {
    calls: AtomicUsize,
}

impl Reviewer for Fake {
    fn authenticate<'a>(&'a self, token: &'a str) -> Boxed<'a, Result<Option<Identity>, String>> {
        self.calls.fetch_add(1, Ordering::SeqCst);
        Box::pin(async move {
            Ok((token == "t-alice").then(|| Identity {
                user: "alice".into(),
                ..Identity::default()
            }))
        })
    }

    fn authorize<'a>(
        &'a self,
        who: &'a Identity,
        what: &'a Access,
    ) -> Boxed<'a, Result<(bool, String), String>> {
        self.calls.fetch_add(1, Ordering::SeqCst);
        Box::pin(async move {
            let Access::Resource {
                resource,
                namespace,
                name,
                ..
            } = what
            else {
                return Ok((false, String::new()));
            };
            Ok((
                (resource == "clusterqueues" && who.user == "alice" && name == "cq")
                    || (resource == "localqueues" && namespace == "a"),
                String::new(),
            ))
        })
    }
}

fn request(
    path: &str,
    headers: &[(&str, &str)],
    peer: Option<&str>,
) -> turnstile_webhook::server::GetRequest {
    turnstile_webhook::server::GetRequest {
        method: "GET".into(),
        path: path.into(),
        query: None,
        headers: headers
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect(),
        peer_common_name: peer.map(str::to_owned),
    }
}

#[tokio::test]
async fn requests_are_authenticated_then_authorized_per_queue() {
    let gate = Gatekeeper::new(Fake::default());
    gate.set_front_proxy(Some(FrontProxy {
        client_ca: String::new(),
        allowed_names: vec!["front-proxy-client".into()],
        username_headers: vec!["x-remote-user".into()],
        group_headers: vec!["x-remote-group".into()],
        extra_prefixes: vec!["x-remote-extra-".into()],
    }));
    let index = Mutex::new(setup());
    let t0 = Instant::now();
    let run = |req| {
        let (gate, index) = (&gate, &index);
        async move { handle(&req, gate, index, t0).await }
    };
    let (code, _, body) = run(request(CQ, &[], None)).await;
    assert_eq!(code, 401, "{body}");
    assert_eq!(
        run(request(CQ, &[("authorization", "Bearer forged")], None))
            .await
            .0,
        401
    );
    let (code, ct, body) = run(request(CQ, &[("authorization", "Bearer t-alice")], None)).await;
    assert_eq!((code, ct), (200, "application/json"), "{body}");
    assert_eq!(names(&body).len(), 7);
    // Proxied by kube-apiserver as bob: authenticated by the front proxy, not allowed the
    // ClusterQueue, allowed a LocalQueue of namespace a.
    let bob = [("x-remote-user", "bob"), ("x-remote-group", "dev")];
    let (code, _, body) = run(request(CQ, &bob, Some("front-proxy-client"))).await;
    assert_eq!(code, 403, "{body}");
    let status: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(
        status["message"],
        "clusterqueues.visibility.kueue.x-k8s.io \"cq\" is forbidden: User \"bob\" cannot get resource \"clusterqueues/pendingworkloads\" in API group \"visibility.kueue.x-k8s.io\" at the cluster scope"
    );
    let lq_a =
        "/apis/visibility.kueue.x-k8s.io/v1beta2/namespaces/a/localqueues/lq/pendingworkloads";
    let (code, _, body) = run(request(lq_a, &bob, Some("front-proxy-client"))).await;
    assert_eq!(code, 200, "{body}");
    assert_eq!(names(&body).len(), 4);
    assert_eq!(
        run(request(LQ_B, &bob, Some("front-proxy-client"))).await.0,
        403
    );
    // User headers from a client whose certificate is not the proxy's are not believed.
    assert_eq!(run(request(lq_a, &bob, Some("mallory"))).await.0, 401);
    // Discovery needs only authentication; health nothing.
    assert_eq!(
        run(request(
            "/apis/visibility.kueue.x-k8s.io/v1beta2",
            &bob,
            Some("front-proxy-client")
        ))
        .await
        .0,
        200
    );
    assert_eq!(run(request("/healthz", &[], None)).await.0, 200);
    // Aggregated discovery is declined so that kube-apiserver reads the version documents.
    assert_eq!(
        run(request(
            "/apis",
            &[(
                "accept",
                "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList"
            )],
            Some("front-proxy-client")
        ))
        .await
        .0,
        404
    );
    // Verdicts are cached: asking again within 10 s costs no review.
    let calls = gate.reviewer.calls.load(Ordering::SeqCst);
    run(request(lq_a, &bob, Some("front-proxy-client"))).await;
    run(request(CQ, &[("authorization", "Bearer t-alice")], None)).await;
    assert_eq!(gate.reviewer.calls.load(Ordering::SeqCst), calls);
}
