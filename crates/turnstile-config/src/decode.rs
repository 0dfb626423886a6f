//! Decoding a YAML document into the serde types while tracking the field path.
//!
//! The document is first read as YAML (duplicate keys rejected, merge keys applied) and converted to a JSON
//! tree, as Kubernetes does (`sigs.k8s.io/yaml`). The typed structs are then deserialized from that tree by
//! [`Node`], a `serde::Deserializer` that knows where it is, so that:
//! * a type error names its field (`waitForPodsReady.timeout: invalid type: integer `5`, expected …`);
//! * a key the types do not know is recorded (as a warning) instead of failing;
//! * `null` and missing values mean Go's zero value, as in `encoding/json`;
//! * a boolean field also takes YAML 1.1's words (`yes`, `no`, `on`, `off`, `y`, `n`, …), which the YAML reader
//!   Kubernetes uses resolves to booleans.

use std::cell::RefCell;
use std::fmt;

use serde::de::value::BorrowedStrDeserializer;
use serde::de::{
    self, DeserializeOwned, DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor,
};
use serde_json::{Map, Value};

/// A decoding failure at a field path (empty path: the document itself).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct DecodeError {
    pub(crate) path: Option<String>,
    pub(crate) message: String,
}

impl fmt::Display for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.path.as_deref() {
            Some(path) if !path.is_empty() => write!(f, "{path}: {}", self.message),
            _ => f.write_str(&self.message),
        }
    }
}

impl std::error::Error for DecodeError {}

impl de::Error for DecodeError {
    fn custom<T: fmt::Display>(msg: T) -> Self {
        Self {
            path: None,
            message: msg.to_string(),
        }
    }
}

/// Reads one YAML document into a JSON tree. Syntax errors are returned as the YAML parser words them.
pub(crate) fn yaml_to_json(text: &str) -> Result<Value, YamlError> {
    let mut yaml: serde_yaml::Value = serde_yaml::from_str(text).map_err(YamlError::Syntax)?;
    yaml.apply_merge().map_err(YamlError::Syntax)?;
    convert(&yaml, "").map_err(YamlError::Structure)
}

/// Why a YAML document could not be turned into a JSON tree.
#[derive(Debug)]
pub(crate) enum YamlError {
    /// The YAML parser rejected the text.
    Syntax(serde_yaml::Error),
    /// The YAML is well-formed but has no JSON equivalent (e.g. a mapping used as a key).
    Structure(DecodeError),
}

fn join_field(path: &str, name: &str) -> String {
    if path.is_empty() {
        name.to_owned()
    } else {
        format!("{path}.{name}")
    }
}

fn convert(yaml: &serde_yaml::Value, path: &str) -> Result<Value, DecodeError> {
    use serde_yaml::Value as Y;
    Ok(match yaml {
        Y::Null => Value::Null,
        Y::Bool(b) => Value::Bool(*b),
        Y::Number(n) => {
            if let Some(i) = n.as_i64() {
                Value::from(i)
            } else if let Some(u) = n.as_u64() {
                Value::from(u)
            } else {
                let f = n.as_f64().unwrap_or(f64::NAN);
                serde_json::Number::from_f64(f)
                    .map(Value::Number)
                    .ok_or_else(|| DecodeError {
                        path: Some(path.to_owned()),
                        message: format!("invalid value: {n} cannot be represented in JSON"),
                    })?
            }
        }
        Y::String(s) => Value::String(s.clone()),
        Y::Sequence(items) => Value::Array(
            items
                .iter()
                .enumerate()
                .map(|(i, item)| convert(item, &format!("{path}[{i}]")))
                .collect::<Result<_, _>>()?,
        ),
        Y::Mapping(mapping) => {
            let mut out = Map::new();
            for (k, v) in mapping {
                let key = scalar_key(k).ok_or_else(|| DecodeError {
                    path: Some(path.to_owned()),
                    message: "a mapping key must be a scalar (string, number or bool)".to_owned(),
                })?;
                let child = convert(v, &join_field(path, &key))?;
                out.insert(key, child);
            }
            Value::Object(out)
        }
        Y::Tagged(tagged) => convert(&tagged.value, path)?,
    })
}

/// Non-string scalar keys become their text, as `sigs.k8s.io/yaml` does.
fn scalar_key(key: &serde_yaml::Value) -> Option<String> {
    use serde_yaml::Value as Y;
    match key {
        Y::String(s) => Some(s.clone()),
        Y::Number(n) => Some(n.to_string()),
        Y::Bool(b) => Some(b.to_string()),
        Y::Null => Some("null".to_owned()),
        Y::Tagged(t) => scalar_key(&t.value),
        Y::Sequence(_) | Y::Mapping(_) => None,
    }
}

/// Deserializes `T` from `value`, returning the paths of keys `T` does not know.
pub(crate) fn from_value<T: DeserializeOwned>(
    value: &Value,
) -> Result<(T, Vec<String>), DecodeError> {
    let unknown = RefCell::new(Vec::new());
    let node = Node {
        value,
        path: String::new(),
        unknown: &unknown,
    };
    let decoded = T::deserialize(node)?;
    Ok((decoded, unknown.into_inner()))
}

/// One position in the JSON tree.
struct Node<'v, 'c> {
    value: &'v Value,
    path: String,
    unknown: &'c RefCell<Vec<String>>,
}

impl Node<'_, '_> {
    #[allow(clippy::needless_pass_by_value)] // used as `map_err(|e| self.at(e))`
    fn at(&self, e: serde_json::Error) -> DecodeError {
        DecodeError {
            path: Some(self.path.clone()),
            message: e.to_string(),
        }
    }

    fn fill(&self, mut e: DecodeError) -> DecodeError {
        if e.path.is_none() {
            e.path = Some(self.path.clone());
        }
        e
    }

    fn unexpected(&self) -> de::Unexpected<'_> {
        match self.value {
            Value::Null => de::Unexpected::Unit,
            Value::Bool(b) => de::Unexpected::Bool(*b),
            Value::Number(n) => {
                if let Some(u) = n.as_u64() {
                    de::Unexpected::Unsigned(u)
                } else if let Some(i) = n.as_i64() {
                    de::Unexpected::Signed(i)
                } else {
                    de::Unexpected::Float(n.as_f64().unwrap_or_default())
                }
            }
            Value::String(s) => de::Unexpected::Str(s),
            Value::Array(_) => de::Unexpected::Seq,
            Value::Object(_) => de::Unexpected::Map,
        }
    }

    fn type_error(&self, expected: &str) -> DecodeError {
        let mut e: DecodeError = de::Error::invalid_type(self.unexpected(), &expected);
        e.path = Some(self.path.clone());
        e
    }
}

/// Scalars are delegated to `serde_json`'s own deserializer; `null` becomes Go's zero value.
macro_rules! scalar {
    ($($method:ident => $zero:expr;)*) => {
        $(
            fn $method<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DecodeError> {
                if self.value.is_null() {
                    #[allow(clippy::redundant_closure_call)]
                    return ($zero)(visitor).map_err(|e| self.fill(e));
                }
                self.value.$method(visitor).map_err(|e| self.at(e))
            }
        )*
    };
}

impl<'de> Deserializer<'de> for Node<'de, '_> {
    type Error = DecodeError;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DecodeError> {
        match self.value {
            Value::Object(map) => visitor
                .visit_map(Fields::new(Some(map), &self, KeyStyle::Key))
                .map_err(|e| self.fill(e)),
            Value::Array(items) => visitor
                .visit_seq(Items::new(items, &self))
                .map_err(|e| self.fill(e)),
            _ => self.value.deserialize_any(visitor).map_err(|e| self.at(e)),
        }
    }

    fn deserialize_bool<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DecodeError> {
        match self.value {
            Value::Null => visitor.visit_bool(false).map_err(|e| self.fill(e)),
            Value::String(s) => match yaml11_bool(s) {
                Some(b) => visitor.visit_bool(b).map_err(|e| self.fill(e)),
                None => self.value.deserialize_bool(visitor).map_err(|e| self.at(e)),
            },
            _ => self.value.deserialize_bool(visitor).map_err(|e| self.at(e)),
        }
    }

    scalar! {
        deserialize_i8 => |v: V| v.visit_i64(0);
        deserialize_i16 => |v: V| v.visit_i64(0);
        deserialize_i32 => |v: V| v.visit_i64(0);
        deserialize_i64 => |v: V| v.visit_i64(0);
        deserialize_u8 => |v: V| v.visit_u64(0);
        deserialize_u16 => |v: V| v.visit_u64(0);
        deserialize_u32 => |v: V| v.visit_u64(0);
        deserialize_u64 => |v: V| v.visit_u64(0);
        deserialize_f32 => |v: V| v.visit_f64(0.0);
        deserialize_f64 => |v: V| v.visit_f64(0.0);
        deserialize_str => |v: V| v.visit_str("");
        deserialize_string => |v: V| v.visit_str("");
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DecodeError> {
        if self.value.is_null() {
            visitor.visit_none()
        } else {
            visitor.visit_some(self)
        }
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        visitor: V,
    ) -> Result<V::Value, DecodeError> {
        visitor.visit_newtype_struct(self)
    }

    fn deserialize_seq<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DecodeError> {
        match self.value {
            Value::Array(items) => visitor
                .visit_seq(Items::new(items, &self))
                .map_err(|e| self.fill(e)),
            Value::Null => visitor
                .visit_seq(Items::new(&[], &self))
                .map_err(|e| self.fill(e)),
            _ => Err(self.type_error("a list")),
        }
    }

    fn deserialize_map<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DecodeError> {
        match self.value {
            Value::Object(map) => visitor
                .visit_map(Fields::new(Some(map), &self, KeyStyle::Key))
                .map_err(|e| self.fill(e)),
            Value::Null => visitor
                .visit_map(Fields::new(None, &self, KeyStyle::Key))
                .map_err(|e| self.fill(e)),
            _ => Err(self.type_error("a mapping")),
        }
    }

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, DecodeError> {
        match self.value {
            Value::Object(map) => visitor
                .visit_map(Fields::new(Some(map), &self, KeyStyle::Field))
                .map_err(|e| self.fill(e)),
            Value::Null => visitor
                .visit_map(Fields::new(None, &self, KeyStyle::Field))
                .map_err(|e| self.fill(e)),
            _ => Err(self.type_error("a mapping")),
        }
    }

    fn deserialize_ignored_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DecodeError> {
        self.unknown.borrow_mut().push(self.path.clone());
        visitor.visit_unit()
    }

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        name: &'static str,
        variants: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, DecodeError> {
        self.value
            .deserialize_enum(name, variants, visitor)
            .map_err(|e| self.at(e))
    }

    serde::forward_to_deserialize_any! {
        i128 u128 char bytes byte_buf unit unit_struct tuple tuple_struct identifier
    }
}

/// YAML 1.1 boolean words (go-yaml v2's resolve table).
fn yaml11_bool(s: &str) -> Option<bool> {
    match s {
        "y" | "Y" | "yes" | "Yes" | "YES" | "on" | "On" | "ON" => Some(true),
        "n" | "N" | "no" | "No" | "NO" | "off" | "Off" | "OFF" => Some(false),
        _ => None,
    }
}

#[derive(Clone, Copy)]
enum KeyStyle {
    /// Struct fields: `parent.name`.
    Field,
    /// Map keys: `parent[key]`.
    Key,
}

struct Fields<'v, 'c> {
    iter: Option<serde_json::map::Iter<'v>>,
    pending: Option<(&'v str, &'v Value)>,
    path: String,
    style: KeyStyle,
    unknown: &'c RefCell<Vec<String>>,
}

impl<'v, 'c> Fields<'v, 'c> {
    fn new(map: Option<&'v Map<String, Value>>, node: &Node<'v, 'c>, style: KeyStyle) -> Self {
        Self {
            iter: map.map(Map::iter),
            pending: None,
            path: node.path.clone(),
            style,
            unknown: node.unknown,
        }
    }
}

impl<'de> MapAccess<'de> for Fields<'de, '_> {
    type Error = DecodeError;

    fn next_key_seed<K: DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, DecodeError> {
        let Some((key, value)) = self.iter.as_mut().and_then(Iterator::next) else {
            return Ok(None);
        };
        self.pending = Some((key.as_str(), value));
        seed.deserialize(BorrowedStrDeserializer::new(key.as_str()))
            .map(Some)
    }

    fn next_value_seed<V: DeserializeSeed<'de>>(
        &mut self,
        seed: V,
    ) -> Result<V::Value, DecodeError> {
        let (key, value) = self
            .pending
            .take()
            .ok_or_else(|| <DecodeError as de::Error>::custom("a value was read before its key"))?;
        let path = match self.style {
            KeyStyle::Field => join_field(&self.path, key),
            KeyStyle::Key => format!("{}[{key}]", self.path),
        };
        seed.deserialize(Node {
            value,
            path,
            unknown: self.unknown,
        })
    }

    fn size_hint(&self) -> Option<usize> {
        self.iter.as_ref().map(ExactSizeIterator::len)
    }
}

struct Items<'v, 'c> {
    iter: std::iter::Enumerate<std::slice::Iter<'v, Value>>,
    path: String,
    unknown: &'c RefCell<Vec<String>>,
}

impl<'v, 'c> Items<'v, 'c> {
    fn new(items: &'v [Value], node: &Node<'v, 'c>) -> Self {
        Self {
            iter: items.iter().enumerate(),
            path: node.path.clone(),
            unknown: node.unknown,
        }
    }
}

impl<'de> SeqAccess<'de> for Items<'de, '_> {
    type Error = DecodeError;

    fn next_element_seed<T: DeserializeSeed<'de>>(
        &mut self,
        seed: T,
    ) -> Result<Option<T::Value>, DecodeError> {
        let Some((i, value)) = self.iter.next() else {
            return Ok(None);
        };
        seed.deserialize(Node {
            value,
            path: format!("{}[{i}]", self.path),
            unknown: self.unknown,
        })
        .map(Some)
    }

    fn size_hint(&self) -> Option<usize> {
        Some(self.iter.len())
    }
}
