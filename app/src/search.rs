//! Searching messages: what a person types, split the same way on both ends.
//!
//! The search box takes words and two filters, `in:room` and `from:person`. The browser splits
//! that text ([`parse`]) into the request's fields; the server takes only the words out of
//! [`SearchRequest::text`] ([`terms`]) and hands the store a list of plain words, never the
//! text itself, so nothing a person types can reach the full-text engines' own query languages
//! (FTS5's `NEAR`, quotes and column filters; `tsquery` operators). The same word list drives
//! the highlighting of results ([`highlight`]).
//!
//! A word matches whole words of a message, case-insensitively; a word of
//! [`PREFIX_MIN_CHARS`] or more also matches words it begins (`deploy` finds "deployed"). Every
//! word must match (AND). Results come newest first.

use serde::{Deserialize, Serialize};

use crate::model::{ChatMessage, RoomId, UserId};

/// Longest search text accepted, in Unicode scalar values.
pub const MAX_SEARCH_CHARS: usize = 200;

/// Most words a search uses; further ones are ignored.
pub const MAX_SEARCH_TERMS: usize = 8;

/// Longest word, in Unicode scalar values (longer ones are cut).
pub const MAX_TERM_CHARS: usize = 64;

/// Words at least this long also match words they are the beginning of.
pub const PREFIX_MIN_CHARS: usize = 3;

/// Most results one search returns.
pub const SEARCH_RESULTS: u32 = 30;

/// Payload of [`crate::events::messages::SearchMessages`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct SearchRequest {
    /// The words to find (at most [`MAX_SEARCH_CHARS`]); anything but letters and digits
    /// separates words.
    pub text: String,
    /// Only in this room (which the caller must be a member of).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub room: Option<RoomId>,
    /// Only messages by this person.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from: Option<UserId>,
}

/// Ack of [`crate::events::messages::SearchMessages`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct SearchResults {
    /// Matching messages, newest first, at most [`SEARCH_RESULTS`]; only from rooms the caller
    /// is a member of now, never deleted ones, edited ones by their current text.
    pub hits: Vec<ChatMessage>,
    /// More messages matched than were returned (narrow the search to see them).
    pub more: bool,
    /// The words searched for, as the server understood them (for highlighting).
    pub terms: Vec<String>,
}

/// The words of a search text: runs of letters and digits, lowercased, each at most
/// [`MAX_TERM_CHARS`], without repeats, at most [`MAX_SEARCH_TERMS`].
pub fn terms(text: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for word in text.split(|c: char| !c.is_alphanumeric()).filter(|w| !w.is_empty()) {
        let word: String = word.to_lowercase().chars().take(MAX_TERM_CHARS).collect();
        if !out.contains(&word) {
            out.push(word);
        }
        if out.len() == MAX_SEARCH_TERMS {
            break;
        }
    }
    out
}

/// Whether `term` is matched as a prefix (see the module docs).
pub fn is_prefix(term: &str) -> bool {
    term.chars().count() >= PREFIX_MIN_CHARS
}

/// What a person typed into the search box, split into words and filters.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Typed {
    /// Everything that is not a filter.
    pub text: String,
    /// The value of `in:` (a leading `#` dropped).
    pub room: Option<String>,
    /// The value of `from:` (a leading `@` dropped).
    pub from: Option<String>,
}

/// Splits search-box text: `in:NAME` and `from:NAME` (the last of each wins; a value with spaces
/// in double quotes, `from:"Ada L"`) are filters, the rest is the words.
pub fn parse(input: &str) -> Typed {
    let mut typed = Typed::default();
    let mut words: Vec<&str> = Vec::new();
    let mut rest = input.trim_start();
    while !rest.is_empty() {
        let (token, after) = next_token(rest);
        let lower = token.to_ascii_lowercase();
        if let Some(value) = lower.starts_with("in:").then(|| &token[3..]) {
            let value = unquote(value).trim_start_matches('#');
            typed.room = (!value.is_empty()).then(|| value.to_owned());
        } else if let Some(value) = lower.starts_with("from:").then(|| &token[5..]) {
            let value = unquote(value).trim_start_matches('@');
            typed.from = (!value.is_empty()).then(|| value.to_owned());
        } else {
            words.push(token);
        }
        rest = after.trim_start();
    }
    typed.text = words.join(" ");
    typed
}

/// The first token of `s` (which starts with no whitespace) and what follows it. A token runs
/// to the next whitespace, except inside double quotes that follow a `:`.
fn next_token(s: &str) -> (&str, &str) {
    let mut quoted = false;
    let mut prev = None;
    for (i, c) in s.char_indices() {
        if c == '"' && (quoted || prev == Some(':')) {
            quoted = !quoted;
        } else if c.is_whitespace() && !quoted {
            return (&s[..i], &s[i..]);
        }
        prev = Some(c);
    }
    (s, "")
}

fn unquote(value: &str) -> &str {
    let value = value.strip_prefix('"').unwrap_or(value);
    value.strip_suffix('"').unwrap_or(value)
}

/// Splits `text` into runs that match one of `terms` (true) and runs that do not (false), by
/// the rule the search used: a word matches a term it equals, or begins with if the term is a
/// prefix term. Joined again, the runs are `text`.
pub fn highlight<'a>(text: &'a str, terms: &[String]) -> Vec<(&'a str, bool)> {
    let matches = |word: &str| {
        let word = word.to_lowercase();
        terms.iter().any(|t| if is_prefix(t) { word.starts_with(t.as_str()) } else { word == *t })
    };
    let mut out: Vec<(&str, bool)> = Vec::new();
    let mut push = |run: &'a str, hit: bool| {
        if !run.is_empty() {
            out.push((run, hit));
        }
    };
    let mut word_start = None;
    let mut plain_start = 0;
    for (i, c) in text.char_indices().chain(std::iter::once((text.len(), ' '))) {
        match (c.is_alphanumeric(), word_start) {
            (true, None) => word_start = Some(i),
            (false, Some(start)) => {
                word_start = None;
                if matches(&text[start..i]) {
                    push(&text[plain_start..start], false);
                    push(&text[start..i], true);
                    plain_start = i;
                }
            }
            _ => {}
        }
    }
    push(&text[plain_start..], false);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn owned(words: &[&str]) -> Vec<String> {
        words.iter().map(|w| (*w).to_owned()).collect()
    }

    #[test]
    fn terms_are_words_lowercased_once_and_bounded() {
        assert_eq!(
            terms("Deploy, the DEPLOY-script: v2!"),
            owned(&["deploy", "the", "script", "v2"])
        );
        assert_eq!(terms("\"NEAR(a b)\" OR col:x*"), owned(&["near", "a", "b", "or", "col", "x"]));
        assert!(terms("  ¡¿ -- ** ").is_empty());
        assert_eq!(terms("Ünïcode 日本語").len(), 2);
        let many = (0..20).map(|i| format!("w{i}")).collect::<Vec<_>>().join(" ");
        assert_eq!(terms(&many).len(), MAX_SEARCH_TERMS);
        assert_eq!(terms(&"x".repeat(500))[0].len(), MAX_TERM_CHARS);
    }

    #[test]
    fn filters_are_taken_out_of_the_words() {
        let typed = parse("release notes in:#design from:@Ada");
        assert_eq!(typed.text, "release notes");
        assert_eq!(typed.room.as_deref(), Some("design"));
        assert_eq!(typed.from.as_deref(), Some("Ada"));
        let quoted = parse(r#"from:"Ada L" in:ops   budget"#);
        assert_eq!(quoted.from.as_deref(), Some("Ada L"));
        assert_eq!(quoted.room.as_deref(), Some("ops"));
        assert_eq!(quoted.text, "budget");
        assert_eq!(parse("IN:ops From:bob").room.as_deref(), Some("ops"));
        // An empty filter is no filter; quotes elsewhere are words.
        let bare = parse(r#"in: say "hi there""#);
        assert_eq!(bare.room, None);
        assert_eq!(bare.text, r#"say "hi there""#);
    }

    #[test]
    fn highlighting_marks_matching_words_and_keeps_the_text() {
        let terms = owned(&["deploy", "v2"]);
        let runs = highlight("Deployed v2, not v21 (redeploy)", &terms);
        assert_eq!(
            runs,
            vec![("Deployed", true), (" ", false), ("v2", true), (", not v21 (redeploy)", false)]
        );
        let joined: String = runs.iter().map(|(r, _)| *r).collect();
        assert_eq!(joined, "Deployed v2, not v21 (redeploy)");
        assert_eq!(highlight("", &terms), vec![]);
        assert_eq!(highlight("nothing here", &terms), vec![("nothing here", false)]);
        assert_eq!(
            highlight("café CAFÉ", &owned(&["café"])),
            vec![("café", true), (" ", false), ("CAFÉ", true)]
        );
    }

    proptest::proptest! {
        #[test]
        fn highlighting_never_loses_text(text in "\\PC{0,80}", words in "[a-z ]{0,20}") {
            let terms = terms(&words);
            let joined: String = highlight(&text, &terms).iter().map(|(r, _)| *r).collect();
            proptest::prop_assert_eq!(joined, text);
        }

        #[test]
        fn parsing_never_panics(input in "\\PC{0,80}") {
            let _ = parse(&input);
        }
    }
}
