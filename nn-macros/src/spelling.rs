//! "Did you mean ...?" for unknown names.

/// The candidate closest to `word` by edit distance (case-insensitive), if it is close enough to
/// be a plausible typo: at most a third of the word's length, and at least one edit.
pub fn closest<'a>(word: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    let word = word.to_ascii_lowercase();
    let limit = (word.chars().count() / 3).max(1);
    candidates
        .into_iter()
        .map(|c| (edit_distance(&word, &c.to_ascii_lowercase()), c))
        .filter(|(d, _)| *d <= limit)
        .min_by_key(|(d, _)| *d)
        .map(|(_, c)| c)
}

/// `did you mean `x`?` or, failing a close match, the list of what is known.
pub fn hint<'a>(word: &str, candidates: &[&'a str]) -> String {
    match closest(word, candidates.iter().copied()) {
        Some(c) => format!("did you mean `{c}`?"),
        None => format!("expected one of: {}", candidates.join(", ")),
    }
}

fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1; b.len() + 1];
        for (j, cb) in b.iter().enumerate() {
            let substitution = prev[j] + usize::from(ca != *cb);
            cur[j + 1] = substitution.min(prev[j + 1] + 1).min(cur[j] + 1);
        }
        prev = cur;
    }
    prev[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suggests_near_misses_only() {
        assert_eq!(closest("rleu", ["relu", "elu", "selu"]), Some("relu"));
        assert_eq!(closest("Dens", ["Input", "Dense"]), Some("Dense"));
        assert_eq!(closest("dense", ["Input", "Dense"]), Some("Dense"));
        assert_eq!(closest("convolution", ["Input", "Dense"]), None);
    }
}
