//! Line diffs between two revisions of a text (longest common subsequence), for showing what
//! a post-mortem revision changed.

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Change {
    Same,
    Added,
    Removed,
}

/// The lines of `after` against `before`, in order, each marked. Texts beyond 4,000 lines
/// are compared as a whole replacement (the table would be too large).
pub fn lines(before: &str, after: &str) -> Vec<(Change, String)> {
    let a: Vec<&str> = before.lines().collect();
    let b: Vec<&str> = after.lines().collect();
    if a.len() * b.len() > 16_000_000 {
        let mut out: Vec<(Change, String)> = a
            .iter()
            .map(|it| (Change::Removed, it.to_string()))
            .collect();
        out.extend(b.iter().map(|it| (Change::Added, it.to_string())));
        return out;
    }
    // lcs[i][j]: the longest common subsequence of a[i..] and b[j..].
    let mut lcs = vec![vec![0u32; b.len() + 1]; a.len() + 1];
    for i in (0..a.len()).rev() {
        for j in (0..b.len()).rev() {
            lcs[i][j] = if a[i] == b[j] {
                lcs[i + 1][j + 1] + 1
            } else {
                lcs[i + 1][j].max(lcs[i][j + 1])
            };
        }
    }
    let (mut i, mut j, mut out) = (0, 0, Vec::new());
    while i < a.len() || j < b.len() {
        if i < a.len() && j < b.len() && a[i] == b[j] {
            out.push((Change::Same, a[i].to_string()));
            i += 1;
            j += 1;
        } else if j < b.len() && (i == a.len() || lcs[i][j + 1] >= lcs[i + 1][j]) {
            out.push((Change::Added, b[j].to_string()));
            j += 1;
        } else {
            out.push((Change::Removed, a[i].to_string()));
            i += 1;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use Change::*;

    /// (before, after, the marked lines).
    type Case = (&'static str, &'static str, Vec<(Change, &'static str)>);

    #[test]
    fn changed_lines_are_marked_in_order() {
        let table: Vec<Case> = vec![
            (
                "a\nb\nc",
                "a\nb\nc",
                vec![(Same, "a"), (Same, "b"), (Same, "c")],
            ),
            (
                "a\nb\nc",
                "a\nx\nc",
                vec![(Same, "a"), (Added, "x"), (Removed, "b"), (Same, "c")],
            ),
            ("", "new", vec![(Added, "new")]),
            ("old", "", vec![(Removed, "old")]),
            (
                "a\nc",
                "a\nb\nc",
                vec![(Same, "a"), (Added, "b"), (Same, "c")],
            ),
        ];
        for (before, after, expected) in table {
            let got = lines(before, after);
            let got: Vec<(Change, &str)> = got.iter().map(|(c, l)| (*c, l.as_str())).collect();
            assert_eq!(got, expected, "{before:?} → {after:?}");
        }
    }
}
