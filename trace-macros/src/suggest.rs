//! "Did you mean" for misspelled argument names.

/// The candidate closest to `input`, if it is close enough to be a plausible typo.
pub(crate) fn nearest<'a>(input: &str, candidates: &[&'a str]) -> Option<&'a str> {
    candidates
        .iter()
        .map(|c| (distance(input, c), *c))
        .filter(|(d, c)| *d <= (c.len().max(input.len()) / 3).max(1))
        .min_by_key(|(d, _)| *d)
        .map(|(_, c)| c)
}

/// Levenshtein distance.
fn distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut prev = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let cur = row[j + 1];
            row[j + 1] = if ca == *cb { prev } else { 1 + prev.min(row[j]).min(cur) };
            prev = cur;
        }
    }
    row[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suggests_close_names_only() {
        let valid = ["provider", "model", "operation", "fields"];
        assert_eq!(nearest("modle", &valid), Some("model"));
        assert_eq!(nearest("provder", &valid), Some("provider"));
        assert_eq!(nearest("field", &valid), Some("fields"));
        assert_eq!(nearest("temperature", &valid), None);
    }
}
