//! One message on screen: its author and time, its text with mentions drawn, its reactions, and
//! what its author (edit, delete) and everyone (react) can do with it.

use leptos::ev::{KeyboardEvent, SubmitEvent};
use leptos::prelude::*;
use uuid::Uuid;

use super::state::{Delivery, MessageLine};
use super::{ChatState, time};
use crate::events::messages::{
    DeleteMessage, DeleteRequest, EditMessage, EditRequest, ReactPayload, ReactToMessage,
};
use crate::mentions::{Mention, Segment, segments};
use crate::model::{REACTIONS, Reaction, UserId};

/// One message, as it stands: a change to it renders the line again (see
/// [`super::timeline::LineKey`]). The body is text nodes: markup in a message is shown, never
/// interpreted. The author can edit or delete it; anyone in the room can react to it.
///
/// `in_thread`: shown as the head of its thread's panel (no reply button or count there).
#[component]
pub fn MessageItem(line: MessageLine, #[prop(optional)] in_thread: bool) -> impl IntoView {
    let chat = expect_context::<ChatState>();
    let own = chat.is_me(&line.author.id);
    let me = chat.me.get_untracked().map(|m| m.id);
    let mentions_me =
        !line.deleted && me.as_ref().is_some_and(|me| line.mentions.iter().any(|m| m.reaches(me)));
    let MessageLine {
        id,
        author,
        body,
        sent_at_ms,
        edited,
        deleted,
        delivery,
        mentions,
        reactions,
        thread,
        replies,
        last_reply_at_ms,
        ..
    } = line;
    let room = chat.current.get_untracked();
    let editing = RwSignal::new(None::<String>);
    let hydrated = use_context::<super::Hydrated>().map(|h| h.0);
    let time = move || {
        let local = hydrated.is_some_and(|h| h.get());
        sent_at_ms.map(|ms| view! { <time class="time">{time::clock(ms, local)}</time> })
    };
    let retry = {
        let body = body.clone();
        move |_| chat.send(room.clone(), id, body.clone(), thread)
    };
    let delete = move |_| {
        chat.request_or_report::<DeleteMessage>(DeleteRequest { id }, move |msg| {
            chat.apply_message(msg, false);
        });
    };
    let stored = delivery == Delivery::Sent && !deleted;
    let can_change = own && stored;
    let can_reply = stored && thread.is_none() && !in_thread;
    // The reaction picker under the message, opened from its actions.
    let picking = RwSignal::new(false);
    let open_thread = move |_| chat.open_thread(id);
    let replies_line = (replies > 0 && !in_thread).then(|| {
        let last = move || {
            let local = hydrated.is_some_and(|h| h.get());
            last_reply_at_ms.map(|ms| format!(" · last reply {}", time::clock(ms, local)))
        };
        view! {
            <button type="button" class="link replies" on:click=open_thread>
                {if replies == 1 { "1 reply".to_owned() } else { format!("{replies} replies") }}
                <span class="last">{last}</span>
            </button>
        }
    });
    let pending = delivery == Delivery::Pending;
    let original = StoredValue::new(body.clone());
    // Up in the empty composer asked to edit this message: open the editor with the caret in it.
    Effect::new(move |_| {
        if can_change && chat.edit_request.get() == Some(id) {
            chat.edit_request.set(None);
            editing.set(Some(original.get_value()));
            request_animation_frame(move || focus(&format!("edit-{id}")));
        }
    });
    // Leaving the editor (saved or cancelled) gives the caret back to the room's composer.
    let done_editing = move || {
        editing.set(None);
        if thread.is_none() {
            focus("composer-input");
        }
    };
    let save = move || {
        let Some(text) = editing.get_untracked() else { return };
        chat.request_or_report::<EditMessage>(EditRequest { id, body: text }, move |msg| {
            done_editing();
            chat.apply_message(msg, false);
        });
    };
    let shown = StoredValue::new((body, mentions));
    view! {
        <li class="message" class:own=own class:pending=pending class:deleted=deleted
            class:mentions-me=mentions_me>
            <div class="meta">
                <span class="author">{author.name.to_string()}</span>
                {time}
                <Show when=move || edited && !deleted>
                    <span class="edited">"(edited)"</span>
                </Show>
                {match delivery {
                    Delivery::Pending => Some(view! { <span class="delivery">"sending…"</span> }.into_any()),
                    Delivery::Sent if own => Some(view! {
                        <span class="delivery sent" role="img" aria-label="Sent">"✓"</span>
                    }.into_any()),
                    Delivery::Sent => None,
                    Delivery::Unconfirmed => Some(view! {
                        <span class="delivery failed" role="alert">"Not confirmed yet; resent when back online"</span>
                        <button type="button" class="link" on:click=retry.clone()>"Retry"</button>
                    }.into_any()),
                    Delivery::Failed(why) => Some(view! {
                        <span class="delivery failed" role="alert">"Not sent: " {why}</span>
                        <button type="button" class="link" on:click=retry.clone()>"Retry"</button>
                    }.into_any()),
                }}
                <Show when=move || stored && editing.get().is_none()>
                    // Where the reader points or tabs, as Slack's and Discord's hover bars.
                    <span class="actions">
                        <button type="button" class="link" aria-label="Add reaction"
                            aria-expanded=move || picking.get().to_string()
                            on:click=move |_| picking.update(|p| *p = !*p)>"React"</button>
                        {can_reply.then(|| view! {
                            <button type="button" class="link" aria-label="Reply in thread"
                                on:click=open_thread>"Reply"</button>
                        })}
                        {can_change.then(|| view! {
                            <button type="button" class="link" aria-label="Edit message"
                                on:click=move |_| editing.set(Some(original.get_value()))>"Edit"</button>
                            <button type="button" class="link" aria-label="Delete message" on:click=delete>"Delete"</button>
                        })}
                    </span>
                </Show>
            </div>
            {move || match (deleted, editing.get().is_some()) {
                (true, _) => view! { <p class="body placeholder">"Message deleted"</p> }.into_any(),
                (false, true) => view! {
                    <form class="edit" on:submit=move |ev: SubmitEvent| { ev.prevent_default(); save(); }>
                        <label class="visually-hidden" for=format!("edit-{id}")>"Edit message text"</label>
                        <textarea id=format!("edit-{id}") rows="2"
                            prop:value=move || editing.get().unwrap_or_default()
                            on:input=move |ev| editing.set(Some(event_target_value(&ev)))
                            on:keydown=move |ev: KeyboardEvent| {
                                if ev.key() == "Enter" && !ev.shift_key() { ev.prevent_default(); save(); }
                                // Handled here: a thread around it must not close too.
                                if ev.key() == "Escape" { ev.prevent_default(); done_editing(); }
                            }></textarea>
                        <button type="submit" class="small">"Save"</button>
                        <button type="button" class="small ghost" on:click=move |_| done_editing()>"Cancel"</button>
                    </form>
                }.into_any(),
                (false, false) => shown.with_value(|(body, mentions)| view! {
                    <p class="body"><Body body=body.clone() mentions=mentions.clone() /></p>
                }).into_any(),
            }}
            {stored.then(|| view! { <Reactions id reactions picking /> })}
            {replies_line}
        </li>
    }
}

/// A message's text with its mentions drawn: `@name` in the person's current name (from the
/// room's member list; as written if they are not listed), stronger when it is the reader.
#[component]
fn Body(body: String, mentions: Vec<Mention>) -> impl IntoView {
    let chat = expect_context::<ChatState>();
    let parts: Vec<AnyView> = segments(&body, &mentions)
        .into_iter()
        .map(|segment| match segment {
            Segment::Text(text) => text.to_owned().into_any(),
            Segment::Mention(mention, written) => {
                let me = mention.user.as_ref().is_none_or(|u| chat.is_me(u));
                let name = mention.user.as_ref().and_then(|u| current_name(&chat, u));
                let text = name.map_or_else(|| written.to_owned(), |n| format!("@{n}"));
                let everyone = mention.user.is_none();
                view! {
                    <span class="mention" class:me=me class:everyone=everyone>{text}</span>
                }
                .into_any()
            }
        })
        .collect();
    parts
}

/// `user`'s name as the room's member list has it now.
fn current_name(chat: &ChatState, user: &UserId) -> Option<String> {
    chat.members.with_untracked(|members| {
        members.iter().find(|m| m.user.id == *user).map(|m| m.user.name.to_string())
    })
}

/// The reactions under a message, each a toggle with its count and who reacted (on hover and
/// focus), and a button that opens the small picker.
#[component]
fn Reactions(id: Uuid, reactions: Vec<Reaction>, picking: RwSignal<bool>) -> impl IntoView {
    let chat = expect_context::<ChatState>();
    let react = move |emoji: String, on: bool| {
        picking.set(false);
        chat.request_or_report::<ReactToMessage>(ReactPayload { id, emoji, on }, move |msg| {
            chat.apply_message(msg, false);
        });
    };
    let mine = |r: &Reaction| r.by.iter().any(|u| chat.is_me(&u.id));
    let chips = reactions
        .iter()
        .map(|r| {
            let label = crate::model::reaction_label(&r.emoji).unwrap_or("reaction");
            let pressed = mine(r);
            let who = who_reacted(r, &chat);
            let tip = format!("reactors-{id}-{label}").replace(' ', "-");
            let tip_ref = tip.clone();
            let emoji = r.emoji.clone();
            let count = r.count;
            view! {
                <button type="button" class="reaction" class:mine=pressed
                    aria-pressed=pressed.to_string()
                    aria-label=format!("{label}: {count}")
                    aria-describedby=tip_ref
                    on:click=move |_| react(emoji.clone(), !pressed)>
                    <span class="emoji" aria-hidden="true">{r.emoji.clone()}</span>
                    <span class="n" aria-hidden="true">{count}</span>
                    <span class="who" role="tooltip" id=tip>{who}</span>
                </button>
            }
        })
        .collect_view();
    let held: Vec<(String, bool)> = reactions.iter().map(|r| (r.emoji.clone(), mine(r))).collect();
    let picker = move || {
        let held = held.clone();
        REACTIONS
            .iter()
            .map(|(emoji, label)| {
                let on = !held.iter().any(|(e, mine)| e == emoji && *mine);
                let emoji = (*emoji).to_owned();
                view! {
                    <button type="button" class="pick" aria-label=format!("React with {label}")
                        title=*label on:click=move |_| react(emoji.clone(), on)>
                        {emoji.clone()}
                    </button>
                }
            })
            .collect_view()
    };
    let has_any = !reactions.is_empty();
    view! {
        {has_any.then(|| view! { <div class="reactions" role="group" aria-label="Reactions">{chips}</div> })}
        <Show when=move || picking.get()>
                <div class="picker" role="group" aria-label="Pick a reaction"
                    on:keydown=move |ev: KeyboardEvent| if ev.key() == "Escape" { picking.set(false) }>
                    {picker()}
                </div>
        </Show>
    }
}

/// "Ada, Bob and 3 others" for a reaction.
fn who_reacted(reaction: &Reaction, chat: &ChatState) -> String {
    let names: Vec<String> = reaction
        .by
        .iter()
        .map(|u| if chat.is_me(&u.id) { "You".to_owned() } else { u.name.to_string() })
        .collect();
    let others = (reaction.count as usize).saturating_sub(names.len());
    match (names.as_slice(), others) {
        ([], _) => format!("{} people", reaction.count),
        ([one], 0) => one.clone(),
        (names, 0) => {
            let (last, rest) = names.split_last().expect("two or more");
            format!("{} and {last}", rest.join(", "))
        }
        (names, n) => format!("{} and {n} more", names.join(", ")),
    }
}

/// Moves the keyboard focus to the element with this id, if it is there.
pub(super) fn focus(id: &str) {
    use leptos::wasm_bindgen::JsCast;
    use leptos::web_sys::HtmlElement;
    if let Some(el) = document().get_element_by_id(id)
        && let Ok(el) = el.dyn_into::<HtmlElement>()
    {
        let _ = el.focus();
    }
}
