//! Who may read `/metrics`, as Kueue's metrics server decides it: the bearer token is authenticated
//! with a TokenReview and the user authorized with a SubjectAccessReview for `get` on the
//! non-resource URL `/metrics` (grant it with a ClusterRole such as the chart's
//! `<fullname>-metrics-reader`). Answers are cached for a minute per token, so a scrape every few
//! seconds costs two API calls a minute, not two per scrape.

use std::collections::BTreeMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use k8s_openapi::api::authentication::v1::{TokenReview, TokenReviewSpec};
use k8s_openapi::api::authorization::v1::{
    NonResourceAttributes, ResourceAttributes, SubjectAccessReview, SubjectAccessReviewSpec,
};
use kube::api::{Api, PostParams};

/// How long a verdict is reused.
const TTL: Duration = Duration::from_mins(1);
/// At most this many tokens remembered (the cache is emptied when full).
const MAX_CACHED: usize = 256;

/// A request's fate.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// Serve it.
    Allowed,
    /// 401: no token, or not a valid one.
    Unauthenticated(String),
    /// 403: a valid user without the permission.
    Forbidden(String),
}

/// An authenticated user.
#[derive(Clone, Debug, Default, PartialEq, Eq, PartialOrd, Ord)]
pub struct Identity {
    /// Name.
    pub user: String,
    /// Groups.
    pub groups: Vec<String>,
    /// UID.
    pub uid: Option<String>,
    /// Extra attributes.
    pub extra: BTreeMap<String, Vec<String>>,
}

/// Boxed future of a review.
pub type Boxed<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// What a user asks to do, as a SubjectAccessReview states it.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Access {
    /// A verb on a non-resource URL (`get` `/metrics`).
    NonResource {
        /// URL path.
        path: String,
        /// Verb.
        verb: String,
    },
    /// A verb on a resource (an aggregated API's `clusterqueues/pendingworkloads`).
    Resource {
        /// API group.
        group: String,
        /// Version.
        version: String,
        /// Resource.
        resource: String,
        /// Subresource (empty for none).
        subresource: String,
        /// Namespace (empty for cluster-scoped).
        namespace: String,
        /// Object name.
        name: String,
        /// Verb.
        verb: String,
    },
}

impl Access {
    fn metrics() -> Self {
        Self::NonResource {
            path: "/metrics".into(),
            verb: "get".into(),
        }
    }
}

/// The two questions asked of the API (a trait so that the gates' logic is tested without I/O).
pub trait Reviewer: Send + Sync {
    /// Who the token belongs to (`Ok(None)`: not a valid token).
    fn authenticate<'a>(&'a self, token: &'a str) -> Boxed<'a, Result<Option<Identity>, String>>;
    /// Whether `who` may do `what`, with the reason when not.
    fn authorize<'a>(
        &'a self,
        who: &'a Identity,
        what: &'a Access,
    ) -> Boxed<'a, Result<(bool, String), String>>;
}

/// The gate: header in, verdict out, cached.
pub struct Gate<R> {
    reviewer: R,
    cache: Mutex<BTreeMap<String, (Verdict, Instant)>>,
}

impl<R: Reviewer> Gate<R> {
    /// A gate asking `reviewer`.
    pub fn new(reviewer: R) -> Self {
        Self {
            reviewer,
            cache: Mutex::new(BTreeMap::new()),
        }
    }

    /// The verdict for a request with this `Authorization` header at `now`.
    pub async fn check(&self, authorization: Option<&str>, now: Instant) -> Verdict {
        let Some(token) = authorization
            .and_then(|h| h.strip_prefix("Bearer "))
            .map(str::trim)
            .filter(|t| !t.is_empty())
        else {
            return Verdict::Unauthenticated("a bearer token is required".into());
        };
        if let Ok(cache) = self.cache.lock()
            && let Some((v, at)) = cache.get(token)
            && now.saturating_duration_since(*at) < TTL
        {
            return v.clone();
        }
        let verdict = match self.reviewer.authenticate(token).await {
            Err(e) => return Verdict::Unauthenticated(format!("token review failed: {e}")),
            Ok(None) => Verdict::Unauthenticated("the token is not valid".into()),
            Ok(Some(who)) => match self.reviewer.authorize(&who, &Access::metrics()).await {
                Err(e) => return Verdict::Forbidden(format!("access review failed: {e}")),
                Ok((true, _)) => Verdict::Allowed,
                Ok((false, why)) => Verdict::Forbidden(format!(
                    "{} may not get /metrics{}",
                    who.user,
                    if why.is_empty() {
                        String::new()
                    } else {
                        format!(": {why}")
                    }
                )),
            },
        };
        // Failures of the review calls themselves are not cached (returned above).
        if let Ok(mut cache) = self.cache.lock() {
            if cache.len() >= MAX_CACHED {
                cache.clear();
            }
            cache.insert(token.to_owned(), (verdict.clone(), now));
        }
        verdict
    }
}

/// The reviewer asking the apiserver.
pub struct ApiReviewer {
    client: kube::Client,
}

impl ApiReviewer {
    /// Asks through `client` (not the fenced one: every replica serves metrics).
    pub fn new(client: kube::Client) -> Self {
        Self { client }
    }
}

impl Reviewer for ApiReviewer {
    fn authenticate<'a>(&'a self, token: &'a str) -> Boxed<'a, Result<Option<Identity>, String>> {
        Box::pin(async move {
            let api: Api<TokenReview> = Api::all(self.client.clone());
            let review = TokenReview {
                spec: TokenReviewSpec {
                    token: token.to_owned(),
                    audiences: None,
                },
                ..TokenReview::default()
            };
            let out = api
                .create(&PostParams::default(), &review)
                .await
                .map_err(|e| e.to_string())?;
            let Some(status) = out.status.filter(|s| s.authenticated == Some(true)) else {
                return Ok(None);
            };
            let user = status.user.unwrap_or_default();
            Ok(Some(Identity {
                user: user.username.unwrap_or_default(),
                groups: user.groups.unwrap_or_default(),
                uid: user.uid,
                extra: user.extra.unwrap_or_default(),
            }))
        })
    }

    fn authorize<'a>(
        &'a self,
        who: &'a Identity,
        what: &'a Access,
    ) -> Boxed<'a, Result<(bool, String), String>> {
        Box::pin(async move {
            let api: Api<SubjectAccessReview> = Api::all(self.client.clone());
            let (non_resource_attributes, resource_attributes) = match what.clone() {
                Access::NonResource { path, verb } => (
                    Some(NonResourceAttributes {
                        path: Some(path),
                        verb: Some(verb),
                    }),
                    None,
                ),
                Access::Resource {
                    group,
                    version,
                    resource,
                    subresource,
                    namespace,
                    name,
                    verb,
                } => {
                    let some = |s: String| (!s.is_empty()).then_some(s);
                    (
                        None,
                        Some(ResourceAttributes {
                            group: Some(group),
                            version: some(version),
                            resource: some(resource),
                            subresource: some(subresource),
                            namespace: some(namespace),
                            name: some(name),
                            verb: some(verb),
                            ..ResourceAttributes::default()
                        }),
                    )
                }
            };
            let review = SubjectAccessReview {
                spec: SubjectAccessReviewSpec {
                    user: Some(who.user.clone()),
                    groups: Some(who.groups.clone()),
                    uid: who.uid.clone(),
                    extra: Some(who.extra.clone()),
                    non_resource_attributes,
                    resource_attributes,
                },
                ..SubjectAccessReview::default()
            };
            let out = api
                .create(&PostParams::default(), &review)
                .await
                .map_err(|e| e.to_string())?;
            let status = out.status.unwrap_or_default();
            Ok((status.allowed, status.reason.unwrap_or_default()))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    /// Knows token "reader" (allowed) and "nobody" (authenticated, not allowed).
    #[derive(Default)]
    struct Fake {
        calls: AtomicUsize,
    }

    impl Reviewer for Fake {
        fn authenticate<'a>(
            &'a self,
            token: &'a str,
        ) -> Boxed<'a, Result<Option<Identity>, String>> {
            self.calls.fetch_add(1, Ordering::SeqCst);
            Box::pin(async move {
                Ok(["reader", "nobody"].contains(&token).then(|| Identity {
                    user: format!("system:serviceaccount:ns:{token}"),
                    ..Identity::default()
                }))
            })
        }

        fn authorize<'a>(
            &'a self,
            who: &'a Identity,
            _: &'a Access,
        ) -> Boxed<'a, Result<(bool, String), String>> {
            self.calls.fetch_add(1, Ordering::SeqCst);
            Box::pin(async move { Ok((who.user.ends_with(":reader"), String::new())) })
        }
    }

    #[tokio::test]
    async fn tokens_are_reviewed_and_verdicts_cached_for_a_minute() {
        let gate = Gate::new(Fake::default());
        let t0 = Instant::now();
        assert!(matches!(
            gate.check(None, t0).await,
            Verdict::Unauthenticated(_)
        ));
        assert!(matches!(
            gate.check(Some("Basic abc"), t0).await,
            Verdict::Unauthenticated(_)
        ));
        assert!(matches!(
            gate.check(Some("Bearer forged"), t0).await,
            Verdict::Unauthenticated(_)
        ));
        let Verdict::Forbidden(why) = gate.check(Some("Bearer nobody"), t0).await else {
            panic!("an authenticated user without the permission is refused");
        };
        assert!(
            why.contains("system:serviceaccount:ns:nobody may not get /metrics"),
            "{why}"
        );
        assert_eq!(
            gate.check(Some("Bearer reader"), t0).await,
            Verdict::Allowed
        );
        let calls = gate.reviewer.calls.load(Ordering::SeqCst);
        assert_eq!(
            gate.check(Some("Bearer reader"), t0 + Duration::from_secs(59))
                .await,
            Verdict::Allowed
        );
        assert_eq!(gate.reviewer.calls.load(Ordering::SeqCst), calls, "cached");
        gate.check(Some("Bearer reader"), t0 + Duration::from_secs(61))
            .await;
        assert_eq!(
            gate.reviewer.calls.load(Ordering::SeqCst),
            calls + 2,
            "asked again after a minute"
        );
    }
}
