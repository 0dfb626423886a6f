//! The one write protocol for Workload statuses, used by the scheduler and the Job reconciler
//! alike: a JSON merge patch of `status` (built by [`turnstile_state::lifecycle`], the whole
//! condition list included) carrying the `resourceVersion` the decision was made from. A decision
//! taken on a stale view (the Workload changed since: its pod sets, its conditions, another
//! writer) fails with 409 Conflict and is taken again on the fresh view; nothing is forced.

use kube::Client;
use kube::api::{Api, Patch, PatchParams};
use serde_json::{Value, json};
use turnstile_api::Workload;

use crate::metrics;

/// The status patch for a Workload: `status`, guarded by `resource_version` when known.
pub fn patch_body(status: Value, resource_version: Option<&str>) -> Value {
    let mut body = serde_json::Map::new();
    if let Some(rv) = resource_version {
        body.insert("metadata".into(), json!({ "resourceVersion": rv }));
    }
    body.insert("status".into(), status);
    Value::Object(body)
}

/// Writes `status` on Workload `namespace/name` as seen at `resource_version`, under
/// `field_manager`; counted in `turnstile_api_writes_total`.
pub async fn write(
    client: &Client,
    (namespace, name): (&str, &str),
    resource_version: Option<&str>,
    status: Value,
    field_manager: &str,
) -> Result<(), kube::Error> {
    let api: Api<Workload> = Api::namespaced(client.clone(), namespace);
    let pp = PatchParams {
        field_manager: Some(field_manager.to_owned()),
        ..PatchParams::default()
    };
    let body = patch_body(status, resource_version);
    let r = api
        .patch_status(name, &pp, &Patch::Merge(&body))
        .await
        .map(|_| ());
    metrics::write("patch", "workloads/status", r)
}

/// [`write`] on a Workload as the cache has it.
pub async fn write_seen(
    client: &Client,
    wl: &Workload,
    status: Value,
    field_manager: &str,
) -> Result<(), kube::Error> {
    write(
        client,
        (
            wl.metadata.namespace.as_deref().unwrap_or_default(),
            wl.metadata.name.as_deref().unwrap_or_default(),
        ),
        wl.metadata.resource_version.as_deref(),
        status,
        field_manager,
    )
    .await
}

/// How a Workload write ended, for the cache's side of the protocol
/// ([`turnstile_state::index::Index::write_ended`]).
pub fn end_of<T>(r: &Result<T, kube::Error>) -> turnstile_state::index::WriteEnd {
    use turnstile_state::index::WriteEnd;
    match r {
        Ok(_) => WriteEnd::Stored,
        Err(kube::Error::Api(a)) if a.code == 409 => WriteEnd::Conflict,
        Err(_) => WriteEnd::Failed,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_patch_is_guarded_by_the_version_seen() {
        assert_eq!(
            patch_body(json!({"conditions": []}), Some("42")),
            json!({"metadata": {"resourceVersion": "42"}, "status": {"conditions": []}})
        );
        assert_eq!(
            patch_body(json!({"admission": null}), None),
            json!({"status": {"admission": null}})
        );
    }

    #[test]
    fn a_write_ends_stored_in_conflict_or_failed() {
        use turnstile_state::index::WriteEnd;
        let api = |code: u16| {
            Err::<(), _>(kube::Error::Api(
                kube::core::Status::failure("m", "r")
                    .with_code(code)
                    .boxed(),
            ))
        };
        assert_eq!(end_of(&Ok::<(), kube::Error>(())), WriteEnd::Stored);
        assert_eq!(end_of(&api(409)), WriteEnd::Conflict);
        assert_eq!(end_of(&api(404)), WriteEnd::Failed);
        assert_eq!(end_of(&api(500)), WriteEnd::Failed);
    }
}
