//! Syntax checks of Kubernetes names, label keys and values, as the apiserver applies them.

const DNS1123_LABEL_MAX: usize = 63;
const DNS1123_SUBDOMAIN_MAX: usize = 253;
const QUALIFIED_NAME_MAX: usize = 63;
const LABEL_VALUE_MAX: usize = 63;
/// Total size limit of an object's annotations (keys and values), in bytes.
pub const TOTAL_ANNOTATION_SIZE_LIMIT: usize = 256 * 1024;

fn is_alnum(c: u8) -> bool {
    c.is_ascii_lowercase() || c.is_ascii_digit()
}

/// Whether `s` is a DNS-1123 label: lower-case alphanumerics and `-`, alphanumeric at both ends, ≤ 63.
pub fn is_dns1123_label(s: &str) -> bool {
    let b = s.as_bytes();
    !b.is_empty()
        && b.len() <= DNS1123_LABEL_MAX
        && b.iter().all(|&c| is_alnum(c) || c == b'-')
        && is_alnum(b[0])
        && is_alnum(b[b.len() - 1])
}

/// Whether `s` is a DNS-1123 subdomain: dot-separated DNS-1123 labels, ≤ 253 in all.
pub fn is_dns1123_subdomain(s: &str) -> bool {
    !s.is_empty() && s.len() <= DNS1123_SUBDOMAIN_MAX && s.split('.').all(is_dns1123_label)
}

/// Why `s` is not a qualified name (`[prefix/]name`, the syntax of label and annotation keys),
/// or `None` when it is one.
pub fn qualified_name_error(s: &str) -> Option<String> {
    let (prefix, name) = match s.split_once('/') {
        Some((p, n)) => (Some(p), n),
        None => (None, s),
    };
    if let Some(p) = prefix {
        if p.is_empty() {
            return Some("prefix part must be non-empty".into());
        }
        if !is_dns1123_subdomain(p) {
            return Some(
                "prefix part a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', \
                 and must start and end with an alphanumeric character"
                    .into(),
            );
        }
    }
    if name.is_empty() {
        return Some("name part must be non-empty".into());
    }
    if name.len() > QUALIFIED_NAME_MAX {
        return Some("name part must be no more than 63 characters".into());
    }
    let b = name.as_bytes();
    let ok = b
        .iter()
        .all(|&c| c.is_ascii_alphanumeric() || c == b'-' || c == b'_' || c == b'.')
        && b[0].is_ascii_alphanumeric()
        && b[b.len() - 1].is_ascii_alphanumeric();
    if !ok {
        return Some(
            "name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an \
             alphanumeric character"
                .into(),
        );
    }
    None
}

/// Why `s` is not a valid label value, or `None` when it is one (the empty string is valid).
pub fn label_value_error(s: &str) -> Option<String> {
    if s.is_empty() {
        return None;
    }
    if s.len() > LABEL_VALUE_MAX {
        return Some("must be no more than 63 characters".into());
    }
    let b = s.as_bytes();
    let ok = b
        .iter()
        .all(|&c| c.is_ascii_alphanumeric() || c == b'-' || c == b'_' || c == b'.')
        && b[0].is_ascii_alphanumeric()
        && b[b.len() - 1].is_ascii_alphanumeric();
    (!ok).then(|| {
        "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start \
         and end with an alphanumeric character"
            .into()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        assert!(is_dns1123_label("a-1"));
        assert!(!is_dns1123_label("-a"));
        assert!(!is_dns1123_label("A"));
        assert!(!is_dns1123_label(&"a".repeat(64)));
        assert!(is_dns1123_subdomain("a.b-c.d"));
        assert!(!is_dns1123_subdomain("a..b"));
        assert!(!is_dns1123_subdomain(""));
    }

    #[test]
    fn keys_and_values() {
        assert_eq!(qualified_name_error("kueue.x-k8s.io/queue-name"), None);
        assert_eq!(qualified_name_error("nvidia.com/gpu"), None);
        assert_eq!(qualified_name_error("cpu"), None);
        assert!(qualified_name_error("/x").is_some());
        assert!(qualified_name_error("Bad_Prefix/x").is_some());
        assert!(qualified_name_error("x/").is_some());
        assert!(qualified_name_error("-x").is_some());
        assert!(qualified_name_error(&"x".repeat(64)).is_some());
        assert_eq!(label_value_error(""), None);
        assert_eq!(label_value_error("on-demand"), None);
        assert!(label_value_error("a b").is_some());
        assert!(label_value_error(&"v".repeat(64)).is_some());
    }
}
