//! Model name matching: provider prefixes and dated variants.

/// The names to try for `model`, most specific first: as given (lowercased), without a provider
/// prefix (`openai/gpt-4o` → `gpt-4o`), and without a date or version suffix
/// (`gpt-4o-2024-08-06` → `gpt-4o`, `claude-sonnet-4-5-20250929` → `claude-sonnet-4-5`,
/// `claude-sonnet-4-5@20250929` → `claude-sonnet-4-5`, `…-latest`).
pub fn candidates(model: &str) -> Vec<String> {
    let full = model.trim().to_ascii_lowercase();
    let mut out = vec![full.clone()];
    let mut push = |s: String| {
        if !s.is_empty() && !out.contains(&s) {
            out.push(s);
        }
    };
    let bare = match full.rfind('/') {
        Some(i) => full[i + 1..].to_string(),
        None => full.clone(),
    };
    push(bare.clone());
    for name in [full.clone(), bare] {
        if let Some(undated) = strip_date(&name) {
            push(undated);
        }
    }
    out
}

fn all_digits(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit())
}

fn strip_date(name: &str) -> Option<String> {
    if let Some(base) = name.strip_suffix("-latest") {
        return Some(base.to_string());
    }
    // -YYYY-MM-DD
    if name.len() > 11 {
        let (base, tail) = name.split_at(name.len() - 11);
        let t = tail.as_bytes();
        if t[0] == b'-'
            && all_digits(&tail[1..5])
            && t[5] == b'-'
            && all_digits(&tail[6..8])
            && t[8] == b'-'
            && all_digits(&tail[9..11])
        {
            return Some(base.to_string());
        }
    }
    // -YYYYMMDD or @YYYYMMDD
    if name.len() > 9 {
        let (base, tail) = name.split_at(name.len() - 9);
        if (tail.starts_with('-') || tail.starts_with('@')) && all_digits(&tail[1..]) && tail[1..].starts_with("20") {
            return Some(base.to_string());
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dated_variants_and_prefixes() {
        assert_eq!(candidates("gpt-4o-2024-08-06"), ["gpt-4o-2024-08-06", "gpt-4o"]);
        assert_eq!(candidates("claude-sonnet-4-5-20250929"), ["claude-sonnet-4-5-20250929", "claude-sonnet-4-5"]);
        assert_eq!(
            candidates("openai/GPT-4o-mini-2024-07-18"),
            ["openai/gpt-4o-mini-2024-07-18", "gpt-4o-mini-2024-07-18", "openai/gpt-4o-mini", "gpt-4o-mini"]
        );
        assert_eq!(
            candidates("vertex_ai/claude-haiku-4-5@20251001").last().map(String::as_str),
            Some("claude-haiku-4-5")
        );
        assert_eq!(candidates("gpt-4o"), ["gpt-4o"]);
        assert_eq!(candidates("text-embedding-3-small"), ["text-embedding-3-small"]);
    }
}
