//! One room's timeline as the client holds it: plain data and the rules that keep it right,
//! with no signals and no browser, so the trickiest client code is unit-tested.
//!
//! Messages reach a client by four routes that interleave freely: live broadcasts, acks of its
//! own requests, history pages (scrolling back) and sync pages (resuming after a reconnect).
//! Whatever the order, a [`Timeline`]:
//!
//! - lists each message once, stored messages in sequence order, its own unsent ones after them;
//! - keeps the newest state of each message: a stale copy (lower revision) never undoes an edit
//!   or a deletion;
//! - keeps a resume cursor, the revision up to which it holds every change of the room. It moves
//!   only over changes it has seen without a gap (a live change right after it, the revision of
//!   the newest history page, the last change of a sync page), so resuming from it never
//!   misses anything.
//!
//! The reactive layer ([`super::state::ChatState`]) holds one `Timeline` per room inside a signal
//! and renders lines keyed by [`Line::key`], which changes whenever a line does, so one changed
//! message re-renders one line.

use std::sync::atomic::{AtomicU64, Ordering};

use uuid::Uuid;

use crate::events::messages::HistoryPage;
use crate::model::{Attachment, ChatMessage, Mention, Reaction, UserRef};

/// Where a message we sent stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Delivery {
    /// Sent, no ack yet.
    Pending,
    /// Stored by the server.
    Sent,
    /// No ack in time (offline?); sent again by itself after the next reconnect.
    Unconfirmed,
    /// Refused by the server; the text says why.
    Failed(String),
}

/// A message as the timeline shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MessageLine {
    /// The message id (chosen by its sender).
    pub id: Uuid,
    /// Who wrote it.
    pub author: UserRef,
    /// Position in the room; `None` until the server has stored it.
    pub seq: Option<u64>,
    /// The room revision of the state held; `None` until stored.
    pub rev: Option<u64>,
    /// The text (empty once deleted).
    pub body: String,
    /// When the server accepted it (ms since the epoch); `None` until stored.
    pub sent_at_ms: Option<i64>,
    /// Edited since it was sent.
    pub edited: bool,
    /// Deleted (shown as a placeholder).
    pub deleted: bool,
    /// Removed by a moderator (with `deleted`).
    pub moderated: bool,
    /// Whom the text mentions, where (see [`crate::mentions`]).
    pub mentions: Vec<Mention>,
    /// Reactions, by emoji.
    pub reactions: Vec<Reaction>,
    /// For a reply, the message it answers.
    pub thread: Option<Uuid>,
    /// For a message that started a thread: its replies and when the last came.
    pub replies: u32,
    /// When the last reply came (ms since the epoch).
    pub last_reply_at_ms: Option<i64>,
    /// A shared file.
    pub attachment: Option<Attachment>,
    /// Our own message's delivery.
    pub delivery: Delivery,
    /// Bumped on every change of this line, for keyed rendering.
    version: u32,
}

impl MessageLine {
    fn stored(msg: ChatMessage) -> Self {
        Self {
            id: msg.id,
            author: msg.author,
            seq: Some(msg.seq),
            rev: Some(msg.rev),
            body: msg.body,
            sent_at_ms: Some(msg.sent_at_ms),
            edited: msg.edited_at_ms.is_some(),
            deleted: msg.deleted,
            moderated: msg.moderated,
            mentions: msg.mentions,
            reactions: msg.reactions,
            thread: msg.thread,
            replies: msg.replies,
            last_reply_at_ms: msg.last_reply_at_ms,
            attachment: msg.attachment,
            delivery: Delivery::Sent,
            version: 0,
        }
    }

    fn changed(&mut self) {
        self.version = self.version.wrapping_add(1);
    }
}

/// A line of a room's timeline.
// Nearly every line is a message (notices are rare), so boxing messages would only add an
// allocation per line.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Line {
    /// A message.
    Message(MessageLine),
    /// "Ada joined", "Bob left".
    Notice {
        /// Unique within the timeline.
        key: u64,
        /// The text.
        text: String,
        /// When it happened (this browser's clock), to keep it among the messages of its time.
        at_ms: i64,
    },
}

/// Identifies a line *and its state* for keyed rendering: a line whose key changes is rendered
/// again, the others are left alone.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum LineKey {
    /// A message, at one version of it.
    Message(Uuid, u32),
    /// A notice.
    Notice(u64),
}

impl Line {
    /// The key to render this line by.
    pub fn key(&self) -> LineKey {
        match self {
            Line::Message(m) => LineKey::Message(m.id, m.version),
            Line::Notice { key, .. } => LineKey::Notice(*key),
        }
    }

    fn message(&self) -> Option<&MessageLine> {
        match self {
            Line::Message(m) => Some(m),
            Line::Notice { .. } => None,
        }
    }
}

/// What applying a stored message did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Applied {
    /// It was new to this timeline: inserted in sequence order.
    Inserted,
    /// It was held already: brought up to date (or left alone, if what was held is newer).
    Updated,
    /// Older than the oldest message loaded, and not held: left out (a change to an old
    /// message must not show it out of context above a gap); it comes, as it then stands, with
    /// its history page.
    Skipped,
}

/// What a sync page did.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Synced {
    /// The page's last revision (the cursor now), from which the next page is asked; `None` for
    /// an empty page.
    pub last: Option<u64>,
    /// The messages that were new to the timeline (to count as unread, or notify of).
    pub new: Vec<ChatMessage>,
}

/// One room's lines (or one thread's) and what the client knows of its stored history.
///
/// A room's timeline holds the room's own messages; a thread's ([`Timeline::for_thread`]) the
/// replies to one message. Replies are changes of the room (they take its revisions), so a
/// room's timeline sees them go by, moving its cursor, without listing them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Timeline {
    /// `None` for a room; the message answered, for a thread.
    thread: Option<Uuid>,
    lines: Vec<Line>,
    loaded: bool,
    oldest: Option<u64>,
    has_more: bool,
    cursor: u64,
}

/// Keys for notices, from one sequence for every timeline.
static NEXT_NOTICE: AtomicU64 = AtomicU64::new(0);

impl Timeline {
    /// An empty timeline of the replies to message `parent`.
    pub fn for_thread(parent: Uuid) -> Self {
        Self { thread: Some(parent), ..Self::default() }
    }

    /// The lines, oldest first (unsent messages last).
    pub fn lines(&self) -> &[Line] {
        &self.lines
    }

    /// The messages, in the order shown.
    pub fn messages(&self) -> impl Iterator<Item = &MessageLine> {
        self.lines.iter().filter_map(Line::message)
    }

    /// The message with this id.
    pub fn message(&self, id: Uuid) -> Option<&MessageLine> {
        self.messages().find(|m| m.id == id)
    }

    fn message_mut(&mut self, id: Uuid) -> Option<&mut MessageLine> {
        self.lines.iter_mut().find_map(|line| match line {
            Line::Message(m) if m.id == id => Some(m),
            _ => None,
        })
    }

    /// The highest sequence number held (the newest stored message).
    pub fn newest_seq(&self) -> Option<u64> {
        self.messages().filter_map(|m| m.seq).max()
    }

    /// Whether the newest page has been loaded (so resuming makes sense).
    pub fn loaded(&self) -> bool {
        self.loaded
    }

    /// Whether older messages exist on the server.
    pub fn has_more(&self) -> bool {
        self.has_more
    }

    /// The oldest sequence number held, to load the page before it.
    pub fn oldest(&self) -> Option<u64> {
        self.oldest
    }

    /// Every change of the room up to this revision is held: resume from here.
    pub fn cursor(&self) -> u64 {
        self.cursor
    }

    /// Known to hold no messages at all (not merely "not loaded yet").
    pub fn is_empty_room(&self) -> bool {
        self.loaded && !self.has_more && self.messages().next().is_none()
    }

    /// Applies a stored message from a broadcast, an ack or a sync page: updates the line with
    /// its id (unless what is held is newer) or inserts it after the last stored message before
    /// it, unless it is older than every message loaded ([`Applied::Skipped`]).
    pub fn apply(&mut self, msg: ChatMessage) -> Applied {
        // Revisions are broadcast one by one, so a contiguous one moves the cursor; after a gap
        // the next resume fills it in. (The cursor covers the messages from the oldest loaded
        // on; older ones come with their pages, as they stand then.)
        if self.loaded && msg.rev == self.cursor + 1 {
            self.cursor = msg.rev;
        }
        // Another thread's (or, for a thread, the room's own messages).
        if msg.thread != self.thread {
            return Applied::Skipped;
        }
        if self.oldest.is_some_and(|oldest| msg.seq < oldest) && self.message(msg.id).is_none() {
            return Applied::Skipped;
        }
        self.put(msg)
    }

    /// Updates or inserts a stored message.
    fn put(&mut self, msg: ChatMessage) -> Applied {
        if let Some(held) = self.message_mut(msg.id) {
            // A copy older than the state held (a history page read before an edit arrived
            // live, say) changes nothing; an ack of our own send still confirms delivery.
            if held.rev.is_some_and(|rev| rev > msg.rev) {
                return Applied::Updated;
            }
            let updated = MessageLine { version: held.version, ..MessageLine::stored(msg) };
            if *held != updated {
                *held = updated;
                held.changed();
            }
            return Applied::Updated;
        }
        let seq = msg.seq;
        // After the last stored message that comes before it (unsent ones stay last)...
        let stored_before = |l: &Line| l.message().and_then(|m| m.seq).is_some_and(|s| s < seq);
        let at = match self.lines.iter().rposition(stored_before) {
            Some(i) => i + 1,
            // ...or, older than everything stored, before the first stored message.
            None => self
                .lines
                .iter()
                .position(|l| l.message().is_some_and(|m| m.seq.is_some()))
                .unwrap_or_else(|| self.first_unsent()),
        };
        // Notices stay where they happened (by this browser's clock against the server's, close
        // enough for "who joined when"): a message written before "You joined" (loaded with the
        // history after it) goes above it...
        let mut at = at;
        let sent = msg.sent_at_ms;
        while at > 0
            && let Line::Notice { at_ms, .. } = &self.lines[at - 1]
            && *at_ms > sent
        {
            at -= 1;
        }
        // ...and one written after a notice goes below it.
        while let Some(Line::Notice { at_ms, .. }) = self.lines.get(at)
            && *at_ms <= sent
        {
            at += 1;
        }
        self.lines.insert(at, Line::Message(MessageLine::stored(msg)));
        Applied::Inserted
    }

    /// Where unsent messages begin (the end if there are none).
    fn first_unsent(&self) -> usize {
        self.lines
            .iter()
            .position(|l| l.message().is_some_and(|m| m.seq.is_none()))
            .unwrap_or(self.lines.len())
    }

    /// Applies a history page: the newest one (`newest`, asked with no `before`) or an older
    /// one (asked with `before` the oldest held).
    ///
    /// The messages held always run without a gap from [`Timeline::oldest`] on, all of them
    /// current up to the cursor, and each page keeps it so:
    ///
    /// - A newest page read at a revision past the cursor marks the room loaded and moves the
    ///   cursor to that revision (read before its messages). It vouches only for its own
    ///   messages and newer ones, so older messages held are dropped (they come back, current,
    ///   with their pages) rather than kept at a state the cursor would wrongly vouch for.
    /// - A newest page read at or before the cursor is stale: it adds only what it holds at or
    ///   after the oldest held (and the revision check keeps newer states).
    /// - An older page must end right above the oldest held (a stale one that no longer does is
    ///   ignored). Its messages are current up to the revision it was read at, so the cursor
    ///   goes back to that revision if it was further on: the next sync then fetches whatever
    ///   changed in between (see [`Timeline::cursor`]).
    pub fn apply_history(&mut self, page: HistoryPage, newest: bool) {
        let first = page.messages.first().map(|m| m.seq);
        let last = page.messages.last().map(|m| m.seq);
        if newest && self.loaded && page.rev <= self.cursor {
            for msg in page.messages {
                self.apply(msg);
            }
            return;
        }
        if newest {
            if let Some(first) = first {
                self.lines.retain(|l| l.message().is_none_or(|m| m.seq.is_none_or(|s| s >= first)));
                self.oldest = None;
            }
            self.loaded = true;
            self.cursor = self.cursor.max(page.rev);
        } else {
            if let (Some(last), Some(oldest)) = (last, self.oldest)
                && last + 1 < oldest
            {
                return;
            }
            if first.is_some() {
                self.cursor = self.cursor.min(page.rev);
            }
        }
        for msg in page.messages {
            self.put(msg);
        }
        match (first, self.oldest) {
            // Nothing below what is held: `has_more` still describes what is below it.
            (Some(first), Some(oldest)) if first >= oldest => {}
            (Some(first), _) => {
                self.oldest = Some(first);
                self.has_more = page.has_more;
            }
            // An empty page: an empty room, or nothing older.
            (None, _) => self.has_more = page.has_more,
        }
    }

    /// Applies a sync page (the changes after [`Timeline::cursor`], by revision) and moves the
    /// cursor to its last change.
    pub fn apply_sync(&mut self, changes: Vec<ChatMessage>) -> Synced {
        let last = changes.last().map(|m| m.rev);
        let mut new = Vec::new();
        for msg in changes {
            let copy = msg.clone();
            if self.apply(msg) == Applied::Inserted {
                new.push(copy);
            }
        }
        if let Some(last) = last {
            self.cursor = self.cursor.max(last);
        }
        Synced { last, new }
    }

    /// Adds our own message, before the server has it.
    pub fn push_pending(&mut self, id: Uuid, author: UserRef, body: String) {
        if self.message(id).is_some() {
            return;
        }
        self.lines.push(Line::Message(MessageLine {
            id,
            author,
            seq: None,
            rev: None,
            body,
            sent_at_ms: None,
            edited: false,
            deleted: false,
            moderated: false,
            mentions: Vec::new(),
            reactions: Vec::new(),
            thread: self.thread,
            replies: 0,
            last_reply_at_ms: None,
            attachment: None,
            delivery: Delivery::Pending,
            version: 0,
        }));
    }

    /// Records where our own message stands (a stored message is `Sent` by [`Timeline::apply`]).
    pub fn set_delivery(&mut self, id: Uuid, delivery: Delivery) {
        if let Some(m) = self.message_mut(id)
            && m.seq.is_none()
            && m.delivery != delivery
        {
            m.delivery = delivery;
            m.changed();
        }
    }

    /// Our messages the server has not confirmed, to send again after a reconnect.
    pub fn unsent(&self) -> Vec<(Uuid, String)> {
        self.messages()
            .filter(|m| matches!(m.delivery, Delivery::Pending | Delivery::Unconfirmed))
            .map(|m| (m.id, m.body.clone()))
            .collect()
    }

    /// Adds a notice ("Ada joined") that happened at `at_ms`, at the end.
    pub fn push_notice(&mut self, text: String, at_ms: i64) {
        // Unique across every timeline, not only this one: the list on screen shows one room
        // after another, and a key it has seen in the previous room would keep that room's line.
        let key = NEXT_NOTICE.fetch_add(1, Ordering::Relaxed);
        self.lines.push(Line::Notice { key, text, at_ms });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{DisplayName, RoomId};
    use proptest::prelude::*;
    use std::collections::HashMap;

    fn person(name: &str) -> UserRef {
        UserRef::named(DisplayName::parse(name).expect("name"))
    }

    fn id(n: u64) -> Uuid {
        Uuid::from_u64_pair(0, n)
    }

    fn stored(seq: u64, rev: u64, body: &str) -> ChatMessage {
        ChatMessage {
            id: id(seq),
            room: RoomId::lobby(),
            seq,
            author: person("Ada"),
            body: body.to_owned(),
            sent_at_ms: 1_000 + seq as i64,
            rev,
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

    fn page(messages: Vec<ChatMessage>, has_more: bool, rev: u64) -> HistoryPage {
        HistoryPage { room: RoomId::lobby(), messages, has_more, rev }
    }

    fn seqs(t: &Timeline) -> Vec<Option<u64>> {
        t.messages().map(|m| m.seq).collect()
    }

    #[test]
    fn messages_from_every_route_are_listed_once_in_order() {
        let mut t = Timeline::default();
        t.apply(stored(5, 5, "live"));
        t.apply_history(
            page(vec![stored(3, 3, "c"), stored(4, 4, "d"), stored(5, 5, "live")], true, 5),
            true,
        );
        t.apply_history(page(vec![stored(1, 1, "a"), stored(2, 2, "b")], false, 5), false);
        t.apply_sync(vec![stored(4, 4, "d"), stored(6, 6, "f")]);
        assert_eq!(seqs(&t), [1, 2, 3, 4, 5, 6].map(Some));
        assert_eq!((t.oldest(), t.has_more(), t.cursor()), (Some(1), false, 6));
    }

    #[test]
    fn unsent_messages_stay_last_until_stored() {
        let mut t = Timeline::default();
        t.apply_history(page(vec![stored(1, 1, "a")], false, 1), true);
        t.push_pending(id(99), person("Ada"), "mine".into());
        t.apply(stored(2, 2, "theirs"));
        assert_eq!(seqs(&t), [Some(1), Some(2), None]);
        assert_eq!(t.unsent(), [(id(99), "mine".to_owned())]);
        let mut ack = stored(3, 3, "mine");
        ack.id = id(99);
        t.apply(ack);
        assert_eq!(seqs(&t), [1, 2, 3].map(Some));
        assert!(t.unsent().is_empty());
        assert_eq!(t.message(id(99)).map(|m| &m.delivery), Some(&Delivery::Sent));
    }

    #[test]
    fn a_stale_copy_never_undoes_an_edit_or_a_deletion() {
        let mut t = Timeline::default();
        t.apply_history(page(vec![stored(1, 1, "a")], false, 1), true);
        let mut deleted = stored(1, 2, "");
        deleted.deleted = true;
        t.apply(deleted);
        t.apply(stored(1, 1, "a"));
        let held = t.message(id(1)).expect("held");
        assert!(held.deleted && held.body.is_empty(), "{held:?}");
    }

    #[test]
    fn the_cursor_stops_at_a_gap_and_a_sync_fills_it() {
        let mut t = Timeline::default();
        t.apply_history(page(vec![stored(1, 1, "a")], false, 1), true);
        t.apply(stored(2, 2, "b"));
        assert_eq!(t.cursor(), 2);
        // Revision 3 was missed (offline): later ones do not move the cursor past it.
        t.apply(stored(4, 4, "d"));
        assert_eq!(t.cursor(), 2);
        let synced = t.apply_sync(vec![stored(3, 3, "c"), stored(4, 4, "d")]);
        assert_eq!(synced.last, Some(4));
        assert_eq!(
            synced.new.iter().map(|m| &m.author.id).collect::<Vec<_>>(),
            [&person("Ada").id]
        );
        assert_eq!(t.cursor(), 4);
        assert_eq!(seqs(&t), [1, 2, 3, 4].map(Some));
    }

    #[test]
    fn nothing_moves_the_cursor_before_the_newest_page() {
        let mut t = Timeline::default();
        t.apply(stored(1, 1, "a"));
        assert_eq!((t.loaded(), t.cursor()), (false, 0));
        assert!(!t.is_empty_room(), "not loaded is not empty");
        t.apply_history(page(vec![], false, 0), true);
        assert_eq!(t.cursor(), 0);
    }

    #[test]
    fn a_changed_line_changes_its_key_and_an_unchanged_one_keeps_it() {
        let mut t = Timeline::default();
        t.apply(stored(1, 1, "a"));
        let before = t.lines()[0].key();
        t.apply(stored(1, 1, "a"));
        assert_eq!(t.lines()[0].key(), before, "a duplicate re-renders nothing");
        t.apply(stored(1, 2, "edited"));
        assert_ne!(t.lines()[0].key(), before);
    }

    #[test]
    fn notices_get_keys_of_their_own_across_timelines() {
        let (mut lobby, mut ops) = (Timeline::default(), Timeline::default());
        lobby.push_notice("Ada joined".into(), 0);
        lobby.push_notice("Ada joined".into(), 0);
        ops.push_notice("Ada joined".into(), 0);
        assert_ne!(lobby.lines()[0].key(), lobby.lines()[1].key());
        // The message list shows one room after another: a key shared with another room's line
        // would keep showing that line.
        assert!(lobby.lines().iter().all(|l| l.key() != ops.lines()[0].key()));
    }

    #[test]
    fn a_notice_stays_among_the_messages_of_its_time() {
        // "You joined" at 1_002: the newest page (messages 1–3, sent at 1_001–1_003) comes
        // after it, and a live message follows. (At the same millisecond, the notice is first.)
        let mut t = Timeline::default();
        t.push_notice("You joined".into(), 1_002);
        t.apply_history(
            page(vec![stored(1, 1, "a"), stored(2, 2, "b"), stored(3, 3, "c")], false, 3),
            true,
        );
        t.apply(stored(4, 4, "d"));
        let order: Vec<String> = t
            .lines()
            .iter()
            .map(|l| match l {
                Line::Message(m) => m.body.clone(),
                Line::Notice { text, .. } => text.clone(),
            })
            .collect();
        assert_eq!(order, ["a", "You joined", "b", "c", "d"]);
    }

    /// The server's side of a room for the property test: messages and their changes, each
    /// change with the room's next revision.
    struct Server {
        /// Every change in revision order: the message as it stood right after.
        changes: Vec<ChatMessage>,
    }

    impl Server {
        /// A room of `messages` messages, then `edits` changes (edit or delete) of them, in the
        /// order `script` says.
        fn new(messages: u64, edits: &[(u64, bool)]) -> Self {
            let mut changes: Vec<ChatMessage> =
                (1..=messages).map(|seq| stored(seq, seq, &format!("m{seq}"))).collect();
            let mut state: HashMap<u64, ChatMessage> =
                changes.iter().map(|m| (m.seq, m.clone())).collect();
            for (i, (target, delete)) in edits.iter().enumerate() {
                let seq = target % messages + 1;
                let mut m = state[&seq].clone();
                if m.deleted {
                    continue;
                }
                m.rev = changes.len() as u64 + 1;
                m.edited_at_ms = Some(5_000 + i as i64);
                if *delete {
                    m.deleted = true;
                    m.body.clear();
                } else {
                    m.body = format!("m{seq} edit {i}");
                }
                state.insert(seq, m.clone());
                changes.push(m);
            }
            Self { changes }
        }

        /// Every message as it stood at revision `rev`.
        fn state_at(&self, rev: u64) -> Vec<ChatMessage> {
            let mut state: HashMap<u64, ChatMessage> = HashMap::new();
            for m in self.changes.iter().filter(|m| m.rev <= rev) {
                state.insert(m.seq, m.clone());
            }
            let mut all: Vec<ChatMessage> = state.into_values().collect();
            all.sort_by_key(|m| m.seq);
            all
        }

        fn last_rev(&self) -> u64 {
            self.changes.len() as u64
        }

        /// A history page as the store answers it at revision `at`.
        fn history(&self, at: u64, before: Option<u64>, limit: usize) -> HistoryPage {
            let older: Vec<ChatMessage> = self
                .state_at(at)
                .into_iter()
                .filter(|m| before.is_none_or(|b| m.seq < b))
                .collect();
            let from = older.len().saturating_sub(limit);
            page(older[from..].to_vec(), from > 0, at)
        }

        /// The changes after `after`, as the store answers a sync at the latest revision:
        /// each changed message in its current state, by revision.
        fn sync(&self, after: u64) -> Vec<ChatMessage> {
            let mut now: Vec<ChatMessage> =
                self.state_at(self.last_rev()).into_iter().filter(|m| m.rev > after).collect();
            now.sort_by_key(|m| m.rev);
            now
        }
    }

    /// What reaches the client, in whatever order the test picks.
    #[derive(Debug, Clone)]
    enum Event {
        /// The live broadcast of change `i` (0-based), possibly lost or repeated.
        Live(usize),
        /// The newest history page, as the server read it at revision `at`.
        Newest { at: u64 },
        /// An older page, before the oldest message held, as the server read it at `at`.
        Older { at: u64 },
    }

    fn events(changes: usize) -> impl Strategy<Value = Vec<Event>> {
        let event = prop_oneof![
            6 => (0..changes).prop_map(Event::Live),
            1 => (0..=changes as u64).prop_map(|at| Event::Newest { at }),
            1 => (0..=changes as u64).prop_map(|at| Event::Older { at }),
        ];
        prop::collection::vec(event, 0..40)
    }

    proptest! {
        /// Under any interleaving of live changes (lost, repeated or reordered), newest pages
        /// read at any moment and older pages: stored messages are listed once, in sequence
        /// order; and a resume from the cursor brings the client exactly to the server's state
        /// for every message from the oldest held onwards.
        #[test]
        fn any_interleaving_converges_after_a_resume(
            messages in 1_u64..12,
            edits in prop::collection::vec((0_u64..100, any::<bool>()), 0..10),
            script in events(30),
            limit in 1_usize..6,
        ) {
            let server = Server::new(messages, &edits);
            let mut t = Timeline::default();
            for event in script {
                match event {
                    Event::Live(i) => {
                        if let Some(change) = server.changes.get(i % server.changes.len()) {
                            t.apply(change.clone());
                        }
                    }
                    Event::Newest { at } => {
                        t.apply_history(server.history(at.min(server.last_rev()), None, limit), true);
                    }
                    Event::Older { at } => {
                        if t.loaded() && t.has_more() {
                            let older = server.history(at.min(server.last_rev()), t.oldest(), limit);
                            t.apply_history(older, false);
                        }
                    }
                }
                let held: Vec<u64> = t.messages().filter_map(|m| m.seq).collect();
                prop_assert!(held.windows(2).all(|w| w[0] < w[1]), "order or duplicates: {held:?}");
                prop_assert!(t.cursor() <= server.last_rev());
            }

            // Reconnect: the newest page if the room was never loaded, then sync pages from the
            // cursor until none is left.
            if !t.loaded() {
                t.apply_history(server.history(server.last_rev(), None, limit), true);
            }
            let mut after = t.cursor();
            loop {
                let all = server.sync(after);
                let chunk: Vec<ChatMessage> = all.into_iter().take(limit).collect();
                match t.apply_sync(chunk).last {
                    Some(last) => after = last,
                    None => break,
                }
            }
            prop_assert_eq!(t.cursor(), server.last_rev());

            let oldest = t.oldest().or(t.messages().filter_map(|m| m.seq).min()).unwrap_or(1);
            let expected: Vec<ChatMessage> = server
                .state_at(server.last_rev())
                .into_iter()
                .filter(|m| m.seq >= oldest)
                .collect();
            let held: Vec<(u64, String, bool)> = t
                .messages()
                .filter(|m| m.seq.is_some_and(|s| s >= oldest))
                .map(|m| (m.seq.unwrap_or_default(), m.body.clone(), m.deleted))
                .collect();
            let truth: Vec<(u64, String, bool)> =
                expected.iter().map(|m| (m.seq, m.body.clone(), m.deleted)).collect();
            prop_assert_eq!(held, truth);
        }
    }

    #[test]
    fn replies_go_to_their_thread_and_move_the_room_cursor_only() {
        let mut room = Timeline::default();
        room.apply_history(
            HistoryPage {
                room: RoomId::lobby(),
                messages: vec![stored(1, 1, "q")],
                has_more: false,
                rev: 1,
            },
            true,
        );
        let reply = ChatMessage { thread: Some(id(1)), ..stored(2, 2, "a") };
        let other = ChatMessage { thread: Some(id(9)), ..stored(3, 4, "b") };
        assert_eq!(room.apply(reply.clone()), Applied::Skipped);
        assert_eq!(room.cursor(), 2, "the reply is a change of the room");
        assert_eq!(room.messages().count(), 1);
        let parent = ChatMessage { replies: 1, ..stored(1, 3, "q") };
        room.apply(parent);
        assert_eq!(room.message(id(1)).map(|m| m.replies), Some(1));
        assert_eq!(room.cursor(), 3);

        let mut thread = Timeline::for_thread(id(1));
        assert_eq!(thread.apply(stored(4, 5, "room message")), Applied::Skipped);
        assert_eq!(thread.apply(other), Applied::Skipped);
        assert_eq!(thread.apply(reply), Applied::Inserted);
        thread.push_pending(id(7), person("Bob"), "pending reply".into());
        assert_eq!(thread.message(id(7)).and_then(|m| m.thread), Some(id(1)));
        assert_eq!(thread.messages().count(), 2);
    }
}
