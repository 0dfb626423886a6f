//! The CRD conversion webhook (`/convert`): a `ConversionReview` (apiextensions.k8s.io/v1) in,
//! each object converted between Kueue's v1beta1 and v1beta2 by
//! `turnstile_api::v1beta1::convert`, the review answered. An object that cannot be converted
//! fails the whole review with a message naming it (the apiserver then fails the request).

use serde_json::{Value, json};
use turnstile_api::v1beta1::convert::convert;

use crate::review::Reply;

/// Largest `ConversionReview` accepted: a list read in v1beta1 is converted in one review, so
/// this is larger than an admission review's limit.
pub const MAX_BODY_BYTES: usize = 64 * 1024 * 1024;

/// Answers one `ConversionReview`.
pub fn handle(body: &[u8]) -> Reply {
    let review: Value = match serde_json::from_slice(body) {
        Ok(v) => v,
        Err(e) => return Reply::text(400, format!("body is not a ConversionReview: {e}")),
    };
    if review["apiVersion"] != "apiextensions.k8s.io/v1" || review["kind"] != "ConversionReview" {
        return Reply::text(
            400,
            format!(
                "expected apiextensions.k8s.io/v1 ConversionReview, got {}/{}",
                review["apiVersion"], review["kind"]
            ),
        );
    }
    let request = &review["request"];
    let Some(uid) = request["uid"].as_str() else {
        return Reply::text(400, "ConversionReview without request.uid");
    };
    let desired = request["desiredAPIVersion"].as_str().unwrap_or_default();
    let objects = request["objects"].as_array().map_or(&[][..], Vec::as_slice);
    let converted: Result<Vec<Value>, String> = objects
        .iter()
        .map(|o| {
            convert(o, desired).map_err(|e| {
                format!(
                    "converting {} {}/{} to {desired}: {e}",
                    o["kind"].as_str().unwrap_or("?"),
                    o["metadata"]["namespace"].as_str().unwrap_or_default(),
                    o["metadata"]["name"].as_str().unwrap_or("?"),
                )
            })
        })
        .collect();
    let response = match converted {
        Ok(objs) => json!({"uid": uid, "convertedObjects": objs, "result": {"status": "Success"}}),
        Err(message) => json!({"uid": uid, "convertedObjects": [],
            "result": {"status": "Failure", "message": message}}),
    };
    let out = json!({"apiVersion": "apiextensions.k8s.io/v1", "kind": "ConversionReview", "response": response});
    match serde_json::to_vec(&out) {
        Ok(body) => Reply { status: 200, body },
        Err(e) => Reply::text(500, format!("encoding the response: {e}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn review(desired: &str, objects: &Value) -> Vec<u8> {
        serde_json::to_vec(
            &json!({"apiVersion": "apiextensions.k8s.io/v1", "kind": "ConversionReview",
            "request": {"uid": "u1", "desiredAPIVersion": desired, "objects": objects}}),
        )
        .unwrap()
    }

    #[test]
    fn converts_every_object_and_keeps_the_uid() {
        let body = review(
            "kueue.x-k8s.io/v1beta2",
            &json!([{"apiVersion": "kueue.x-k8s.io/v1beta1", "kind": "ClusterQueue", "metadata": {"name": "a"}, "spec": {"cohort": "x"}},
                   {"apiVersion": "kueue.x-k8s.io/v1beta1", "kind": "LocalQueue", "metadata": {"name": "b", "namespace": "n"}, "spec": {"clusterQueue": "a"}}]),
        );
        let r = handle(&body);
        assert_eq!(r.status, 200);
        let v: Value = serde_json::from_slice(&r.body).unwrap();
        assert_eq!(v["response"]["uid"], "u1");
        assert_eq!(v["response"]["result"]["status"], "Success");
        assert_eq!(
            v["response"]["convertedObjects"][0]["spec"],
            json!({"cohortName": "x"})
        );
        assert_eq!(
            v["response"]["convertedObjects"][1]["apiVersion"],
            "kueue.x-k8s.io/v1beta2"
        );
    }

    #[test]
    fn failures_name_the_object_and_bad_bodies_are_refused() {
        let body = review(
            "kueue.x-k8s.io/v1",
            &json!([{"apiVersion": "kueue.x-k8s.io/v1beta1", "kind": "ClusterQueue", "metadata": {"name": "a"}}]),
        );
        let v: Value = serde_json::from_slice(&handle(&body).body).unwrap();
        assert_eq!(v["response"]["result"]["status"], "Failure");
        assert!(
            v["response"]["result"]["message"]
                .as_str()
                .unwrap()
                .contains("ClusterQueue /a")
        );
        assert_eq!(handle(b"{").status, 400);
        assert_eq!(
            handle(br#"{"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview"}"#).status,
            400
        );
        assert_eq!(
            handle(br#"{"apiVersion": "apiextensions.k8s.io/v1", "kind": "ConversionReview", "request": {}}"#).status,
            400
        );
    }
}
