//! AdmissionReview decoding, routing by path, and response encoding. Never panics on input: a
//! body that is not an AdmissionReview gets an HTTP 400 with the reason; a review for the wrong
//! kind or version gets a denial that names what was expected.

use k8s_openapi::api::batch::v1::Job;
use kube::core::DynamicObject;
use kube::core::admission::{AdmissionRequest, AdmissionResponse, AdmissionReview, Operation};
use serde::de::DeserializeOwned;

use crate::field::{self, ErrorList};
use crate::job::{self, JobContext};
use crate::{objects, queues};

/// Largest request body accepted, in bytes. An AdmissionReview holds at most two objects of the
/// apiserver's 1.5 MiB limit plus envelope; anything larger is not from the apiserver.
pub const MAX_BODY_BYTES: usize = 8 * 1024 * 1024;

/// Paths served, as Kueue names them.
pub mod paths {
    /// Job defaulting.
    pub const MUTATE_JOB: &str = "/mutate-batch-v1-job";
    /// Job validation.
    pub const VALIDATE_JOB: &str = "/validate-batch-v1-job";
    /// ClusterQueue defaulting.
    pub const MUTATE_CLUSTER_QUEUE: &str = "/mutate-kueue-x-k8s-io-v1beta2-clusterqueue";
    /// ClusterQueue validation.
    pub const VALIDATE_CLUSTER_QUEUE: &str = "/validate-kueue-x-k8s-io-v1beta2-clusterqueue";
    /// Cohort validation.
    pub const VALIDATE_COHORT: &str = "/validate-kueue-x-k8s-io-v1beta2-cohort";
    /// ResourceFlavor defaulting.
    pub const MUTATE_RESOURCE_FLAVOR: &str = "/mutate-kueue-x-k8s-io-v1beta2-resourceflavor";
    /// ResourceFlavor validation.
    pub const VALIDATE_RESOURCE_FLAVOR: &str = "/validate-kueue-x-k8s-io-v1beta2-resourceflavor";
    /// Workload defaulting.
    pub const MUTATE_WORKLOAD: &str = "/mutate-kueue-x-k8s-io-v1beta2-workload";
    /// Workload validation.
    pub const VALIDATE_WORKLOAD: &str = "/validate-kueue-x-k8s-io-v1beta2-workload";
    /// TimeWindowPolicy validation (Turnstile's own kind).
    pub const VALIDATE_TIME_WINDOW_POLICY: &str =
        "/validate-turnstile-dev-v1alpha1-timewindowpolicy";
    /// CRD conversion between Kueue's v1beta1 and v1beta2 (Kueue's path; not an admission
    /// webhook, so not in [`ALL`]).
    pub const CONVERT: &str = "/convert";
    /// Every path, for registration.
    pub const ALL: &[&str] = &[
        MUTATE_JOB,
        VALIDATE_JOB,
        MUTATE_CLUSTER_QUEUE,
        VALIDATE_CLUSTER_QUEUE,
        VALIDATE_COHORT,
        MUTATE_RESOURCE_FLAVOR,
        VALIDATE_RESOURCE_FLAVOR,
        MUTATE_WORKLOAD,
        VALIDATE_WORKLOAD,
        VALIDATE_TIME_WINDOW_POLICY,
    ];
}

/// What the caller knows about the cluster, for the rules that need more than the object.
pub trait ReviewContext: Send + Sync {
    /// The context of a batch/v1 Job request.
    fn job_context(&self, request: &AdmissionRequest<DynamicObject>, job: &Job) -> JobContext;
}

/// A reply: HTTP status and body.
#[derive(Debug, PartialEq, Eq)]
pub struct Reply {
    /// HTTP status code.
    pub status: u16,
    /// Body (JSON for reviews, text for errors).
    pub body: Vec<u8>,
}

impl Reply {
    pub(crate) fn text(status: u16, msg: impl Into<String>) -> Self {
        Self {
            status,
            body: msg.into().into_bytes(),
        }
    }
}

/// Handles one request to `path` with `body`.
pub fn handle(path: &str, body: &[u8], ctx: &dyn ReviewContext) -> Reply {
    if path == paths::CONVERT {
        return crate::conversion::handle(body);
    }
    if !paths::ALL.contains(&path) {
        return Reply::text(404, format!("no webhook at {path}"));
    }
    if body.len() > MAX_BODY_BYTES {
        return Reply::text(
            413,
            format!(
                "request body of {} bytes exceeds {MAX_BODY_BYTES}",
                body.len()
            ),
        );
    }
    // Workload reviews (every Workload create and status write: the hot path) are decoded
    // straight into the typed Workload, in one pass; a body that does not decode that way takes
    // the general path below, which says why.
    workload_review(path, body).unwrap_or_else(|| general_review(path, body, ctx))
}

/// Any review, decoded as a review of dynamic objects and typed per path.
fn general_review(path: &str, body: &[u8], ctx: &dyn ReviewContext) -> Reply {
    let review: AdmissionReview<DynamicObject> = match serde_json::from_slice(body) {
        Ok(r) => r,
        Err(e) => return Reply::text(400, format!("body is not an AdmissionReview: {e}")),
    };
    let request = match request_of(review) {
        Ok(r) => r,
        Err(reply) => return reply,
    };
    encode(respond(path, &request, ctx))
}

/// The request of a review, or the HTTP 400 for an envelope that is not `admission.k8s.io/v1`.
fn request_of<T: kube::Resource>(review: AdmissionReview<T>) -> Result<AdmissionRequest<T>, Reply> {
    if review.types.api_version != "admission.k8s.io/v1" || review.types.kind != "AdmissionReview" {
        return Err(Reply::text(
            400,
            format!(
                "expected admission.k8s.io/v1 AdmissionReview, got {}/{}",
                review.types.api_version, review.types.kind
            ),
        ));
    }
    review
        .try_into()
        .map_err(|e| Reply::text(400, format!("AdmissionReview without a request: {e}")))
}

fn encode(response: AdmissionResponse) -> Reply {
    match serde_json::to_vec(&response.into_review()) {
        Ok(body) => Reply { status: 200, body },
        Err(e) => Reply::text(500, format!("encoding the response: {e}")),
    }
}

/// The Workload webhooks' reply from a review decoded straight into typed Workloads; `None` when
/// the path is another one or the body does not decode so (the general path answers then).
fn workload_review(path: &str, body: &[u8]) -> Option<Reply> {
    if path != paths::VALIDATE_WORKLOAD && path != paths::MUTATE_WORKLOAD {
        return None;
    }
    let review: AdmissionReview<turnstile_api::Workload> = serde_json::from_slice(body).ok()?;
    let req = request_of(review).ok()?;
    let base = AdmissionResponse::from(&req);
    let result = expect_kind(&req, "kueue.x-k8s.io", "v1beta2", "Workload").and_then(|()| {
        if path == paths::MUTATE_WORKLOAD {
            return Ok(base.clone());
        }
        let (new, old) = new_and_old(&req);
        let new = new.ok_or_else(|| "the review carries no Workload".to_owned())?;
        Ok(deny(base.clone(), &objects::validate_workload(new, old)))
    });
    Some(encode(result.unwrap_or_else(|msg| denied(base, msg))))
}

/// A review's object and, on UPDATE only, its old object.
fn new_and_old<T: kube::Resource>(req: &AdmissionRequest<T>) -> (Option<&T>, Option<&T>) {
    let old = match req.operation {
        Operation::Update => req.old_object.as_ref(),
        _ => None,
    };
    (req.object.as_ref(), old)
}

fn decode<T: DeserializeOwned>(obj: Option<&DynamicObject>) -> Result<Option<T>, String> {
    obj.map(|o| serde_json::to_value(o).and_then(serde_json::from_value))
        .transpose()
        .map_err(|e| e.to_string())
}

fn expect_kind<T: kube::Resource>(
    req: &AdmissionRequest<T>,
    group: &str,
    version: &str,
    kind: &str,
) -> Result<(), String> {
    let k = &req.kind;
    if k.group == group && k.version == version && k.kind == kind {
        Ok(())
    } else {
        let want = if group.is_empty() {
            format!("{version} {kind}")
        } else {
            format!("{group}/{version} {kind}")
        };
        Err(format!(
            "this webhook reviews {want}, got {}/{} {}",
            k.group, k.version, k.kind
        ))
    }
}

fn deny(base: AdmissionResponse, errs: &ErrorList) -> AdmissionResponse {
    if errs.is_empty() {
        base
    } else {
        denied(base, field::message(errs))
    }
}

/// A refusal as Kueue's webhooks give it: HTTP 403 with reason `Forbidden` (so that clients see
/// `IsForbidden`), the field-pathed errors as the message.
fn denied(base: AdmissionResponse, message: String) -> AdmissionResponse {
    let mut r = base.deny(message);
    r.result.code = 403;
    r.result.reason = "Forbidden".into();
    r.result.status = Some(kube::core::response::StatusSummary::Failure);
    r
}

fn respond(
    path: &str,
    req: &AdmissionRequest<DynamicObject>,
    ctx: &dyn ReviewContext,
) -> AdmissionResponse {
    let base = AdmissionResponse::from(req);
    let result = match path {
        paths::MUTATE_JOB | paths::VALIDATE_JOB => job_review(path, req, ctx, base.clone()),
        paths::MUTATE_CLUSTER_QUEUE | paths::MUTATE_RESOURCE_FLAVOR => {
            finalizer_review(path, req, base.clone())
        }
        paths::VALIDATE_CLUSTER_QUEUE => typed_pair::<turnstile_api::ClusterQueue>(
            req,
            "kueue.x-k8s.io",
            "v1beta2",
            "ClusterQueue",
        )
        .map(|(new, old)| {
            deny(
                base.clone(),
                &match &old {
                    Some(old) => queues::validate_cluster_queue_update(old, &new),
                    None => queues::validate_cluster_queue(&new),
                },
            )
        }),
        paths::VALIDATE_COHORT => {
            typed_pair::<turnstile_api::Cohort>(req, "kueue.x-k8s.io", "v1beta2", "Cohort")
                .map(|(new, _)| deny(base.clone(), &queues::validate_cohort(&new)))
        }
        paths::VALIDATE_RESOURCE_FLAVOR => typed_pair::<turnstile_api::ResourceFlavor>(
            req,
            "kueue.x-k8s.io",
            "v1beta2",
            "ResourceFlavor",
        )
        .map(|(new, _)| deny(base.clone(), &objects::validate_resource_flavor(&new))),
        paths::MUTATE_WORKLOAD => {
            expect_kind(req, "kueue.x-k8s.io", "v1beta2", "Workload").map(|()| base.clone())
        }
        paths::VALIDATE_WORKLOAD => {
            typed_pair::<turnstile_api::Workload>(req, "kueue.x-k8s.io", "v1beta2", "Workload").map(
                |(new, old)| {
                    deny(
                        base.clone(),
                        &objects::validate_workload(&new, old.as_ref()),
                    )
                },
            )
        }
        paths::VALIDATE_TIME_WINDOW_POLICY => {
            typed_pair::<turnstile_api::v1alpha1::TimeWindowPolicy>(
                req,
                "turnstile.dev",
                "v1alpha1",
                "TimeWindowPolicy",
            )
            .map(|(new, _)| match turnstile_windows::compile(&new.spec) {
                Ok(_) => base.clone(),
                Err(errors) => denied(
                    base.clone(),
                    errors
                        .iter()
                        .map(ToString::to_string)
                        .collect::<Vec<_>>()
                        .join(", "),
                ),
            })
        }
        _ => Ok(base.clone()),
    };
    result.unwrap_or_else(|msg| denied(base, msg))
}

/// The new object (and the old one on update) of a CREATE or UPDATE review, typed.
fn typed_pair<T: DeserializeOwned>(
    req: &AdmissionRequest<DynamicObject>,
    group: &str,
    version: &str,
    kind: &str,
) -> Result<(T, Option<T>), String> {
    expect_kind(req, group, version, kind)?;
    let (new, old) = new_and_old(req);
    let new = decode::<T>(new).map_err(|e| format!("cannot decode the {kind}: {e}"))?;
    let old = decode::<T>(old).map_err(|e| format!("cannot decode the old {kind}: {e}"))?;
    new.map(|n| (n, old))
        .ok_or_else(|| format!("the review carries no {kind}"))
}

fn with_patch(
    base: AdmissionResponse,
    ops: Vec<json_patch::PatchOperation>,
) -> Result<AdmissionResponse, String> {
    if ops.is_empty() {
        return Ok(base);
    }
    base.with_patch(json_patch::Patch(ops))
        .map_err(|e| e.to_string())
}

fn finalizer_review(
    path: &str,
    req: &AdmissionRequest<DynamicObject>,
    base: AdmissionResponse,
) -> Result<AdmissionResponse, String> {
    let kind = if path == paths::MUTATE_CLUSTER_QUEUE {
        "ClusterQueue"
    } else {
        "ResourceFlavor"
    };
    expect_kind(req, "kueue.x-k8s.io", "v1beta2", kind)?;
    if req.operation != Operation::Create {
        return Ok(base);
    }
    let obj = req
        .object
        .as_ref()
        .ok_or_else(|| format!("the review carries no {kind}"))?;
    with_patch(
        base,
        objects::finalizer_patch(obj.metadata.finalizers.as_deref()),
    )
}

fn job_review(
    path: &str,
    req: &AdmissionRequest<DynamicObject>,
    ctx: &dyn ReviewContext,
    base: AdmissionResponse,
) -> Result<AdmissionResponse, String> {
    expect_kind(req, "batch", "v1", "Job")?;
    if !matches!(req.operation, Operation::Create | Operation::Update) {
        return Ok(base);
    }
    let (new, old) = typed_pair::<Job>(req, "batch", "v1", "Job")?;
    let jctx = ctx.job_context(req, &new);
    if path == paths::MUTATE_JOB {
        if req.operation != Operation::Create {
            return Ok(base);
        }
        return with_patch(base, job::default_job(&new, &jctx));
    }
    Ok(deny(base, &job::validate_job(&new, old.as_ref(), &jctx)))
}

#[cfg(test)]
mod tests;
