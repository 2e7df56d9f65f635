//! Parses "next update in" durations such as `30m`, `1h`, `1h30m` or a bare number of minutes.

/// Minutes in the duration, or `None` when the text is not a duration.
pub fn parse_minutes(text: &str) -> Option<i64> {
    let text = text.trim();
    if let Ok(minutes) = text.parse::<i64>() {
        return (minutes > 0).then_some(minutes);
    }
    let mut total = 0i64;
    let mut number = String::new();
    for ch in text.chars() {
        if ch.is_ascii_digit() {
            number.push(ch);
            continue;
        }
        let value: i64 = number.parse().ok()?;
        number.clear();
        total += match ch {
            'm' => value,
            'h' => value.checked_mul(60)?,
            'd' => value.checked_mul(24 * 60)?,
            _ => return None,
        };
    }
    (number.is_empty() && total > 0).then_some(total)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        let table = [
            ("30m", Some(30)),
            ("30", Some(30)),
            ("1h", Some(60)),
            ("1h30m", Some(90)),
            ("2d", Some(2880)),
            ("0", None),
            ("0m", None),
            ("m", None),
            ("30s", None),
            ("1h30", None),
            ("", None),
        ];
        for (text, expected) in table {
            assert_eq!(parse_minutes(text), expected, "{text:?}");
        }
    }
}
