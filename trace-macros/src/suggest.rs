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

/// Edit distance counting a swap of two neighbouring characters as one edit (optimal string
/// alignment), so `modle` is one typo away from `model`.
fn distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    // d[i][j]: distance between the first i chars of a and the first j chars of b.
    let mut d = vec![vec![0usize; b.len() + 1]; a.len() + 1];
    for (i, row) in d.iter_mut().enumerate() {
        row[0] = i;
    }
    for (j, cell) in d[0].iter_mut().enumerate() {
        *cell = j;
    }
    for i in 1..=a.len() {
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            let mut best = (d[i - 1][j] + 1).min(d[i][j - 1] + 1).min(d[i - 1][j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                best = best.min(d[i - 2][j - 2] + 1);
            }
            d[i][j] = best;
        }
    }
    d[a.len()][b.len()]
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
        let valid = ["name", "element", "fields", "span_name"];
        assert_eq!(nearest("elemnet", &valid), Some("element"));
        assert_eq!(nearest("spanname", &valid), Some("span_name"));
        assert_eq!(nearest("id", &valid), None);
    }

    #[test]
    fn swaps_count_once() {
        assert_eq!(distance("modle", "model"), 1);
        assert_eq!(distance("abc", "abc"), 0);
        assert_eq!(distance("", "abc"), 3);
        assert_eq!(distance("kitten", "sitting"), 3);
    }
}
