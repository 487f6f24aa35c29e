//! One message on screen: its author and time, its text with mentions drawn, its reactions, and
//! what its author (edit, delete) and everyone (react) can do with it.

use leptos::ev::{KeyboardEvent, SubmitEvent};
use leptos::prelude::*;
use uuid::Uuid;

use super::state::{Delivery, MessageLine};
use super::{ChatState, time};
use crate::events::admin::RemoveMessage;
use crate::events::messages::{
    DeleteMessage, DeleteRequest, EditMessage, EditRequest, ReactPayload, ReactToMessage,
};
use crate::events::rooms::RemoveRoomMessage;
use crate::limits::PREVIEW_PIXELS;
use crate::markdown::{self, Block, Inline};
use crate::mentions::Mention;
use crate::model::{Attachment, REACTIONS, Reaction, UserId};

/// One message, as it stands: a change to it renders the line again (see
/// [`super::timeline::LineKey`]). The body is text nodes: markup in a message is shown, never
/// interpreted. The author can edit or delete it; anyone in the room can react to it.
///
/// `in_thread`: shown as the head of its thread's panel (no reply button or count there).
/// `compact`: it continues its author's group (see [`super::rows`]): no name or avatar, the
/// time in the gutter on hover.
#[component]
pub fn MessageItem(
    line: MessageLine,
    #[prop(optional)] in_thread: bool,
    #[prop(optional)] compact: bool,
) -> impl IntoView {
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
        moderated,
        delivery,
        mentions,
        reactions,
        thread,
        replies,
        last_reply_at_ms,
        attachment,
        ..
    } = line;
    let room = chat.current.get_untracked();
    let editing = RwSignal::new(None::<String>);
    let hydrated = use_context::<super::Hydrated>().map(|h| h.0);
    // HH:MM, with the full date and time on hover (and, by CSS, while the message has the
    // keyboard focus).
    let time = move || {
        let local = hydrated.is_some_and(|h| h.get());
        sent_at_ms.map(|ms| {
            view! {
                <time class="time" datetime=time::iso(ms) title=time::full(ms, local)>
                    {time::clock(ms, local)}
                </time>
            }
        })
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
    // A moderator of the room (through `/chat`) or an administrator (through `/admin`)
    // removes anyone else's message, after saying so a second time.
    let can_remove = move || !own && stored && (chat.moderates_current() || chat.admin.get());
    let confirming = RwSignal::new(false);
    let remove = move |_| {
        if chat.moderates_current() {
            chat.request_or_report::<RemoveRoomMessage>(DeleteRequest { id }, move |msg| {
                chat.apply_message(msg, false);
            });
        } else {
            chat.moderate::<RemoveMessage>(DeleteRequest { id }, move |result| {
                if let Ok(msg) = result {
                    chat.apply_message(msg, false);
                }
            });
        }
    };
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
    let has_file = attachment.is_some();
    let author_name = author.name.to_string();
    // A bot is marked wherever it speaks; it is a member of the room it posts in.
    let by_bot = {
        let author = author.id.clone();
        move || chat.members.with(|ms| ms.iter().any(|m| m.bot && m.user.id == author))
    };
    let avatar = (!compact).then(|| avatar(&author.id, &author_name));
    view! {
        <li class="message" class:own=own class:pending=pending class:deleted=deleted
            class:mentions-me=mentions_me class:compact=compact data-id=id.to_string()
            class:target=move || chat.target.get() == Some(id)>
            <div class="gutter" aria-hidden="true">
                {if compact { time().into_any() } else { avatar.into_any() }}
            </div>
            <div class="content">
            <div class="meta">
                <span class="author" class:visually-hidden=compact>{author_name}</span>
                <Show when=move || !compact && by_bot()>
                    <span class="bot-badge">"bot"</span>
                </Show>
                {(!compact).then(time)}
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
            </div>
            {move || match (deleted, editing.get().is_some()) {
                (true, _) => view! {
                    <p class="body placeholder">{if moderated { "Removed by a moderator" } else { "Message deleted" }}</p>
                }.into_any(),
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
                (false, false) => shown.with_value(|(body, mentions)| {
                    (!body.is_empty() || !has_file).then(|| view! {
                        <Body body=body.clone() mentions=mentions.clone() />
                    })
                }).into_any(),
            }}
            {(!deleted).then(|| attachment.clone().map(|file| view! { <FileView id file /> }))}
            {stored.then(|| view! { <Reactions id reactions picking /> })}
            {replies_line}
            </div>
            <Show when=move || stored && editing.get().is_none()>
                // Where the reader points or tabs, as Slack's and Discord's hover bars: one tab
                // stop (the arrow keys move along it), so a long list is quick to tab through.
                <div class="actions" role="toolbar" aria-label="Message actions" on:keydown=roving>
                    <button type="button" class="link" aria-label="Add reaction" tabindex="0"
                        aria-expanded=move || picking.get().to_string()
                        on:click=move |_| picking.update(|p| *p = !*p)>"React"</button>
                    {can_reply.then(|| view! {
                        <button type="button" class="link" aria-label="Reply in thread" tabindex="-1"
                            on:click=open_thread>"Reply"</button>
                    })}
                    {can_change.then(|| view! {
                        <button type="button" class="link" aria-label="Edit message" tabindex="-1"
                            on:click=move |_| editing.set(Some(original.get_value()))>"Edit"</button>
                        <button type="button" class="link" aria-label="Delete message" tabindex="-1"
                            on:click=delete>"Delete"</button>
                    })}
                    <Show when=can_remove>
                        <Show when=move || confirming.get() fallback=move || view! {
                            <button type="button" class="link danger" tabindex="-1"
                                aria-label="Remove message as a moderator"
                                on:click=move |_| {
                                    confirming.set(true);
                                    // The button is gone: the keyboard goes to the safe answer.
                                    request_animation_frame(move || focus(&format!("keep-{id}")));
                                }>"Remove"</button>
                        }>
                            <span class="confirm-remove">"Remove for everyone?"</span>
                            <button type="button" class="link danger" tabindex="-1"
                                on:click=remove>"Remove it"</button>
                            <button type="button" class="link" tabindex="-1" id=format!("keep-{id}")
                                on:click=move |_| confirming.set(false)>"Keep"</button>
                        </Show>
                    </Show>
                </div>
            </Show>
        </li>
    }
}

/// Arrow keys (and Home/End) along a toolbar whose buttons are one tab stop: the button
/// reached takes the stop, so Tab comes back to it.
fn roving(ev: KeyboardEvent) {
    #[cfg(feature = "hydrate")]
    {
        use leptos::wasm_bindgen::JsCast;
        use leptos::web_sys::{Element, HtmlElement};
        let step: i32 = match ev.key().as_str() {
            "ArrowRight" | "ArrowDown" => 1,
            "ArrowLeft" | "ArrowUp" => -1,
            "Home" => i32::MIN,
            "End" => i32::MAX,
            _ => return,
        };
        let Some(bar) = ev.current_target().and_then(|t| t.dyn_into::<Element>().ok()) else {
            return;
        };
        let Ok(list) = bar.query_selector_all("button") else { return };
        let buttons: Vec<HtmlElement> = (0..list.length())
            .filter_map(|i| list.item(i)?.dyn_into::<HtmlElement>().ok())
            .collect();
        if buttons.is_empty() {
            return;
        }
        let active = document().active_element();
        let at = buttons
            .iter()
            .position(|b| active.as_ref().is_some_and(|a| a == b.as_ref() as &Element));
        let last = buttons.len() as i32 - 1;
        let next = match step {
            i32::MIN => 0,
            i32::MAX => last,
            s => (at.map_or(0, |a| a as i32) + s).rem_euclid(last + 1),
        } as usize;
        ev.prevent_default();
        for (i, b) in buttons.iter().enumerate() {
            let _ = b.set_attribute("tabindex", if i == next { "0" } else { "-1" });
        }
        let _ = buttons[next].focus();
    }
    #[cfg(not(feature = "hydrate"))]
    let _ = ev;
}

/// Initials on a colour taken from the person's id (the same everywhere, whatever the name).
fn avatar(id: &UserId, name: &str) -> impl IntoView + use<> {
    // White text on each meets 4.5:1.
    const COLOURS: [&str; 10] = [
        "#b42318", "#b54708", "#027a48", "#026aa2", "#6941c6", "#c11574", "#155eef", "#3e4784",
        "#0e7090", "#4d7c0f",
    ];
    // FNV-1a: stable across builds and platforms, unlike the standard hasher.
    let hash =
        id.0.bytes().fold(0x811c_9dc5_u32, |h, b| (h ^ u32::from(b)).wrapping_mul(0x0100_0193));
    let colour = COLOURS[hash as usize % COLOURS.len()];
    let initials: String = name
        .split_whitespace()
        .take(2)
        .filter_map(|w| w.chars().next())
        .flat_map(char::to_uppercase)
        .collect();
    view! { <span class="avatar" style=format!("background:{colour}")>{initials}</span> }
}

/// A shared file: an image as its preview (the original opens in a new tab), anything else as a
/// card with its name, size and type that downloads it.
#[component]
fn FileView(id: Uuid, file: Attachment) -> impl IntoView {
    let url = Attachment::url(id);
    let kind = file_kind(&file.mime);
    let size = human_size(file.size);
    match file.image {
        Some(image) => {
            // The preview's own size (at most PREVIEW_PIXELS a side), so the list does not jump
            // when it loads; CSS narrows it on small screens.
            let longest = image.width.max(image.height).max(1);
            let scale = f64::from(PREVIEW_PIXELS.min(longest)) / f64::from(longest);
            let width = (f64::from(image.width) * scale).round().max(1.0);
            let height = (f64::from(image.height) * scale).round().max(1.0);
            let label = format!("{} ({size}), open the original", file.name);
            view! {
                <a class="file-image" href=url target="_blank" rel="noopener" aria-label=label>
                    <img src=Attachment::preview_url(id) alt=file.name.clone()
                        width=width.to_string() height=height.to_string() loading="lazy" />
                </a>
            }
            .into_any()
        }
        None => view! {
            <a class="file-card" href=url download=file.name.clone()>
                <span class="file-icon" aria-hidden="true">{kind.0}</span>
                <span class="file-text">
                    <span class="file-name" title=file.name.clone()>{file.name.clone()}</span>
                    <span class="file-meta">{format!("{size} · {}", kind.1)}</span>
                </span>
                <span class="visually-hidden">", download"</span>
            </a>
        }
        .into_any(),
    }
}

/// A short label and a one-word type for a MIME type, for a file card.
fn file_kind(mime: &str) -> (&'static str, String) {
    match mime {
        "application/pdf" => ("PDF", "PDF document".to_owned()),
        "application/zip" | "application/gzip" => ("ZIP", "Archive".to_owned()),
        m if m.starts_with("image/") => ("IMG", "Image".to_owned()),
        m if m.starts_with("audio/") => ("AUD", "Audio".to_owned()),
        m if m.starts_with("video/") => ("VID", "Video".to_owned()),
        m if m.starts_with("text/") => ("TXT", "Text".to_owned()),
        _ => ("FILE", "File".to_owned()),
    }
}

/// Bytes as people read them: `512 B`, `14.2 KB`, `3.1 MB` (powers of 1024, as file managers).
pub fn human_size(bytes: u64) -> String {
    const UNITS: [&str; 4] = ["KB", "MB", "GB", "TB"];
    if bytes < 1024 {
        return format!("{bytes} B");
    }
    let mut value = bytes as f64 / 1024.0;
    let mut unit = 0;
    while value >= 1024.0 && unit < UNITS.len() - 1 {
        value /= 1024.0;
        unit += 1;
    }
    if value < 10.0 {
        format!("{value:.1} {}", UNITS[unit])
    } else {
        format!("{value:.0} {}", UNITS[unit])
    }
}

/// A message's text, formatted ([`crate::markdown`]) and with its mentions drawn: `@name` in
/// the person's current name (from the room's member list; as written if they are not listed),
/// stronger when it is the reader. Every element is built here from the parsed tree: no text of
/// a message ever becomes markup. Past about 15 lines it is collapsed behind "Show more".
#[component]
fn Body(body: String, mentions: Vec<Mention>) -> impl IntoView {
    let chat = expect_context::<ChatState>();
    let blocks = markdown::parse(&body, &mentions);
    let content = blocks_view(&chat, blocks);
    let body_ref = NodeRef::<leptos::html::Div>::new();
    let expanded = RwSignal::new(false);
    let overflows = RwSignal::new(false);
    // Measured once drawn: only a body taller than the clamp gets the button.
    Effect::new(move |_| {
        request_animation_frame(move || {
            if let Some(el) = body_ref.get_untracked() {
                overflows.set(el.scroll_height() > el.client_height() + 2);
            }
        });
    });
    let body_id = format!("body-{}", NEXT_BODY.fetch_add(1, std::sync::atomic::Ordering::Relaxed));
    let control = body_id.clone();
    view! {
        <div class="body" id=body_id node_ref=body_ref
            class:clamped=move || !expanded.get() class:overflows=move || overflows.get() && !expanded.get()>
            {content}
        </div>
        <Show when=move || overflows.get() || expanded.get()>
            <button type="button" class="link more" aria-expanded=move || expanded.get().to_string()
                aria-controls=control.clone()
                on:click=move |_| expanded.update(|e| *e = !*e)>
                {move || if expanded.get() { "Show less" } else { "Show more" }}
            </button>
        </Show>
    }
}

/// Ids for message bodies ("Show more" points at its body).
static NEXT_BODY: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

fn blocks_view(chat: &ChatState, blocks: Vec<Block>) -> AnyView {
    blocks.into_iter().map(|b| block_view(chat, b)).collect_view().into_any()
}

fn block_view(chat: &ChatState, block: Block) -> AnyView {
    match block {
        Block::Paragraph(inlines) => view! { <p>{inlines_view(chat, inlines)}</p> }.into_any(),
        // Focusable, so a long line can be scrolled from the keyboard.
        Block::Code(code) => view! { <pre tabindex="0"><code>{code}</code></pre> }.into_any(),
        Block::Quote(blocks) => view! { <blockquote>{blocks_view(chat, blocks)}</blockquote> }.into_any(),
        Block::List { start: None, items } => view! {
            <ul>{items.into_iter().map(|i| view! { <li>{blocks_view(chat, i)}</li> }).collect_view()}</ul>
        }
        .into_any(),
        Block::List { start: Some(start), items } => view! {
            <ol start=start.to_string()>
                {items.into_iter().map(|i| view! { <li>{blocks_view(chat, i)}</li> }).collect_view()}
            </ol>
        }
        .into_any(),
        Block::Rule => view! { <hr /> }.into_any(),
    }
}

fn inlines_view(chat: &ChatState, inlines: Vec<Inline>) -> AnyView {
    inlines.into_iter().map(|i| inline_view(chat, i)).collect_view().into_any()
}

fn inline_view(chat: &ChatState, inline: Inline) -> AnyView {
    match inline {
        Inline::Text(text) => text.into_any(),
        Inline::Break => view! { <br /> }.into_any(),
        Inline::Code(code) => view! { <code>{code}</code> }.into_any(),
        Inline::Strong(c) => view! { <strong>{inlines_view(chat, c)}</strong> }.into_any(),
        Inline::Emphasis(c) => view! { <em>{inlines_view(chat, c)}</em> }.into_any(),
        Inline::Strike(c) => view! { <s>{inlines_view(chat, c)}</s> }.into_any(),
        // `href` passed `markdown::safe_href` (http, https, mailto only); the title shows where a
        // link with other words goes.
        Inline::Link { href, children } => view! {
            <a href=href.clone() title=href target="_blank" rel="noopener noreferrer">
                {inlines_view(chat, children)}
            </a>
        }
        .into_any(),
        Inline::Mention(mention, written) => {
            let me = mention.user.as_ref().is_none_or(|u| chat.is_me(u));
            let name = mention.user.as_ref().and_then(|u| current_name(chat, u));
            let text = name.map_or(written, |n| format!("@{n}"));
            let everyone = mention.user.is_none();
            view! { <span class="mention" class:me=me class:everyone=everyone>{text}</span> }
                .into_any()
        }
    }
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
