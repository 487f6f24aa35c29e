//! The administration panel: for administrators only (its button shows only to them, and every
//! request goes through the `/admin` socket, which the server opens to administrators alone).
//!
//! It does what the `/admin` events do, in the place a thread or search results take: roles
//! and bans by name, bots and their tokens, incoming webhooks, and the audit log. A token or a
//! secret is shown once, in a read-only field to copy from, as the server hands it over once.

use leptos::ev::SubmitEvent;
use leptos::prelude::*;

use super::ChatState;
use super::message::focus;
use super::time;
use crate::events::admin::{
    AuditEntry, AuditRequest, ConnectionList, CreateBot, CreateWebhook, Demote, EndSession,
    IssueBotToken, ListAudit, ListConnections, NewBot, NewWebhook, NodeFigures, NodeList,
    PersonPayload, Promote, RevokeBotTokens, SessionRef, UnbanPerson,
};
use crate::events::rooms::Empty;
use crate::model::{RoomId, UserId};

/// How often the live figures and connections are asked for again while the panel is open.
#[cfg(feature = "hydrate")]
const LIVE_EVERY_SECS: u64 = 5;

/// Connections listed at most (the count says how many there are).
const MAX_SHOWN: usize = 200;

/// "3 h 12 min", "5 min", "40 s".
fn uptime(secs: u64) -> String {
    match secs {
        0..60 => format!("{secs} s"),
        60..3600 => format!("{} min", secs / 60),
        _ => format!("{} h {} min", secs / 3600, secs % 3600 / 60),
    }
}

/// A person's id from a name as typed (ids are lower-cased names).
fn id_of(name: &str) -> UserId {
    UserId(name.trim().to_lowercase())
}

/// The button that opens the panel, for administrators.
#[component]
pub fn AdminButton() -> impl IntoView {
    let chat = expect_context::<ChatState>();
    // On a phone the rooms panel this button sits in closes, so the panel is all there is.
    let close_rooms = use_context::<super::PanelClose>();
    view! {
        <Show when=move || chat.admin.get()>
            <button type="button" class="ghost admin-open"
                on:click=move |_| {
                    chat.search.set(None);
                    chat.thread.set(None);
                    chat.admin_open.set(true);
                    if let Some(close) = close_rooms {
                        close.0.run(());
                    }
                }>
                "Administration"
            </button>
        </Show>
    }
}

/// The panel, while open.
#[component]
pub fn AdminPanel() -> impl IntoView {
    let chat = expect_context::<ChatState>();
    // A thread or search results opened since take its place.
    let shown = move || {
        chat.admin_open.get()
            && chat.admin.get()
            && chat.thread.get().is_none()
            && chat.search.get().is_none()
    };
    move || shown().then(|| view! { <Panel /> })
}

#[component]
fn Panel() -> impl IntoView {
    let chat = expect_context::<ChatState>();
    let entries = RwSignal::new(Vec::<AuditEntry>::new());
    let more = RwSignal::new(false);
    let status = RwSignal::new(String::new());
    let load_audit = move |before: Option<u64>| {
        chat.moderate::<ListAudit>(AuditRequest { before }, move |result| {
            if let Ok(page) = result {
                more.set(page.more);
                entries.update(|e| {
                    if before.is_none() {
                        e.clear();
                    }
                    e.extend(page.entries);
                });
            }
        });
    };
    load_audit(None);
    let done = move |what: String| {
        status.set(what);
        load_audit(None);
    };
    let close = move || {
        chat.admin_open.set(false);
        focus("composer-input");
    };
    request_animation_frame(|| focus("admin-title"));

    // Live: every node's figures and connections, asked again every few seconds while open.
    let nodes = RwSignal::new(None::<NodeList>);
    let connections = RwSignal::new(None::<ConnectionList>);
    let refresh = move || {
        chat.moderate::<NodeFigures>(Empty {}, move |result| {
            if let Ok(list) = result {
                nodes.set(Some(list));
            }
        });
        chat.moderate::<ListConnections>(Empty {}, move |result| {
            if let Ok(list) = result {
                connections.set(Some(list));
            }
        });
    };
    refresh();
    #[cfg(feature = "hydrate")]
    {
        if let Ok(handle) =
            set_interval_with_handle(refresh, std::time::Duration::from_secs(LIVE_EVERY_SECS))
        {
            on_cleanup(move || handle.clear());
        }
    }
    let end_session = move |session: String, who: String| {
        chat.moderate::<EndSession>(SessionRef { session }, move |result| {
            if result.is_ok() {
                status.set(format!("{who}'s session was ended; its tabs are signed out"));
                load_audit(None);
                refresh();
            }
        });
    };

    // Roles and bans, by name.
    let person = RwSignal::new(String::new());
    let act = move |action: &'static str| {
        let name = person.get_untracked();
        if name.trim().is_empty() {
            return;
        }
        let payload = PersonPayload { user: id_of(&name) };
        let name = name.trim().to_owned();
        let finish = move |ok: bool, what: String| {
            if ok {
                done(what);
            }
        };
        match action {
            "promote" => chat.moderate::<Promote>(payload, move |r| {
                finish(r.is_ok(), format!("{name} is an administrator."));
            }),
            "demote" => chat.moderate::<Demote>(payload, move |r| {
                finish(r.is_ok(), format!("{name} is no longer an administrator."));
            }),
            _ => chat.moderate::<UnbanPerson>(payload, move |r| {
                finish(r.is_ok(), format!("{name} may sign in again."));
            }),
        }
    };

    // Bots: a token, shown once.
    let bot_name = RwSignal::new(String::new());
    let token = RwSignal::new(None::<(String, String)>);
    let create_bot = move |ev: SubmitEvent| {
        ev.prevent_default();
        let name = bot_name.get_untracked();
        chat.moderate::<CreateBot>(NewBot { name }, move |result| {
            if let Ok(created) = result {
                bot_name.set(String::new());
                token.set(Some((created.bot.name.to_string(), created.token)));
                done(format!("Bot {} created.", created.bot.name));
            }
        });
    };
    let bot_action = move |revoke: bool| {
        let name = bot_name.get_untracked();
        if name.trim().is_empty() {
            return;
        }
        let payload = PersonPayload { user: id_of(&name) };
        if revoke {
            chat.moderate::<RevokeBotTokens>(payload, move |result| {
                if result.is_ok() {
                    token.set(None);
                    done(format!("Every token of {} is revoked.", name.trim()));
                }
            });
        } else {
            chat.moderate::<IssueBotToken>(payload, move |result| {
                if let Ok(issued) = result {
                    token.set(Some((issued.bot.name.to_string(), issued.token)));
                    done(format!("A new token for {}.", issued.bot.name));
                }
            });
        }
    };

    // Webhooks: a room of one's own group rooms, a bot, and the URL and secret, shown once.
    let rooms = move || {
        chat.rooms.with(|rooms| {
            chat.joined.with(|joined| {
                rooms
                    .iter()
                    .filter(|r| r.kind.is_group() && joined.contains(&r.id))
                    .map(|r| r.id.clone())
                    .collect::<Vec<_>>()
            })
        })
    };
    let hook_room = RwSignal::new(RoomId::lobby().0);
    let hook_bot = RwSignal::new(String::new());
    let hook = RwSignal::new(None::<(String, String)>);
    let create_hook = move |ev: SubmitEvent| {
        ev.prevent_default();
        let request = NewWebhook {
            room: RoomId(hook_room.get_untracked()),
            bot: id_of(&hook_bot.get_untracked()),
        };
        chat.moderate::<CreateWebhook>(request, move |result| {
            if let Ok(created) = result {
                let origin = window().location().origin().unwrap_or_default();
                hook.set(Some((format!("{origin}{}", created.path), created.secret)));
                done(format!("A webhook for # {} posting as {}.", created.room, created.bot.name));
            }
        });
    };

    let local = use_context::<super::Hydrated>().is_some_and(|h| h.0.get_untracked());
    view! {
        <aside class="thread admin-panel" aria-labelledby="admin-title"
            on:keydown=move |ev: leptos::ev::KeyboardEvent| if ev.key() == "Escape" { close() }>
            <header class="thread-header">
                <h2 id="admin-title" tabindex="-1">"Administration"</h2>
                <button type="button" class="ghost small" aria-label="Close administration"
                    on:click=move |_| close()>"Close"</button>
            </header>
            <div class="admin-body">
                <p class="admin-status" role="status">{move || status.get()}</p>

                <section aria-labelledby="admin-nodes">
                    <h3 id="admin-nodes">"Servers"</h3>
                    {move || nodes.get().map(|list| view! {
                        <ul class="nodes" aria-label="Servers">
                            {list.nodes.into_iter().map(|n| view! {
                                <li>
                                    <span class="node-name">{n.node}</span>
                                    <span class="hint">{format!("up {}", uptime(n.uptime_secs))}</span>
                                    <dl>
                                        <div><dt>"Connections"</dt>
                                            <dd>{format!("{} ({} WebSocket)", n.connections, n.websocket)}</dd></div>
                                        <div><dt>"Messages per second"</dt>
                                            <dd>{format!("{:.1}", n.messages_per_second)}</dd></div>
                                        <div><dt>"Requests per second"</dt>
                                            <dd>{format!("{:.1}", n.requests_per_second)}</dd></div>
                                        <div><dt>"Store latency"</dt>
                                            <dd>{n.store_ms.map_or_else(|| "no answer".to_owned(), |ms| format!("{ms:.1} ms"))}</dd></div>
                                    </dl>
                                </li>
                            }).collect_view()}
                        </ul>
                        {list.partial.then(|| view! {
                            <p class="hint">"A server did not answer in time; its figures are missing."</p>
                        })}
                    })}
                </section>

                <section aria-labelledby="admin-connections">
                    <h3 id="admin-connections">
                        {move || match connections.get() {
                            Some(list) => format!("Connected now — {}", list.total),
                            None => "Connected now".to_owned(),
                        }}
                    </h3>
                    <ul class="connections" aria-label="Connections">
                        {move || connections.get().map(|list| {
                            list.connections.into_iter().take(MAX_SHOWN).map(|c| {
                                let who = c.user.name.to_string();
                                let label = format!(
                                    "End {who}'s session ({}, {})",
                                    c.address.clone().unwrap_or_else(|| "unknown address".into()),
                                    c.transport,
                                );
                                let (session, name) = (c.session.clone(), who.clone());
                                view! {
                                    <li>
                                        <span class="who">
                                            <strong>{who}</strong>
                                            {c.bot.then(|| view! { " " <span class="bot-badge">"bot"</span> })}
                                            {(c.namespace != crate::events::CHAT_NAMESPACE).then(|| view! {
                                                " " <span class="mod-badge">"admin"</span>
                                            })}
                                        </span>
                                        <span class="where">
                                            {format!(
                                                "{} · {} · since {} · {}",
                                                c.transport,
                                                c.address.unwrap_or_else(|| "?".into()),
                                                time::clock(c.since_ms, local),
                                                c.node,
                                            )}
                                        </span>
                                        <button type="button" class="ghost small danger" aria-label=label
                                            on:click=move |_| end_session(session.clone(), name.clone())>
                                            "End session"
                                        </button>
                                    </li>
                                }
                            }).collect_view()
                        })}
                    </ul>
                    {move || connections.get().and_then(|list| {
                        let shown = list.connections.len().min(MAX_SHOWN);
                        let hidden = (list.total as usize).saturating_sub(shown);
                        (hidden > 0).then(|| view! { <p class="hint">{format!("and {hidden} more")}</p> })
                    })}
                </section>

                <section aria-labelledby="admin-people">
                    <h3 id="admin-people">"People"</h3>
                    <label for="admin-person">"Name"</label>
                    <input id="admin-person" bind:value=person autocomplete="off" />
                    <div class="inline">
                        <button type="button" class="small" on:click=move |_| act("promote")>"Make administrator"</button>
                        <button type="button" class="ghost small" on:click=move |_| act("demote")>"Remove administrator"</button>
                        <button type="button" class="ghost small" on:click=move |_| act("unban")>"Unban"</button>
                    </div>
                </section>

                <section aria-labelledby="admin-bots">
                    <h3 id="admin-bots">"Bots"</h3>
                    <form on:submit=create_bot>
                        <label for="admin-bot-name">"Bot name"</label>
                        <input id="admin-bot-name" bind:value=bot_name autocomplete="off" required />
                        <div class="inline">
                            <button type="submit" class="small">"Create bot"</button>
                            <button type="button" class="ghost small" on:click=move |_| bot_action(false)>"New token"</button>
                            <button type="button" class="ghost small danger" on:click=move |_| bot_action(true)>"Revoke tokens"</button>
                        </div>
                    </form>
                    {move || token.get().map(|(name, token)| view! {
                        <div class="secret">
                            <label for="admin-token">{format!("Token for {name}: shown only now")}</label>
                            <input id="admin-token" readonly value=token
                                on:focus=|ev| select_all(&ev) />
                        </div>
                    })}
                </section>

                <section aria-labelledby="admin-hooks">
                    <h3 id="admin-hooks">"Incoming webhooks"</h3>
                    <form on:submit=create_hook>
                        <label for="admin-hook-room">"Room"</label>
                        <select id="admin-hook-room" on:change=move |ev| hook_room.set(event_target_value(&ev))>
                            <For each=rooms key=|id| id.clone() let:id>
                                <option value=id.0.clone() selected=id.0 == hook_room.get_untracked()>
                                    {format!("# {id}")}
                                </option>
                            </For>
                        </select>
                        <label for="admin-hook-bot">"Posts as (a bot's name)"</label>
                        <input id="admin-hook-bot" bind:value=hook_bot autocomplete="off" required />
                        <button type="submit" class="small">"Create webhook"</button>
                    </form>
                    {move || hook.get().map(|(url, secret)| view! {
                        <div class="secret">
                            <label for="admin-hook-url">"POST to"</label>
                            <input id="admin-hook-url" readonly value=url on:focus=|ev| select_all(&ev) />
                            <label for="admin-hook-secret">"with Authorization: Bearer (shown only now)"</label>
                            <input id="admin-hook-secret" readonly value=secret on:focus=|ev| select_all(&ev) />
                        </div>
                    })}
                </section>

                <section aria-labelledby="admin-audit">
                    <h3 id="admin-audit">"Audit log"</h3>
                    <ol class="audit" aria-label="Audit log">
                        <For each=move || entries.get() key=|e| e.id let:entry>
                            <li>
                                <time datetime=time::iso(entry.at_ms)>{time::full(entry.at_ms, local)}</time>
                                <span class="what">
                                    <strong>{entry.actor.name.to_string()}</strong>
                                    {format!(" {} ", entry.action.as_str().replace('_', " "))}
                                    <strong>{entry.target.to_string()}</strong>
                                </span>
                                {(!entry.detail.is_empty()).then(|| view! {
                                    <span class="detail">{entry.detail.clone()}</span>
                                })}
                            </li>
                        </For>
                    </ol>
                    <Show when=move || entries.with(Vec::is_empty)>
                        <p class="hint">"Nothing has been done yet."</p>
                    </Show>
                    <Show when=move || more.get()>
                        <button type="button" class="link" on:click=move |_| {
                            load_audit(entries.with_untracked(|e| e.last().map(|e| e.id)));
                        }>"Older entries"</button>
                    </Show>
                </section>
            </div>
        </aside>
    }
}

/// Selects a read-only field's text when it gets focus, ready to copy.
fn select_all(ev: &leptos::ev::FocusEvent) {
    #[cfg(feature = "hydrate")]
    {
        use wasm_bindgen::JsCast;
        if let Some(input) =
            ev.target().and_then(|t| t.dyn_into::<web_sys::HtmlInputElement>().ok())
        {
            input.select();
        }
    }
    #[cfg(not(feature = "hydrate"))]
    let _ = ev;
}
