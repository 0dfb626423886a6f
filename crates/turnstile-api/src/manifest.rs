//! Comparing what was submitted with what came back.
//!
//! `missing_or_changed(submitted, returned)` lists every field of `submitted` that `returned` lacks
//! or holds with another value. Extra fields in `returned` (defaults, server-set metadata) are fine.
//! A quantity written as a number may come back as the same number in a string (`9` and `"9"`).

use serde_json::Value;

/// Paths (`.spec.foo[2].bar`) where `returned` lacks or changes something `submitted` has.
pub fn missing_or_changed(submitted: &Value, returned: &Value) -> Vec<String> {
    let mut out = Vec::new();
    walk("", submitted, returned, &mut out);
    out
}

fn walk(path: &str, want: &Value, got: &Value, out: &mut Vec<String>) {
    match (want, got) {
        (Value::Object(w), Value::Object(g)) => {
            for (key, wv) in w {
                let p = format!("{path}.{key}");
                match g.get(key) {
                    Some(gv) => walk(&p, wv, gv, out),
                    None => out.push(format!("{p}: missing")),
                }
            }
        }
        (Value::Array(w), Value::Array(g)) => {
            if w.len() == g.len() {
                for (i, (wv, gv)) in w.iter().zip(g).enumerate() {
                    walk(&format!("{path}[{i}]"), wv, gv, out);
                }
            } else {
                out.push(format!("{path}: {} items, got {}", w.len(), g.len()));
            }
        }
        (Value::Number(n), Value::String(s)) if n.to_string() == *s => {}
        (Value::Number(a), Value::Number(b)) if a.as_f64() == b.as_f64() => {}
        (w, g) if w == g => {}
        (w, g) => out.push(format!("{path}: submitted {w}, got {g}")),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::missing_or_changed;

    #[test]
    fn extra_fields_are_fine_missing_ones_are_not() {
        let submitted = json!({"spec": {"a": 1, "b": [1, {"c": "x"}]}});
        let returned = json!({"spec": {"a": 1, "b": [1, {"c": "x", "d": true}], "e": 2}});
        assert!(missing_or_changed(&submitted, &returned).is_empty());
        let pruned = json!({"spec": {"b": [1, {}]}});
        assert_eq!(
            missing_or_changed(&submitted, &pruned),
            vec![
                ".spec.a: missing".to_owned(),
                ".spec.b[1].c: missing".to_owned()
            ]
        );
    }

    #[test]
    fn numbers_match_their_string_form_only() {
        assert!(missing_or_changed(&json!({"q": 9}), &json!({"q": "9"})).is_empty());
        assert!(missing_or_changed(&json!({"q": 1}), &json!({"q": 1.0})).is_empty());
        assert_eq!(
            missing_or_changed(&json!({"q": 9}), &json!({"q": "90"})).len(),
            1
        );
        assert_eq!(missing_or_changed(&json!([1, 2]), &json!([1])).len(), 1);
    }
}
