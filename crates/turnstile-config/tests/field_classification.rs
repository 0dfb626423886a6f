//! Every field of the Configuration schema is either acted on or listed as not yet supported, and the two
//! lists name real fields and do not overlap.
//!
//! The schema's field paths are enumerated by deserializing a [`Configuration`] from a "walker" that answers
//! every struct with all of its fields, every list with one item and every map with one `*` key, recording the
//! path of each scalar it hands out. A field added to the types without being classified fails this test.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::cell::RefCell;

use serde::Deserialize;
use serde::de::value::{BorrowedStrDeserializer, Error};
use serde::de::{DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};
use turnstile_config::{ACTED_ON, Configuration, NOT_YET_SUPPORTED, NotYetCheck};

struct Walker<'a> {
    path: String,
    leaves: &'a RefCell<Vec<String>>,
}

impl Walker<'_> {
    fn leaf(&self) {
        self.leaves.borrow_mut().push(self.path.clone());
    }

    fn child(&self, name: &str) -> Self {
        let path = if self.path.is_empty() {
            name.to_owned()
        } else {
            format!("{}.{name}", self.path)
        };
        Walker {
            path,
            leaves: self.leaves,
        }
    }
}

impl<'de> Deserializer<'de> for Walker<'_> {
    type Error = Error;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        self.leaf();
        visitor.visit_str("0")
    }

    fn deserialize_bool<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        self.leaf();
        visitor.visit_bool(true)
    }

    fn deserialize_i32<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        self.leaf();
        visitor.visit_i64(1)
    }

    fn deserialize_i64<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        self.leaf();
        visitor.visit_i64(1)
    }

    fn deserialize_f32<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        self.leaf();
        visitor.visit_f64(1.0)
    }

    fn deserialize_f64<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        self.leaf();
        visitor.visit_f64(1.0)
    }

    fn deserialize_str<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        self.leaf();
        visitor.visit_str("0")
    }

    fn deserialize_string<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        self.deserialize_str(visitor)
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        visitor.visit_some(self)
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        visitor: V,
    ) -> Result<V::Value, Error> {
        visitor.visit_newtype_struct(self)
    }

    fn deserialize_seq<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        visitor.visit_seq(OneItem(Some(self)))
    }

    fn deserialize_map<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        let child = self.child("*");
        visitor.visit_map(Entries {
            keys: ["*"].iter(),
            current: "",
            walker: child,
            by_name: false,
        })
    }

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, Error> {
        visitor.visit_map(Entries {
            keys: fields.iter(),
            current: "",
            walker: self,
            by_name: true,
        })
    }

    fn deserialize_ignored_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        visitor.visit_unit()
    }

    serde::forward_to_deserialize_any! {
        i8 i16 u8 u16 u32 u64 i128 u128 char bytes byte_buf unit unit_struct tuple tuple_struct enum identifier
    }
}

struct OneItem<'a>(Option<Walker<'a>>);

impl<'de> SeqAccess<'de> for OneItem<'_> {
    type Error = Error;

    fn next_element_seed<T: DeserializeSeed<'de>>(
        &mut self,
        seed: T,
    ) -> Result<Option<T::Value>, Error> {
        self.0.take().map(|w| seed.deserialize(w)).transpose()
    }
}

struct Entries<'a> {
    keys: std::slice::Iter<'static, &'static str>,
    current: &'static str,
    walker: Walker<'a>,
    by_name: bool,
}

impl<'de> MapAccess<'de> for Entries<'_> {
    type Error = Error;

    fn next_key_seed<K: DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, Error> {
        let Some(&key) = self.keys.next() else {
            return Ok(None);
        };
        self.current = key;
        seed.deserialize(BorrowedStrDeserializer::<Error>::new(key))
            .map(Some)
    }

    fn next_value_seed<V: DeserializeSeed<'de>>(&mut self, seed: V) -> Result<V::Value, Error> {
        let walker = if self.by_name {
            self.walker.child(self.current)
        } else {
            Walker {
                path: self.walker.path.clone(),
                leaves: self.walker.leaves,
            }
        };
        seed.deserialize(walker)
    }
}

fn schema_leaves() -> Vec<String> {
    let leaves = RefCell::new(Vec::new());
    Configuration::deserialize(Walker {
        path: String::new(),
        leaves: &leaves,
    })
    .unwrap_or_else(|e| panic!("{e}"));
    let mut out = leaves.into_inner();
    out.sort();
    out.dedup();
    out
}

/// `path` is `prefix` or below it; a `*` segment in `path` matches any single segment of `prefix`.
fn covers(prefix: &str, path: &str) -> bool {
    let p: Vec<&str> = prefix.split('.').collect();
    let q: Vec<&str> = path.split('.').collect();
    p.len() <= q.len() && p.iter().zip(&q).all(|(a, b)| a == b || *b == "*")
}

#[test]
fn the_walker_sees_the_whole_schema() {
    let leaves = schema_leaves();
    for expected in [
        "apiVersion",
        "namespace",
        "waitForPodsReady.requeuingStrategy.backoffLimitCount",
        "resources.transformations.outputs.*",
        "featureGates.*",
        "multiKueue.clusterProfile.accessProviders.execConfig.env.name",
        "resources.deviceClassMappings.sources.counter.deviceSelector.cel.expression",
        "metrics.localQueueMetrics.localQueueSelector.matchExpressions.operator",
        "controller.groupKindConcurrency.*",
        "visibilityServer.bindPort",
    ] {
        assert!(
            leaves.iter().any(|l| l == expected),
            "{expected} not in {leaves:#?}"
        );
    }
    assert!(leaves.len() > 80, "{}", leaves.len());
}

#[test]
fn every_schema_field_is_classified() {
    let unclassified: Vec<String> = schema_leaves()
        .into_iter()
        .filter(|leaf| {
            !ACTED_ON.iter().any(|p| covers(p, leaf))
                && !NOT_YET_SUPPORTED.iter().any(|(p, _)| covers(p, leaf))
        })
        .collect();
    assert_eq!(unclassified, Vec::<String>::new());
}

#[test]
fn classification_lists_name_real_fields() {
    let leaves = schema_leaves();
    for path in ACTED_ON
        .iter()
        .chain(NOT_YET_SUPPORTED.iter().map(|(p, _)| p))
    {
        assert!(
            leaves.iter().any(|l| covers(path, l)),
            "{path} is not a field"
        );
    }
}

#[test]
fn lists_do_not_overlap() {
    for (path, check) in NOT_YET_SUPPORTED {
        if !matches!(check, NotYetCheck::NonDefault | NotYetCheck::Refuse { .. }) {
            // Item- and key-wise entries share a field with the acted-on list by design
            // (batch/job; the DisableWaitForPodsReady gate).
            continue;
        }
        for acted in ACTED_ON {
            assert!(
                !covers(acted, path) && !covers(path, acted),
                "{path} is both acted on ({acted}) and not yet supported"
            );
        }
    }
}
