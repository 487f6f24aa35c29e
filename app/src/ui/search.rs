//! Searching messages: the field at the top of the sidebar, the results beside the room (the
//! whole screen on a phone), and opening a result in its room with the history around it.
//!
//! What is typed is split by [`crate::search::parse`]: `in:` names a room by what the sidebar
//! calls it (a room's name, or the other person's name for a direct conversation) and is
//! resolved here, `from:` names a person. Results are drawn as views with `<mark>` around the
//! matching words ([`crate::search::highlight`]), never as HTML.
//!
//! Opening a result loads the room's history back to the message in one request
//! ([`HistoryRequest::back_to`]), several for a message far back, so the timeline stays one
//! unbroken run of messages from the result to the newest; the list then scrolls to the
//! message and marks it for a moment ([`ChatState::target`]). A reply opens in its thread, with
//! the message it answers shown in the room.

use leptos::ev::{KeyboardEvent, SubmitEvent};
use leptos::prelude::*;
use uuid::Uuid;

use super::ChatState;
use super::message::focus;
use super::time;
use crate::events::messages::{
    HistoryRequest, LoadHistory, LoadThread, SearchMessages, ThreadRequest,
};
use crate::markdown;
use crate::model::{ChatMessage, RoomId, RoomKind, UserId};
use crate::search::{SearchRequest, SearchResults, highlight, parse};

/// Requests a result far back may take to reach its message (each brings up to
/// [`crate::limits::MAX_HISTORY_SPAN`] messages).
const MAX_REACH_REQUESTS: u32 = 20;

/// How long an opened result stays marked.
const MARK_MS: u64 = 4_000;

/// The search on screen: what was typed and what came of it.
#[derive(Debug, Clone, PartialEq)]
pub struct Search {
    /// The text as typed (filters included).
    pub typed: String,
    /// Its outcome so far.
    pub outcome: Outcome,
}

/// Where a search stands.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    /// Asked, no answer yet.
    Searching,
    /// The server's answer.
    Found(SearchResults),
    /// Refused or failed, in words.
    Failed(String),
}

impl ChatState {
    /// Runs a search for `typed` and shows its results (closing a thread, which uses the same
    /// place on screen).
    pub fn search(&self, typed: String) {
        let parsed = parse(&typed);
        let room = match parsed.room.as_deref().map(|name| self.room_named(name)) {
            Some(None) => {
                let name = parsed.room.unwrap_or_default();
                let failed = Outcome::Failed(format!("You are in no room called “{name}”."));
                self.show_search(typed, failed);
                return;
            }
            Some(Some(room)) => Some(room),
            None => None,
        };
        let from = parsed.from.map(|name| UserId(name.to_lowercase()));
        self.show_search(typed.clone(), Outcome::Searching);
        let state = *self;
        let request = SearchRequest { text: parsed.text, room, from };
        self.request::<SearchMessages>(request, move |result| {
            let outcome = match result {
                Ok(results) => Outcome::Found(results),
                Err(e) => Outcome::Failed(e.to_string()),
            };
            // Only if this is still the search on screen.
            state.search.update(|s| {
                if let Some(s) = s.as_mut().filter(|s| s.typed == typed) {
                    s.outcome = outcome;
                }
            });
        });
    }

    fn show_search(&self, typed: String, outcome: Outcome) {
        self.thread.set(None);
        self.search.set(Some(Search { typed, outcome }));
    }

    /// The joined room (or direct conversation) the sidebar calls `name`, ignoring case and a
    /// leading `#`.
    fn room_named(&self, name: &str) -> Option<RoomId> {
        let name = name.trim_start_matches('#').to_lowercase();
        let joined = self.joined.get_untracked();
        self.rooms.with_untracked(|rooms| {
            rooms
                .iter()
                .filter(|r| r.kind == RoomKind::Direct || joined.contains(&r.id))
                .find(|r| {
                    let label = self.label(r);
                    r.id.0 == name
                        || label.trim_start_matches(['#', '🔒', ' ']).to_lowercase() == name
                })
                .map(|r| r.id.clone())
        })
    }

    /// Opens `hit` where it was written: its room, scrolled to it and marked; a reply in its
    /// thread, beside the message it answers.
    pub fn show_message(&self, hit: &ChatMessage) {
        let state = *self;
        let room = hit.room.clone();
        self.search.set(None);
        self.open(room.clone());
        match hit.thread {
            None => self.reach(room, hit.id, hit.seq, MAX_REACH_REQUESTS),
            Some(parent) => {
                // The reply's thread says where its parent is.
                let request = ThreadRequest { parent, before: None };
                self.request::<LoadThread>(request, move |result| {
                    if let Ok(page) = result {
                        let seq = page.parent.seq;
                        state.reach(room, parent, seq, MAX_REACH_REQUESTS);
                        state.open_thread(parent);
                    }
                });
            }
        }
    }

    /// Loads `room`'s history back to sequence number `seq` (the newest page first if none is
    /// held), then points the room at message `id`.
    fn reach(&self, room: RoomId, id: Uuid, seq: u64, requests: u32) {
        let state = *self;
        let (loaded, oldest, has_more) = self.timelines.with_untracked(|t| {
            t.get(&room).map_or((false, None, true), |t| (t.loaded(), t.oldest(), t.has_more()))
        });
        let reached = loaded && (!has_more || oldest.is_some_and(|o| o <= seq));
        if reached || requests == 0 {
            self.target.set(Some(id));
            set_timeout(
                move || {
                    if state.target.get_untracked() == Some(id) {
                        state.target.set(None);
                    }
                },
                std::time::Duration::from_millis(MARK_MS),
            );
            return;
        }
        // A few messages above it too, so it is read in its context.
        let back_to = Some(seq.saturating_sub(5).max(1));
        let before = if loaded { oldest } else { None };
        let request = HistoryRequest { room: room.clone(), before, back_to };
        self.request::<LoadHistory>(request, move |result| match result {
            Ok(page) => {
                state.apply_history(page, before.is_none());
                state.reach(room, id, seq, requests - 1);
            }
            Err(e) => state.error.set(Some(e.to_string())),
        });
    }
}

/// The search field (in the sidebar's head).
#[component]
pub fn SearchBox() -> impl IntoView {
    let chat = expect_context::<ChatState>();
    let text = RwSignal::new(String::new());
    let panel = use_context::<super::Panel>();
    let submit = move |ev: SubmitEvent| {
        ev.prevent_default();
        let typed = text.get_untracked();
        if !typed.trim().is_empty() {
            // On a phone the field is in the Rooms panel: the results replace it.
            if let Some(panel) = panel {
                panel.0.set(None);
            }
            chat.search(typed.trim().to_owned());
        }
    };
    view! {
        <form class="search-box" role="search" on:submit=submit>
            <label class="visually-hidden" for="search-input">"Search messages"</label>
            <input id="search-input" type="search" placeholder="Search messages"
                autocomplete="off" maxlength=crate::search::MAX_SEARCH_CHARS bind:value=text
                aria-describedby="search-hint" />
            <p id="search-hint" class="visually-hidden">
                "Press Enter to search. Narrow with in:room and from:person."
            </p>
        </form>
    }
}

/// The results of the search on screen, if any.
#[component]
pub fn SearchPanel() -> impl IntoView {
    let chat = expect_context::<ChatState>();
    move || chat.search.get().map(|search| view! { <Results search /> })
}

#[component]
fn Results(search: Search) -> impl IntoView {
    let chat = expect_context::<ChatState>();
    let close = move || {
        chat.search.set(None);
        focus("search-input");
    };
    let status = match &search.outcome {
        Outcome::Searching => "Searching…".to_owned(),
        Outcome::Failed(why) => why.clone(),
        Outcome::Found(r) if r.hits.is_empty() => "No messages match.".to_owned(),
        Outcome::Found(r) if r.more => format!(
            "The {} newest matches; add words or a filter (in:room, from:person) to narrow.",
            r.hits.len()
        ),
        Outcome::Found(r) if r.hits.len() == 1 => "1 match".to_owned(),
        Outcome::Found(r) => format!("{} matches", r.hits.len()),
    };
    let failed = matches!(search.outcome, Outcome::Failed(_));
    let hits = match search.outcome {
        Outcome::Found(r) => r
            .hits
            .into_iter()
            .map(|hit| view! { <Hit hit terms=r.terms.clone() /> })
            .collect_view()
            .into_any(),
        _ => ().into_any(),
    };
    // The results take the place of the composer's caret: Escape (or Close) goes back to the
    // search field.
    request_animation_frame(|| focus("search-results-title"));
    view! {
        <aside class="thread search-results" aria-labelledby="search-results-title"
            on:keydown=move |ev: KeyboardEvent| if ev.key() == "Escape" { close() }>
            <header class="thread-header">
                <h2 id="search-results-title" tabindex="-1">
                    "Results for " <q>{search.typed.clone()}</q>
                </h2>
                <button type="button" class="ghost small" aria-label="Close search results"
                    on:click=move |_| close()>
                    "Close"
                </button>
            </header>
            <p class="search-status" class:error=failed role="status">{status}</p>
            <ol class="hits">{hits}</ol>
        </aside>
    }
}

/// One result: where and by whom, when, and its text with the matching words marked. The
/// whole result is one button that opens it.
#[component]
fn Hit(hit: ChatMessage, terms: Vec<String>) -> impl IntoView {
    let chat = expect_context::<ChatState>();
    let hydrated = use_context::<super::Hydrated>().map(|h| h.0);
    let local = hydrated.is_some_and(|h| h.get_untracked());
    let place =
        chat.room(&hit.room).map(|r| chat.label(&r)).unwrap_or_else(|| format!("# {}", hit.room));
    let text = markdown::plain_text(&markdown::parse(&hit.body, &[]));
    let runs: Vec<_> = highlight(&text, &terms)
        .into_iter()
        .map(|(run, hit)| {
            if hit {
                view! { <mark>{run.to_owned()}</mark> }.into_any()
            } else {
                run.to_owned().into_any()
            }
        })
        .collect();
    let when = format!(
        "{} {}",
        time::day_label(hit.sent_at_ms, time::now_ms(), local),
        time::clock(hit.sent_at_ms, local)
    );
    let reply = hit.thread.is_some();
    let open = {
        let hit = hit.clone();
        move |_| chat.show_message(&hit)
    };
    view! {
        <li>
            <button type="button" class="hit" on:click=open>
                <span class="hit-meta">
                    <span class="hit-room">{place}</span>
                    {reply.then(|| view! { <span class="hit-reply">" · in a thread"</span> })}
                    <strong class="hit-author">{hit.author.name.to_string()}</strong>
                    <time datetime=time::iso(hit.sent_at_ms) title=time::full(hit.sent_at_ms, local)>{when}</time>
                </span>
                <span class="hit-text">{runs}</span>
            </button>
        </li>
    }
}
