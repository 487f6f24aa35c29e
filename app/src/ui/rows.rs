//! What a message list shows between and around its lines: day separators, the "New messages"
//! divider, and which messages continue their author's group (shown without name and avatar).
//!
//! Kept apart from the views so the rules are tested natively.

use super::time;
use super::timeline::{Line, LineKey, MessageLine};
use crate::model::UserId;

/// A message within this long of the one before it, by the same person, continues its group
/// (Slack and Discord use a few minutes too).
pub const GROUP_MS: i64 = 5 * 60_000;

/// A row of a message list.
// Nearly every row is a line, so boxing lines would only add an allocation per row.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Row {
    /// A timeline line; `compact` for a message that continues its author's group.
    Line {
        /// The line.
        line: Line,
        /// Shown without name and avatar.
        compact: bool,
    },
    /// "New messages" above the first unread message from someone else.
    Divider,
    /// The start of a day, with its words ("Today", "Yesterday", a date).
    Day {
        /// The calendar day.
        day: (i32, u32, u32),
        /// What the separator says.
        label: String,
    },
}

/// Keys rows for rendering: a line's key with its grouping (a message that starts or stops
/// continuing a group is drawn again), a day by its date.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum RowKey {
    /// A line.
    Line(LineKey, bool),
    /// The divider.
    Divider,
    /// A day separator (and its words, which change at midnight).
    Day((i32, u32, u32), String),
}

impl Row {
    /// The key to render this row by.
    pub fn key(&self) -> RowKey {
        match self {
            Row::Line { line, compact } => RowKey::Line(line.key(), *compact),
            Row::Divider => RowKey::Divider,
            Row::Day { day, label } => RowKey::Day(*day, label.clone()),
        }
    }
}

/// What the list shows for `lines` (oldest first): a day separator where the day changes (in
/// the reader's time zone when `local`), the divider above the first message after
/// `divider_after` (a seq) not written by `me`, and grouping.
pub fn rows(
    lines: &[Line],
    divider_after: Option<u64>,
    me: Option<&UserId>,
    now_ms: i64,
    local: bool,
) -> Vec<Row> {
    let mut rows = Vec::with_capacity(lines.len() + 4);
    let mut divider_placed = divider_after.is_none();
    let mut day = None;
    // The message a next one may continue (none after a notice, separator or divider).
    let mut previous: Option<&MessageLine> = None;
    for line in lines {
        let at = match line {
            // An unsent message is "now".
            Line::Message(m) => m.sent_at_ms.unwrap_or(now_ms),
            Line::Notice { at_ms, .. } => *at_ms,
        };
        let this_day = time::day(at, local);
        if day != Some(this_day) {
            day = Some(this_day);
            rows.push(Row::Day { day: this_day, label: time::day_label(at, now_ms, local) });
            previous = None;
        }
        if let Line::Message(m) = line
            && !divider_placed
            && m.seq.is_some_and(|s| Some(s) > divider_after)
            && me != Some(&m.author.id)
        {
            rows.push(Row::Divider);
            divider_placed = true;
            previous = None;
        }
        match line {
            Line::Message(m) => {
                let compact = previous.is_some_and(|p| {
                    let p_at = p.sent_at_ms.unwrap_or(now_ms);
                    p.author.id == m.author.id && (0..=GROUP_MS).contains(&(at - p_at))
                });
                rows.push(Row::Line { line: line.clone(), compact });
                previous = Some(m);
            }
            Line::Notice { .. } => {
                rows.push(Row::Line { line: line.clone(), compact: false });
                previous = None;
            }
        }
    }
    rows
}

#[cfg(all(test, not(feature = "hydrate")))]
mod tests {
    use super::*;
    use crate::model::{ChatMessage, DisplayName, RoomId, UserRef};
    use crate::ui::timeline::Timeline;

    const DAY: i64 = 86_400_000;
    // 2026-11-23T10:00:00Z
    const T: i64 = 1_795_428_000_000;

    fn person(name: &str) -> UserRef {
        UserRef::named(DisplayName::parse(name).expect("name"))
    }

    fn message(seq: u64, author: &UserRef, at: i64) -> ChatMessage {
        ChatMessage {
            id: uuid::Uuid::from_u128(u128::from(seq)),
            room: RoomId::lobby(),
            seq,
            author: author.clone(),
            body: format!("m{seq}"),
            sent_at_ms: at,
            rev: seq,
            edited_at_ms: None,
            deleted: false,
            moderated: false,
            mentions: Vec::new(),
            reactions: Vec::new(),
            thread: None,
            replies: 0,
            last_reply_at_ms: None,
            attachment: None,
        }
    }

    fn timeline(messages: &[(&UserRef, i64)]) -> Timeline {
        let mut t = Timeline::default();
        for (i, (author, at)) in messages.iter().enumerate() {
            t.apply(message(i as u64 + 1, author, *at));
        }
        t
    }

    /// The rows in short: `Day(label)`, `---` for the divider, `name` or `+name` (compact).
    fn shape(rows: &[Row]) -> Vec<String> {
        rows.iter()
            .map(|r| match r {
                Row::Day { label, .. } => format!("Day({label})"),
                Row::Divider => "---".to_owned(),
                Row::Line { line: Line::Message(m), compact } => {
                    format!("{}{}", if *compact { "+" } else { "" }, m.author.name)
                }
                Row::Line { line: Line::Notice { text, .. }, .. } => text.clone(),
            })
            .collect()
    }

    #[test]
    fn days_are_separated_and_groups_break_on_author_time_and_day() {
        let (ada, bob) = (person("Ada"), person("Bob"));
        let t = timeline(&[
            (&ada, T - 3 * DAY),
            (&ada, T - DAY),
            (&ada, T - DAY + 60_000),
            (&ada, T - DAY + 60_000 + GROUP_MS + 1),
            (&bob, T - DAY + 60_000 + GROUP_MS + 2),
            (&ada, T),
        ]);
        let rows = rows(t.lines(), None, None, T + 60_000, false);
        assert_eq!(
            shape(&rows),
            [
                "Day(2026-11-20)",
                "Ada",
                "Day(Yesterday)",
                "Ada",
                "+Ada",
                "Ada",
                "Bob",
                "Day(Today)",
                "Ada",
            ]
        );
    }

    #[test]
    fn the_divider_and_notices_break_groups() {
        let (ada, bob) = (person("Ada"), person("Bob"));
        let mut t = timeline(&[(&ada, T), (&ada, T + 1_000), (&ada, T + 2_000)]);
        t.push_notice("Bob joined".into(), T + 2_500);
        t.apply(message(4, &ada, T + 3_000));
        let rows = rows(t.lines(), Some(1), Some(&bob.id), T + 4_000, false);
        assert_eq!(shape(&rows), ["Day(Today)", "Ada", "---", "Ada", "+Ada", "Bob joined", "Ada"]);
        // The reader's own messages never get the divider above them.
        let rows = super::rows(t.lines(), Some(1), Some(&ada.id), T + 4_000, false);
        assert!(!shape(&rows).contains(&"---".to_owned()));
    }
}
