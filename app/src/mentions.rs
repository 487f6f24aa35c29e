//! `@name` mentions: finding them in a message, and the composer's `@` query.
//!
//! A mention is stored as a reference to a person's id with the place in the body it was
//! written ([`Mention`]), not as the text alone: the server resolves `@Ada Lovelace` against the
//! room's members when the message is sent (or edited), so a later change of how the name is
//! spelled (case, say) neither breaks nor moves it, and the UI draws the person's current name.
//!
//! The rules, shared by the server (which resolves) and the UI (which offers names):
//!
//! - `@` starts a mention at the start of the text or after a character that is not a letter,
//!   a digit or `@` (so `ada@example.com` mentions nobody).
//! - What follows is compared, case-insensitively, with the names of the room's members; the
//!   longest name that matches and is not followed by a letter or digit wins (`@Ada Lovelace`
//!   over `@Ada` when both are members). Names with spaces work.
//! - `@room` and `@here` (any case) mention everyone in the room. Who may use them is the
//!   server's rule (see the README); a member called "room" is mentioned only by a longer name.
//! - Anything else after `@` is plain text.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};

use crate::model::{UserId, UserRef};

/// One mention in a message body.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct Mention {
    /// Byte offset of the `@` in the body.
    pub start: u32,
    /// Byte offset just past the mention's text.
    pub end: u32,
    /// The person mentioned; `None` for `@room` / `@here` (everyone in the room).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user: Option<UserId>,
}

impl Mention {
    /// Whether this mention reaches `user` (named, or through `@room`).
    pub fn reaches(&self, user: &UserId) -> bool {
        self.user.as_ref().is_none_or(|u| u == user)
    }
}

/// The words that mention everyone in the room.
pub const ROOM_WORDS: [&str; 2] = ["room", "here"];

fn is_word(c: char) -> bool {
    c.is_alphanumeric()
}

/// Whether an `@` at byte `at` of `text` may start a mention (see the module rules).
fn starts_mention(text: &str, at: usize) -> bool {
    text[..at].chars().next_back().is_none_or(|c| !is_word(c) && c != '@')
}

/// At most this many mentions are kept per message (the rest of the text stays plain): bounds
/// the rows a message writes and what a client can make the server resolve.
pub const MAX_MENTIONS: usize = 50;

/// The mentions in `body` of `members` and of the whole room, in order (at most
/// [`MAX_MENTIONS`]). Offsets are bytes of `body`.
///
/// The work is bounded whatever the text and the room: members are looked up by name in a map,
/// once per name length (at most [`crate::limits::MAX_NAME_CHARS`] lengths) for each `@`, not
/// compared one by one, so a message full of `@` in a room of thousands stays cheap.
pub fn find_mentions(body: &str, members: &[UserRef]) -> Vec<Mention> {
    let mut by_name: HashMap<String, &UserId> = HashMap::with_capacity(members.len());
    let mut lengths: Vec<usize> = Vec::new();
    for member in members {
        let name = member.name.as_str();
        by_name.insert(name.to_lowercase(), &member.id);
        lengths.push(name.chars().count());
    }
    lengths.extend(ROOM_WORDS.iter().map(|w| w.chars().count()));
    lengths.sort_unstable_by(|a, b| b.cmp(a));
    lengths.dedup();
    let mut found = Vec::new();
    let mut from = 0;
    while let Some(pos) = body[from..].find('@') {
        if found.len() == MAX_MENTIONS {
            break;
        }
        let at = from + pos;
        let rest = &body[at + 1..];
        from = at + 1;
        if !starts_mention(body, at) {
            continue;
        }
        // Longest first; at one length the room words win over a member of that name.
        let best = lengths.iter().find_map(|&len| {
            let end = prefix_end(rest, len)?;
            if rest[end..].chars().next().is_some_and(is_word) {
                return None;
            }
            let written = rest[..end].to_lowercase();
            if ROOM_WORDS.contains(&written.as_str()) {
                return Some((end, None));
            }
            by_name.get(&written).map(|id| (end, Some((*id).clone())))
        });
        if let Some((len, user)) = best {
            let end = at + 1 + len;
            found.push(Mention { start: offset(at), end: offset(end), user });
            from = end;
        }
    }
    found
}

/// The byte length of the first `chars` characters of `text`, if it has that many.
fn prefix_end(text: &str, chars: usize) -> Option<usize> {
    if chars == 0 {
        return None;
    }
    match text.char_indices().nth(chars) {
        Some((end, _)) => Some(end),
        None => (text.chars().count() == chars).then_some(text.len()),
    }
}

fn offset(at: usize) -> u32 {
    u32::try_from(at).unwrap_or(u32::MAX)
}

/// A piece of a message body: text as written, or a mention.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Segment<'a> {
    /// Plain text.
    Text(&'a str),
    /// A mention, with its text as written.
    Mention(&'a Mention, &'a str),
}

/// `body` cut at its mentions. Mentions that do not fit the body (overlapping, out of range,
/// not on character boundaries: never made by the server, but the body is not ours) are left
/// as text.
pub fn segments<'a>(body: &'a str, mentions: &'a [Mention]) -> Vec<Segment<'a>> {
    let mut out = Vec::new();
    let mut at = 0usize;
    for mention in mentions {
        let (start, end) = (mention.start as usize, mention.end as usize);
        if start < at || end <= start {
            continue;
        }
        let (Some(before), Some(text)) = (body.get(at..start), body.get(start..end)) else {
            continue;
        };
        if !before.is_empty() {
            out.push(Segment::Text(before));
        }
        out.push(Segment::Mention(mention, text));
        at = end;
    }
    if let Some(rest) = body.get(at..)
        && !rest.is_empty()
    {
        out.push(Segment::Text(rest));
    }
    out
}

/// The `@` query being typed just before the caret: the byte offset of its `@` in `before`
/// (the text up to the caret) and what follows it. `None` when the caret is not in one (no `@`
/// that may start a mention, a line break since, or more text than a name can have).
pub fn query_at_caret(before: &str) -> Option<(usize, &str)> {
    let at = before.rfind('@')?;
    let query = &before[at + 1..];
    let too_long = query.chars().count() > crate::limits::MAX_NAME_CHARS;
    if too_long || query.contains('\n') || !starts_mention(before, at) {
        return None;
    }
    Some((at, query))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::DisplayName;

    fn person(name: &str) -> UserRef {
        UserRef::named(DisplayName::parse(name).expect("name"))
    }

    fn who(body: &str, members: &[UserRef]) -> Vec<(String, Option<String>)> {
        find_mentions(body, members)
            .into_iter()
            .map(|m| {
                (body[m.start as usize..m.end as usize].to_owned(), m.user.map(|u| u.0.clone()))
            })
            .collect()
    }

    #[test]
    fn names_are_matched_case_insensitively_and_longest_first() {
        let members = [person("Ada"), person("Ada Lovelace"), person("bob")];
        assert_eq!(
            who("hi @ada and @ADA LOVELACE, @Bob!", &members),
            vec![
                ("@ada".to_owned(), Some("ada".to_owned())),
                ("@ADA LOVELACE".to_owned(), Some("ada lovelace".to_owned())),
                ("@Bob".to_owned(), Some("bob".to_owned())),
            ]
        );
    }

    #[test]
    fn unknown_names_emails_and_partial_words_mention_nobody() {
        let members = [person("Ada"), person("bob")];
        assert!(who("@carol, mail ada@example.com", &members).is_empty());
        assert!(who("@adam is not ada", &members).is_empty(), "a longer word is another name");
        assert!(who("@@ada", &members).is_empty());
        assert_eq!(who("(@bob)", &members), vec![("@bob".to_owned(), Some("bob".to_owned()))]);
    }

    #[test]
    fn room_and_here_mention_everyone() {
        let members = [person("Room Service"), person("room")];
        let found = find_mentions("@room now, @Here too, @room service please", &members);
        assert_eq!(found.iter().map(|m| m.user.is_none()).collect::<Vec<_>>(), [true, true, false]);
        assert!(found[0].reaches(&UserId("anyone".into())));
        assert!(!found[2].reaches(&UserId("anyone".into())));
    }

    #[test]
    fn offsets_are_bytes_of_the_body_and_segments_rebuild_it() {
        let members = [person("Zoë"), person("Ελένη")];
        let body = "ça va @zoë? et @ΕΛΈΝΗ…";
        let found = find_mentions(body, &members);
        assert_eq!(found.len(), 2);
        let rebuilt: String = segments(body, &found)
            .into_iter()
            .map(|s| match s {
                Segment::Text(t) | Segment::Mention(_, t) => t,
            })
            .collect();
        assert_eq!(rebuilt, body);
    }

    #[test]
    fn segments_ignore_mentions_that_do_not_fit() {
        let bad = [
            Mention { start: 2, end: 1, user: None },
            Mention { start: 0, end: 99, user: None },
            Mention { start: 1, end: 2, user: None }, // inside "é"
        ];
        assert_eq!(segments("é!", &bad), vec![Segment::Text("é!")]);
    }

    #[test]
    fn a_message_keeps_at_most_the_cap_and_a_big_room_costs_little() {
        let members: Vec<UserRef> = (0..5_000).map(|i| person(&format!("member {i}"))).collect();
        let body = "@member 7 ".repeat(400);
        let found = find_mentions(&body, &members);
        assert_eq!(found.len(), MAX_MENTIONS);
        assert!(found.iter().all(|m| m.user == Some(UserId("member 7".into()))));
        // Four thousand `@` that match nobody: one map lookup per name length each.
        assert!(find_mentions(&"@".repeat(4_000), &members).is_empty());
    }

    #[test]
    fn the_caret_query_is_the_word_after_the_last_at() {
        assert_eq!(query_at_caret("hello @Ad"), Some((6, "Ad")));
        assert_eq!(query_at_caret("@"), Some((0, "")));
        assert_eq!(query_at_caret("@Ada Love"), Some((0, "Ada Love")));
        assert_eq!(query_at_caret("mail me@ex"), None);
        assert_eq!(query_at_caret("@ada\nnext"), None);
        assert_eq!(query_at_caret("no at"), None);
    }

    proptest::proptest! {
        /// Any text: mentions lie on character boundaries, start with `@`, never overlap, name
        /// a member or everyone, and cutting the text at them gives it back.
        #[test]
        fn mentions_in_any_text_are_well_formed(
            text in "(@|@ada|@ADA LOVELACE|@room|@zoë|x@ada|é|ß|İ| |,|a|\\n){0,24}"
        ) {
            let members = [person("Ada"), person("Ada Lovelace"), person("Zoë")];
            let found = find_mentions(&text, &members);
            let mut end = 0;
            for m in &found {
                proptest::prop_assert!(m.start as usize >= end);
                let written = text.get(m.start as usize..m.end as usize);
                proptest::prop_assert!(written.is_some_and(|w| w.starts_with('@')));
                proptest::prop_assert!(m.user.as_ref().is_none_or(|u| members.iter().any(|p| p.id == *u)));
                end = m.end as usize;
            }
            let rebuilt: String = segments(&text, &found)
                .into_iter()
                .map(|s| match s {
                    Segment::Text(t) | Segment::Mention(_, t) => t,
                })
                .collect();
            proptest::prop_assert_eq!(rebuilt, text);
        }
    }
}
