//! Sorted, disjoint, half-open spans of absolute time in nanoseconds since the Unix epoch.

/// `[start, end)` in nanoseconds since the Unix epoch.
pub(crate) type Span = (i128, i128);

/// Sorts and merges overlapping or touching spans; drops empty ones.
pub(crate) fn normalize(mut spans: Vec<Span>) -> Vec<Span> {
    spans.retain(|&(s, e)| s < e);
    spans.sort_unstable();
    let mut out: Vec<Span> = Vec::with_capacity(spans.len());
    for (s, e) in spans {
        match out.last_mut() {
            Some(last) if s <= last.1 => last.1 = last.1.max(e),
            _ => out.push((s, e)),
        }
    }
    out
}

/// `left` followed by `right`, both normalized and every span of `left` before every span of
/// `right`; spans touching at the junction are merged.
pub(crate) fn join(mut left: Vec<Span>, right: Vec<Span>) -> Vec<Span> {
    let mut right = right.into_iter();
    if let (Some(last), Some(first)) = (left.last_mut(), right.as_slice().first())
        && first.0 <= last.1
    {
        last.1 = last.1.max(first.1);
        right.next();
    }
    left.extend(right);
    left
}

/// `a` minus `b`, both normalized.
pub(crate) fn subtract(a: &[Span], b: &[Span]) -> Vec<Span> {
    let mut out = Vec::new();
    let mut j = 0;
    for &(start, end) in a {
        let mut cur = start;
        while j < b.len() && b[j].1 <= cur {
            j += 1;
        }
        let mut k = j;
        while cur < end {
            match b.get(k) {
                Some(&(bs, be)) if bs < end => {
                    if bs > cur {
                        out.push((cur, bs));
                    }
                    cur = cur.max(be);
                    k += 1;
                }
                _ => {
                    out.push((cur, end));
                    cur = end;
                }
            }
        }
    }
    out
}

/// `a` intersected with `b`, both normalized.
pub(crate) fn intersect(a: &[Span], b: &[Span]) -> Vec<Span> {
    let (mut left, mut right) = (a.iter().peekable(), b.iter().peekable());
    let mut out = Vec::new();
    while let (Some(&&(a_start, a_end)), Some(&&(b_start, b_end))) = (left.peek(), right.peek()) {
        let (start, end) = (a_start.max(b_start), a_end.min(b_end));
        if start < end {
            out.push((start, end));
        }
        if a_end <= b_end {
            left.next();
        } else {
            right.next();
        }
    }
    out
}

/// The parts of `spans` (normalized) inside `[lo, hi)`.
pub(crate) fn clip(spans: &[Span], lo: i128, hi: i128) -> Vec<Span> {
    intersect(spans, &[(lo, hi)])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalize_merges_touching_and_overlapping() {
        assert_eq!(
            normalize(vec![(5, 7), (1, 3), (3, 4), (6, 9), (10, 10), (11, 12)]),
            vec![(1, 4), (5, 9), (11, 12)]
        );
    }

    #[test]
    fn subtract_and_intersect() {
        let a = [(0, 10), (20, 30)];
        let b = [(2, 3), (5, 22), (29, 40)];
        assert_eq!(subtract(&a, &b), vec![(0, 2), (3, 5), (22, 29)]);
        assert_eq!(intersect(&a, &b), vec![(2, 3), (5, 10), (20, 22), (29, 30)]);
        assert_eq!(subtract(&a, &[]), a.to_vec());
        assert_eq!(subtract(&a, &[(-5, 50)]), vec![]);
        assert_eq!(clip(&a, 5, 25), vec![(5, 10), (20, 25)]);
        assert_eq!(
            join(vec![(0, 2), (3, 5)], vec![(5, 6), (7, 8)]),
            vec![(0, 2), (3, 6), (7, 8)]
        );
        assert_eq!(join(vec![(0, 2)], vec![(3, 4)]), vec![(0, 2), (3, 4)]);
        assert_eq!(join(vec![], vec![(3, 4)]), vec![(3, 4)]);
    }
}
