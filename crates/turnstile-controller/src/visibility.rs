//! Kueue's visibility API, `visibility.kueue.x-k8s.io` `v1beta2` and `v1beta1`, served as an
//! aggregated API (an `APIService` per version in front of this server): the pending workloads of
//! a ClusterQueue or a LocalQueue, in the order the scheduler considers them, with their positions
//! (`kubectl get --raw /apis/visibility.kueue.x-k8s.io/v1beta2/clusterqueues/<cq>/pendingworkloads`,
//! kueuectl's POSITION column).
//!
//! Every replica serves it from its own cache (the watches run on every replica), as Kueue's does.
//!
//! Who may read what is decided as an aggregated API server does: a request proxied by
//! kube-apiserver carries a client certificate of the front-proxy CA (the
//! `kube-system/extension-apiserver-authentication` ConfigMap) and the user in its
//! `X-Remote-User`/`X-Remote-Group`/`X-Remote-Extra-` headers; a request made directly carries a
//! bearer token (TokenReview). The user is then authorized with a SubjectAccessReview for `get` on
//! `clusterqueues/pendingworkloads` (or `localqueues/pendingworkloads` in the namespace), which
//! Kueue's ClusterRoles `pending-workloads-cq-viewer`/`-lq-viewer` grant (the chart ships them).
//!
//! The routing, the lists, the documents and the header rules are pure functions below; [`serve`]
//! is the I/O around them.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use k8s_openapi::api::core::v1::ConfigMap;
use kube::Api;
use serde_json::{Value, json};
use turnstile_api::v1beta2 as api;
use turnstile_state::index::Index;

use crate::metrics_auth::{Access, ApiReviewer, Identity, Reviewer};

/// The API group.
pub const GROUP: &str = "visibility.kueue.x-k8s.io";
/// The versions served, preferred first.
pub const VERSIONS: [&str; 2] = ["v1beta2", "v1beta1"];
/// Kueue's default `limit`.
pub const DEFAULT_LIMIT: i64 = 1000;
/// Kueue's largest `limit`.
pub const MAX_LIMIT: i64 = 100_000;
/// The ConfigMap kube-apiserver publishes its front-proxy settings in.
pub const AUTHENTICATION_CONFIGMAP: (&str, &str) =
    ("kube-system", "extension-apiserver-authentication");
/// The names of the APIServices Kueue installs (the chart installs the same).
pub const API_SERVICES: [&str; 2] = [
    "v1beta2.visibility.kueue.x-k8s.io",
    "v1beta1.visibility.kueue.x-k8s.io",
];

const JSON: &str = "application/json";

/// What a request asks for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Route {
    /// `/healthz`, `/readyz`, `/livez`.
    Health,
    /// `/apis`: the group list.
    Groups,
    /// `/apis/visibility.kueue.x-k8s.io`: the group.
    Group,
    /// `/apis/visibility.kueue.x-k8s.io/<version>`: the resource list.
    Resources {
        /// Version.
        version: &'static str,
    },
    /// The pending workloads of a ClusterQueue.
    ClusterQueue {
        /// Version.
        version: &'static str,
        /// ClusterQueue name.
        name: String,
        /// Page.
        page: Page,
    },
    /// The pending workloads of a LocalQueue.
    LocalQueue {
        /// Version.
        version: &'static str,
        /// Namespace.
        namespace: String,
        /// LocalQueue name.
        name: String,
        /// Page.
        page: Page,
    },
}

/// `limit` and `offset` as Kueue reads them: a missing or zero limit is 1000, a negative one 0,
/// at most 100,000; a negative offset is 0.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Page {
    /// Most items returned.
    pub limit: usize,
    /// Items skipped.
    pub offset: usize,
}

/// An answer that is not a list: a Kubernetes `Status`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Failure {
    /// HTTP code.
    pub code: u16,
    /// `reason` (`NotFound`, `BadRequest`, `MethodNotAllowed`, `Forbidden`, `Unauthorized`).
    pub reason: &'static str,
    /// `message`.
    pub message: String,
    /// `details` (name, group, kind), when about one object.
    pub details: Option<(String, String)>,
}

impl Failure {
    fn new(code: u16, reason: &'static str, message: impl Into<String>) -> Self {
        Self {
            code,
            reason,
            message: message.into(),
            details: None,
        }
    }

    /// Kueue's not-found error for a queue (`clusterqueue.visibility.kueue.x-k8s.io "x" not found`).
    pub fn not_found(kind: &str, name: &str) -> Self {
        Self {
            code: 404,
            reason: "NotFound",
            message: format!("{kind}.{GROUP} \"{name}\" not found"),
            details: Some((kind.to_owned(), name.to_owned())),
        }
    }

    /// The `Status` document.
    pub fn body(&self) -> String {
        let mut status = json!({
            "kind": "Status",
            "apiVersion": "v1",
            "metadata": {},
            "status": "Failure",
            "message": self.message,
            "reason": self.reason,
            "code": self.code,
        });
        if let Some((kind, name)) = &self.details {
            status["details"] = json!({ "name": name, "group": GROUP, "kind": kind });
        }
        status.to_string()
    }
}

fn version_of(text: &str) -> Option<&'static str> {
    VERSIONS.into_iter().find(|v| *v == text)
}

/// Reads `limit` and `offset` from a query string; other parameters are ignored (as Kueue's
/// server ignores what its options do not have).
pub fn page(query: Option<&str>) -> Result<Page, Failure> {
    let mut limit: i64 = 0;
    let mut offset: i64 = 0;
    for pair in query
        .unwrap_or_default()
        .split('&')
        .filter(|p| !p.is_empty())
    {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        let target = match k {
            "limit" => &mut limit,
            "offset" => &mut offset,
            _ => continue,
        };
        *target = v.parse().map_err(|_| {
            Failure::new(
                400,
                "BadRequest",
                format!("{k}: Invalid value: \"{v}\": must be an integer"),
            )
        })?;
    }
    if limit == 0 {
        limit = DEFAULT_LIMIT;
    }
    let limit = limit.clamp(0, MAX_LIMIT);
    let offset = offset.max(0);
    Ok(Page {
        limit: usize::try_from(limit).unwrap_or(0),
        offset: usize::try_from(offset).unwrap_or(usize::MAX),
    })
}

/// Finds the route of a request.
pub fn route(method: &str, path: &str, query: Option<&str>) -> Result<Route, Failure> {
    let parts: Vec<&str> = path.trim_end_matches('/').split('/').skip(1).collect();
    let route = match parts.as_slice() {
        ["healthz" | "readyz" | "livez"] => Route::Health,
        ["apis"] => Route::Groups,
        ["apis", g] if *g == GROUP => Route::Group,
        ["apis", g, v] if *g == GROUP => Route::Resources {
            version: version_of(v).ok_or_else(|| not_found_path(path))?,
        },
        ["apis", g, v, "clusterqueues", name, "pendingworkloads"] if *g == GROUP => {
            Route::ClusterQueue {
                version: version_of(v).ok_or_else(|| not_found_path(path))?,
                name: (*name).to_owned(),
                page: page(query)?,
            }
        }
        [
            "apis",
            g,
            v,
            "namespaces",
            ns,
            "localqueues",
            name,
            "pendingworkloads",
        ] if *g == GROUP => Route::LocalQueue {
            version: version_of(v).ok_or_else(|| not_found_path(path))?,
            namespace: (*ns).to_owned(),
            name: (*name).to_owned(),
            page: page(query)?,
        },
        ["apis", g, v, "clusterqueues", ..]
        | ["apis", g, v, "namespaces", _, "localqueues", ..]
            if *g == GROUP && version_of(v).is_some() =>
        {
            return Err(Failure::new(
                405,
                "MethodNotAllowed",
                "the server does not allow this method on the requested resource",
            ));
        }
        _ => return Err(not_found_path(path)),
    };
    if method != "GET" {
        return Err(Failure::new(
            405,
            "MethodNotAllowed",
            "the server does not allow this method on the requested resource",
        ));
    }
    Ok(route)
}

fn not_found_path(path: &str) -> Failure {
    Failure::new(
        404,
        "NotFound",
        format!("the server could not find the requested resource ({path})"),
    )
}

/// One pending workload: its identity (name, namespace, creation time, owners, queue name) and
/// its scheduling model (priority, queue order).
#[derive(Clone, Debug)]
pub struct Pending {
    /// The Workload's identity.
    pub workload: api::Workload,
    /// The scheduler's model of it.
    pub model: std::sync::Arc<turnstile_core::model::Workload>,
}

impl AsRef<turnstile_core::model::Workload> for Pending {
    fn as_ref(&self) -> &turnstile_core::model::Workload {
        &self.model
    }
}

impl Pending {
    fn namespace(&self) -> &str {
        self.workload
            .metadata
            .namespace
            .as_deref()
            .unwrap_or_default()
    }

    fn queue_name(&self) -> &str {
        self.workload
            .spec
            .queue_name
            .as_ref()
            .map(api::LocalQueueName::as_str)
            .unwrap_or_default()
    }

    /// The `PendingWorkload` item.
    fn item(&self, in_cluster_queue: usize, in_local_queue: usize) -> Value {
        let meta = &self.workload.metadata;
        let mut metadata = json!({
            "name": meta.name.as_deref().unwrap_or_default(),
            "namespace": self.namespace(),
            "creationTimestamp": meta.creation_timestamp,
        });
        let owners: Vec<Value> = meta
            .owner_references
            .iter()
            .flatten()
            .map(|r| {
                json!({
                    "apiVersion": r.api_version,
                    "kind": r.kind,
                    "name": r.name,
                    "uid": r.uid,
                })
            })
            .collect();
        if !owners.is_empty() {
            metadata["ownerReferences"] = Value::Array(owners);
        }
        json!({
            "metadata": metadata,
            "priority": self.model.priority,
            "localQueueName": self.queue_name(),
            "positionInClusterQueue": in_cluster_queue,
            "positionInLocalQueue": in_local_queue,
        })
    }
}

/// The items of a ClusterQueue's summary: positions in the ClusterQueue from 0, positions in each
/// LocalQueue counted over the ClusterQueue's order, `offset` items skipped, at most `limit`.
pub fn cluster_queue_items(all: &[Pending], page: Page) -> Vec<Value> {
    let mut in_local: BTreeMap<(&str, &str), usize> = BTreeMap::new();
    let mut out = Vec::new();
    for (position, p) in all.iter().enumerate() {
        if out.len() >= page.limit {
            break;
        }
        let n = in_local.entry((p.namespace(), p.queue_name())).or_default();
        let local = *n;
        *n += 1;
        if position >= page.offset {
            out.push(p.item(position, local));
        }
    }
    out
}

/// The items of a LocalQueue's summary: its workloads in the ClusterQueue's order, `offset` of
/// them skipped, at most `limit`, with their positions in both queues.
pub fn local_queue_items(all: &[Pending], namespace: &str, name: &str, page: Page) -> Vec<Value> {
    all.iter()
        .enumerate()
        .filter(|(_, p)| p.namespace() == namespace && p.queue_name() == name)
        .enumerate()
        .skip(page.offset)
        .take(page.limit)
        .map(|(local, (position, p))| p.item(position, local))
        .collect()
}

/// A `PendingWorkloadsSummary` document.
pub fn summary(version: &str, items: &[Value]) -> String {
    json!({
        "kind": "PendingWorkloadsSummary",
        "apiVersion": format!("{GROUP}/{version}"),
        "metadata": {},
        "items": items,
    })
    .to_string()
}

/// The `APIResourceList` of a version.
pub fn resources(version: &str) -> String {
    let resource = |name: &str, singular: &str, namespaced: bool, verbs: &[&str]| {
        json!({
            "name": name,
            "singularName": singular,
            "namespaced": namespaced,
            "kind": "PendingWorkloadsSummary",
            "verbs": verbs,
        })
    };
    json!({
        "kind": "APIResourceList",
        "apiVersion": "v1",
        "groupVersion": format!("{GROUP}/{version}"),
        "resources": [
            resource("clusterqueues", "clusterqueue", false, &[]),
            resource("clusterqueues/pendingworkloads", "", false, &["get"]),
            resource("localqueues", "localqueue", true, &[]),
            resource("localqueues/pendingworkloads", "", true, &["get"]),
        ],
    })
    .to_string()
}

fn group() -> Value {
    let versions: Vec<Value> = VERSIONS
        .iter()
        .map(|v| json!({ "groupVersion": format!("{GROUP}/{v}"), "version": v }))
        .collect();
    json!({
        "kind": "APIGroup",
        "apiVersion": "v1",
        "name": GROUP,
        "versions": versions,
        "preferredVersion": versions[0],
    })
}

/// The `APIGroupList` (`/apis`) and `APIGroup` documents.
pub fn groups() -> (String, String) {
    let g = group();
    let list = json!({ "kind": "APIGroupList", "apiVersion": "v1", "groups": [g.clone()] });
    (list.to_string(), g.to_string())
}

/// Kube-apiserver's front-proxy settings, from the `extension-apiserver-authentication` ConfigMap.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct FrontProxy {
    /// The CAs of the proxy's client certificates (PEM).
    pub client_ca: String,
    /// Common names a proxy certificate may have (any, when empty).
    pub allowed_names: Vec<String>,
    /// Headers naming the user, first non-empty wins.
    pub username_headers: Vec<String>,
    /// Headers naming the groups.
    pub group_headers: Vec<String>,
    /// Prefixes of the headers carrying extra attributes.
    pub extra_prefixes: Vec<String>,
}

impl FrontProxy {
    /// Reads the ConfigMap's data; `Ok(None)` when it has no front-proxy CA (kube-apiserver runs
    /// without `--requestheader-client-ca-file`).
    pub fn from_configmap(data: &BTreeMap<String, String>) -> Result<Option<Self>, String> {
        let Some(ca) = data
            .get("requestheader-client-ca-file")
            .filter(|c| !c.trim().is_empty())
        else {
            return Ok(None);
        };
        let list = |key: &str| -> Result<Vec<String>, String> {
            match data.get(key).map(|v| v.trim()).filter(|v| !v.is_empty()) {
                None => Ok(Vec::new()),
                Some(v) => serde_json::from_str::<Vec<String>>(v)
                    .map_err(|e| format!("{key}: not a JSON list of strings: {e}")),
            }
        };
        let lower = |v: Vec<String>| v.into_iter().map(|h| h.to_ascii_lowercase()).collect();
        Ok(Some(Self {
            client_ca: ca.clone(),
            allowed_names: list("requestheader-allowed-names")?,
            username_headers: lower(list("requestheader-username-headers")?),
            group_headers: lower(list("requestheader-group-headers")?),
            extra_prefixes: lower(list("requestheader-extra-headers-prefix")?),
        }))
    }

    /// The user a proxied request stands for: only when the client certificate (already verified
    /// against [`FrontProxy::client_ca`] in the handshake) has an allowed name and a user header
    /// is set. Headers are `(lower-case name, value)`.
    pub fn identity(&self, peer: Option<&str>, headers: &[(String, String)]) -> Option<Identity> {
        let cn = peer?;
        if !self.allowed_names.is_empty() && !self.allowed_names.iter().any(|n| n == cn) {
            return None;
        }
        let values = |name: &String| -> Vec<String> {
            headers
                .iter()
                .filter(|(n, _)| n == name)
                .map(|(_, v)| v.clone())
                .collect()
        };
        let user = self
            .username_headers
            .iter()
            .find_map(|h| values(h).into_iter().find(|v| !v.is_empty()))?;
        let groups = self.group_headers.iter().flat_map(values).collect();
        let mut extra: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for (name, value) in headers {
            if let Some(key) = self
                .extra_prefixes
                .iter()
                .find_map(|p| name.strip_prefix(p.as_str()))
            {
                extra
                    .entry(unescape(key).to_ascii_lowercase())
                    .or_default()
                    .push(value.clone());
            }
        }
        Some(Identity {
            user,
            groups,
            uid: None,
            extra,
        })
    }
}

/// Percent-decoding of an extra header's key (the apiserver escapes keys that are not tokens).
fn unescape(key: &str) -> String {
    let bytes = key.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%'
            && let Some(h) = key.get(i + 1..i + 3)
            && let Ok(b) = u8::from_str_radix(h, 16)
        {
            out.push(b);
            i += 3;
            continue;
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// What a route needs the user to be allowed (`None`: any authenticated user, as discovery).
pub fn access(route: &Route) -> Option<Access> {
    let (version, resource, namespace, name) = match route {
        Route::ClusterQueue { version, name, .. } => (version, "clusterqueues", "", name),
        Route::LocalQueue {
            version,
            namespace,
            name,
            ..
        } => (version, "localqueues", namespace.as_str(), name),
        _ => return None,
    };
    Some(Access::Resource {
        group: GROUP.into(),
        version: (*version).into(),
        resource: resource.into(),
        subresource: "pendingworkloads".into(),
        namespace: namespace.into(),
        name: name.clone(),
        verb: "get".into(),
    })
}

/// What a request needs from the cache, copied out under its lock (sorting and rendering happen
/// after the lock is released: a large ClusterQueue must not hold up the scheduler).
#[derive(Debug)]
pub enum Gathered {
    /// Nothing (discovery, health).
    Nothing,
    /// The ClusterQueue's pending workloads (`None`: no such ClusterQueue).
    ClusterQueue(Option<Vec<Pending>>),
    /// The LocalQueue's ClusterQueue's pending workloads (`None`: no such LocalQueue; a
    /// LocalQueue whose ClusterQueue does not exist lists nothing, as Kueue's).
    LocalQueue(Option<Vec<Pending>>),
}

/// Copies out of the cache what `route` needs (no sorting: see [`Gathered`]).
pub fn gather(route: &Route, index: &Index) -> Gathered {
    let members = |cq: &str| -> Option<Vec<Pending>> {
        index.pending_members(cq).map(|list| {
            list.into_iter()
                .map(|(model, workload)| Pending { workload, model })
                .collect()
        })
    };
    match route {
        Route::ClusterQueue { name, .. } => Gathered::ClusterQueue(members(name)),
        Route::LocalQueue {
            namespace, name, ..
        } => Gathered::LocalQueue(
            index
                .cluster_queue_of(&turnstile_core::ObjectKey::new(namespace, name))
                .map(|cq| members(&cq).unwrap_or_default()),
        ),
        _ => Gathered::Nothing,
    }
}

/// The answer to a routed, authorized request from what [`gather`] copied: the lists sorted in
/// the scheduler's queue order, paged and rendered.
pub fn render(route: &Route, gathered: Gathered) -> Result<String, Failure> {
    let sorted = |mut all: Vec<Pending>| {
        turnstile_core::queue::sort_in_queue_order(&mut all);
        all
    };
    match (route, gathered) {
        (Route::Groups, _) => Ok(groups().0),
        (Route::Group, _) => Ok(groups().1),
        (Route::Resources { version }, _) => Ok(resources(version)),
        (
            Route::ClusterQueue {
                version,
                name,
                page,
            },
            Gathered::ClusterQueue(all),
        ) => {
            let all = sorted(all.ok_or_else(|| Failure::not_found("clusterqueue", name))?);
            Ok(summary(version, &cluster_queue_items(&all, *page)))
        }
        (
            Route::LocalQueue {
                version,
                namespace,
                name,
                page,
            },
            Gathered::LocalQueue(all),
        ) => {
            let all = sorted(all.ok_or_else(|| Failure::not_found("localqueue", name))?);
            Ok(summary(
                version,
                &local_queue_items(&all, namespace, name, *page),
            ))
        }
        _ => Ok("ok".into()),
    }
}

/// Answers a routed, authorized request from the cache ([`gather`] then [`render`]).
pub fn answer(route: &Route, index: &Index) -> Result<String, Failure> {
    render(route, gather(route, index))
}

/// How long a verdict is reused (a token's identity; a user's access), as kube-apiserver's
/// delegating authenticator and authorizer do (10 s): a revoked token or role stops working
/// within that.
const IDENTITY_TTL: Duration = Duration::from_secs(10);
const ACCESS_TTL: Duration = Duration::from_secs(10);
const MAX_CACHED: usize = 1024;

/// An authorization answer: allowed, the reason, when it was given.
type Verdict = (bool, String, Instant);

/// Authentication and authorization of the visibility server, cached.
pub struct Gatekeeper<R> {
    reviewer: R,
    front_proxy: Mutex<Option<FrontProxy>>,
    tokens: Mutex<BTreeMap<String, (Option<Identity>, Instant)>>,
    verdicts: Mutex<BTreeMap<(Identity, Access), Verdict>>,
}

impl<R: Reviewer> Gatekeeper<R> {
    /// A gatekeeper asking `reviewer`.
    pub fn new(reviewer: R) -> Self {
        Self {
            reviewer,
            front_proxy: Mutex::new(None),
            tokens: Mutex::new(BTreeMap::new()),
            verdicts: Mutex::new(BTreeMap::new()),
        }
    }

    /// Replaces the front-proxy settings.
    pub fn set_front_proxy(&self, fp: Option<FrontProxy>) {
        if let Ok(mut cur) = self.front_proxy.lock() {
            *cur = fp;
        }
    }

    /// Who sent the request: the front proxy's user, else the bearer token's.
    pub async fn authenticate(
        &self,
        peer: Option<&str>,
        headers: &[(String, String)],
        now: Instant,
    ) -> Result<Identity, Failure> {
        let proxied = self
            .front_proxy
            .lock()
            .ok()
            .and_then(|fp| fp.as_ref().and_then(|fp| fp.identity(peer, headers)));
        if let Some(who) = proxied {
            return Ok(who);
        }
        let unauthorized = |why: &str| Failure::new(401, "Unauthorized", why.to_owned());
        let token = headers
            .iter()
            .find(|(n, _)| n == "authorization")
            .and_then(|(_, v)| v.strip_prefix("Bearer "))
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .ok_or_else(|| unauthorized("Unauthorized"))?;
        if let Ok(cache) = self.tokens.lock()
            && let Some((who, at)) = cache.get(token)
            && now.saturating_duration_since(*at) < IDENTITY_TTL
        {
            return who.clone().ok_or_else(|| unauthorized("Unauthorized"));
        }
        let who = self
            .reviewer
            .authenticate(token)
            .await
            .map_err(|e| unauthorized(&format!("token review failed: {e}")))?;
        if let Ok(mut cache) = self.tokens.lock() {
            if cache.len() >= MAX_CACHED {
                cache.clear();
            }
            cache.insert(token.to_owned(), (who.clone(), now));
        }
        who.ok_or_else(|| unauthorized("Unauthorized"))
    }

    /// Whether `who` may do `what`; the Forbidden failure when not.
    pub async fn authorize(
        &self,
        who: &Identity,
        what: &Access,
        now: Instant,
    ) -> Result<(), Failure> {
        let key = (who.clone(), what.clone());
        let cached = self
            .verdicts
            .lock()
            .ok()
            .and_then(|c| c.get(&key).cloned())
            .filter(|(_, _, at)| now.saturating_duration_since(*at) < ACCESS_TTL);
        let (allowed, reason) = if let Some((a, r, _)) = cached {
            (a, r)
        } else {
            let (a, r) = self.reviewer.authorize(who, what).await.map_err(|e| {
                Failure::new(500, "InternalError", format!("access review failed: {e}"))
            })?;
            if let Ok(mut cache) = self.verdicts.lock() {
                if cache.len() >= MAX_CACHED {
                    cache.clear();
                }
                cache.insert(key, (a, r.clone(), now));
            }
            (a, r)
        };
        if allowed {
            return Ok(());
        }
        Err(forbidden(who, what, &reason))
    }
}

/// Kubernetes' wording of a refusal.
fn forbidden(who: &Identity, what: &Access, reason: &str) -> Failure {
    let message = match what {
        Access::Resource {
            resource,
            subresource,
            namespace,
            name,
            verb,
            ..
        } => {
            let scope = if namespace.is_empty() {
                "at the cluster scope".to_owned()
            } else {
                format!("in the namespace \"{namespace}\"")
            };
            format!(
                "{resource}.{GROUP} \"{name}\" is forbidden: User \"{}\" cannot {verb} resource \"{resource}/{subresource}\" in API group \"{GROUP}\" {scope}{}",
                who.user,
                if reason.is_empty() {
                    String::new()
                } else {
                    format!(": {reason}")
                }
            )
        }
        Access::NonResource { path, verb } => {
            format!("User \"{}\" cannot {verb} path \"{path}\"", who.user)
        }
    };
    Failure {
        code: 403,
        reason: "Forbidden",
        message,
        details: None,
    }
}

/// One request, start to end (the server's handler).
pub async fn handle<R: Reviewer>(
    req: &turnstile_webhook::server::GetRequest,
    gate: &Gatekeeper<R>,
    index: &Mutex<Index>,
    now: Instant,
) -> (u16, &'static str, String) {
    let route = match route(&req.method, &req.path, req.query.as_deref()) {
        Ok(Route::Health) => return (200, "text/plain; charset=utf-8", "ok".into()),
        Ok(r) => r,
        Err(f) => return (f.code, JSON, f.body()),
    };
    // Aggregated discovery (`/apis` asked as apidiscovery v2) is not offered: kube-apiserver
    // then reads each version's resource list.
    if route == Route::Groups
        && req
            .header_values("accept")
            .any(|a| a.contains("apidiscovery.k8s.io"))
    {
        let f = not_found_path(&req.path);
        return (f.code, JSON, f.body());
    }
    let who = match gate
        .authenticate(req.peer_common_name.as_deref(), &req.headers, now)
        .await
    {
        Ok(w) => w,
        Err(f) => return (f.code, JSON, f.body()),
    };
    if let Some(what) = access(&route)
        && let Err(f) = gate.authorize(&who, &what, now).await
    {
        return (f.code, JSON, f.body());
    }
    // Only the copy happens under the cache's lock; sorting and rendering after.
    let gathered = if let Ok(ix) = index.lock() {
        gather(&route, &ix)
    } else {
        let f = Failure::new(503, "ServiceUnavailable", "the cache is not available");
        return (f.code, JSON, f.body());
    };
    match render(&route, gathered) {
        Ok(body) => (200, JSON, body),
        Err(f) => (f.code, JSON, f.body()),
    }
}

/// Follows the front-proxy settings kube-apiserver publishes (read every 30 s; the CA of the
/// client certificates goes into `client_ca`).
async fn follow_front_proxy(
    client: kube::Client,
    gate: Arc<Gatekeeper<ApiReviewer>>,
    client_ca: Arc<turnstile_webhook::server::ClientCa>,
) {
    let api: Api<ConfigMap> = Api::namespaced(client, AUTHENTICATION_CONFIGMAP.0);
    let mut last: Option<FrontProxy> = None;
    loop {
        match api.get_opt(AUTHENTICATION_CONFIGMAP.1).await {
            Ok(cm) => {
                let data = cm.and_then(|c| c.data).unwrap_or_default();
                match FrontProxy::from_configmap(&data) {
                    Ok(fp) if fp != last => {
                        if let Some(f) = &fp
                            && let Err(e) = client_ca.set_pem(&f.client_ca)
                        {
                            // Never keep trusting the previous CA: proxied requests are refused
                            // (bearer tokens still work) until a usable one is read.
                            tracing::warn!(error = %e, "the front-proxy client CA is unusable; proxied requests are refused until it is fixed");
                            client_ca.clear();
                            gate.set_front_proxy(None);
                            last = None;
                            tokio::time::sleep(Duration::from_secs(30)).await;
                            continue;
                        }
                        if fp.is_none() {
                            tracing::warn!(
                                "kube-apiserver publishes no front-proxy CA (--requestheader-client-ca-file): the visibility API accepts bearer tokens only"
                            );
                        } else {
                            tracing::info!("visibility API: front-proxy settings loaded");
                        }
                        gate.set_front_proxy(fp.clone());
                        last = fp;
                    }
                    Ok(_) => {}
                    Err(e) => {
                        tracing::warn!(error = %e, "unusable extension-apiserver-authentication ConfigMap");
                    }
                }
            }
            Err(e) => {
                tracing::warn!(error = %e, "reading kube-system/extension-apiserver-authentication failed");
            }
        }
        tokio::time::sleep(Duration::from_secs(30)).await;
    }
}

/// Serves the visibility API on `addr` with the manager's serving certificate, from `index`.
pub async fn serve(
    addr: std::net::SocketAddr,
    index: Arc<Mutex<Index>>,
    client: kube::Client,
    certs: Arc<turnstile_webhook::server::CertStore>,
) {
    let gate = Arc::new(Gatekeeper::new(ApiReviewer::new(client.clone())));
    let client_ca = Arc::new(turnstile_webhook::server::ClientCa::default());
    tokio::spawn(follow_front_proxy(client, gate.clone(), client_ca.clone()));
    let handler: turnstile_webhook::server::GetHandler = Arc::new(move |req| {
        let gate = gate.clone();
        let index = index.clone();
        Box::pin(async move { handle(&req, &gate, &index, Instant::now()).await })
    });
    tracing::info!(visibility = %addr, "serving the visibility API");
    if let Err(e) =
        turnstile_webhook::server::serve_get_tls(addr, certs, Some(client_ca), handler).await
    {
        tracing::error!(error = %e, "visibility server stopped");
    }
}

#[cfg(test)]
mod tests;
