//! The key Turnstile knows a namespaced object by: `namespace/name`, built once and shared.
//!
//! Every cache, index, queue and reconciler key of a Workload, LocalQueue or Job is an
//! [`ObjectKey`]. It is made once per object when the object enters the state (by
//! [`ObjectKey::new`], the one place the format is written) and cloned by reference count after
//! that: the index's maps, the ledger, the pending queues and the core's models hold the same
//! allocation. It orders, hashes and compares as its text, and borrows as `&str`, so maps keyed by
//! it are looked up with a plain `&str`.

use std::borrow::Borrow;
use std::fmt;
use std::ops::Deref;
use std::sync::Arc;

/// `namespace/name` of a namespaced object (a cluster-scoped object's key is its name).
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct ObjectKey(Arc<str>);

impl ObjectKey {
    /// The key of `namespace`/`name`.
    pub fn new(namespace: &str, name: &str) -> Self {
        let mut k = String::with_capacity(namespace.len() + 1 + name.len());
        k.push_str(namespace);
        k.push('/');
        k.push_str(name);
        Self(k.into())
    }

    /// The key as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The namespace and the name (`None` for a key without a `/`).
    pub fn split(&self) -> Option<(&str, &str)> {
        self.0.split_once('/')
    }
}

impl Deref for ObjectKey {
    type Target = str;
    fn deref(&self) -> &str {
        &self.0
    }
}

impl Borrow<str> for ObjectKey {
    fn borrow(&self) -> &str {
        &self.0
    }
}

impl AsRef<str> for ObjectKey {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for ObjectKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for ObjectKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&*self.0, f)
    }
}

impl From<&str> for ObjectKey {
    fn from(s: &str) -> Self {
        Self(s.into())
    }
}

impl From<String> for ObjectKey {
    fn from(s: String) -> Self {
        Self(s.into())
    }
}

impl From<&String> for ObjectKey {
    fn from(s: &String) -> Self {
        Self(s.as_str().into())
    }
}

impl From<ObjectKey> for String {
    fn from(k: ObjectKey) -> Self {
        k.0.to_string()
    }
}

impl PartialEq<str> for ObjectKey {
    fn eq(&self, other: &str) -> bool {
        &*self.0 == other
    }
}

impl PartialEq<&str> for ObjectKey {
    fn eq(&self, other: &&str) -> bool {
        &*self.0 == *other
    }
}

impl PartialEq<String> for ObjectKey {
    fn eq(&self, other: &String) -> bool {
        &*self.0 == other.as_str()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    #[test]
    fn the_format_is_namespace_slash_name_and_it_orders_as_text() {
        let k = ObjectKey::new("team-a", "job-1");
        assert_eq!(k, "team-a/job-1");
        assert_eq!(k.split(), Some(("team-a", "job-1")));
        assert_eq!(format!("{k} {k:?}"), "team-a/job-1 \"team-a/job-1\"");
        let mut m = BTreeMap::new();
        m.insert(ObjectKey::new("b", "x"), 2);
        m.insert(ObjectKey::new("a", "y"), 1);
        assert_eq!(m.get("a/y"), Some(&1));
        assert_eq!(
            m.keys().map(ObjectKey::as_str).collect::<Vec<_>>(),
            ["a/y", "b/x"]
        );
    }

    #[test]
    fn clones_share_one_allocation() {
        let k = ObjectKey::new("ns", "w");
        let c = k.clone();
        assert!(std::ptr::eq(k.as_str(), c.as_str()));
    }
}
