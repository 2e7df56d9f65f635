//! Plain-text tables for terminal output.

/// Renders rows under a header, each column as wide as its widest cell.
pub fn render(header: &[&str], rows: &[Vec<String>]) -> String {
    let mut widths: Vec<usize> = header.iter().map(|it| it.chars().count()).collect();
    for row in rows {
        for (idx, cell) in row.iter().enumerate() {
            if let Some(width) = widths.get_mut(idx) {
                *width = (*width).max(cell.chars().count());
            }
        }
    }
    let line = |cells: Vec<&str>| -> String {
        let padded: Vec<String> = cells
            .iter()
            .zip(&widths)
            .enumerate()
            .map(|(idx, (cell, width))| {
                if idx + 1 == cells.len() {
                    cell.to_string()
                } else {
                    format!("{cell:<width$}")
                }
            })
            .collect();
        padded.join("  ").trim_end().to_string()
    };
    let mut out = line(header.to_vec());
    out.push('\n');
    for row in rows {
        out.push_str(&line(row.iter().map(String::as_str).collect()));
        out.push('\n');
    }
    out
}

/// Shortens text to `max` characters with an ellipsis.
pub fn truncate(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        text.to_string()
    } else {
        let mut res: String = text.chars().take(max.saturating_sub(1)).collect();
        res.push('…');
        res
    }
}

/// A JSON array printed as-is with `--json`, else as a table of `row(item)`.
pub fn print_list(
    as_json: bool,
    list: &serde_json::Value,
    headers: &[&str],
    row: impl Fn(&serde_json::Value) -> Vec<String>,
) {
    if as_json {
        println!("{}", serde_json::to_string_pretty(list).unwrap_or_default());
        return;
    }
    let rows: Vec<Vec<String>> = list.as_array().into_iter().flatten().map(row).collect();
    print!("{}", render(headers, &rows));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn aligns_columns() {
        let out = render(
            &["REF", "TITLE"],
            &[
                vec!["INC-1".into(), "Down".into()],
                vec!["INC-10".into(), "Slow".into()],
            ],
        );
        assert_eq!(out, "REF     TITLE\nINC-1   Down\nINC-10  Slow\n");
        assert_eq!(truncate("abcdef", 4), "abc…");
    }
}
