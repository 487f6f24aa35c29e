//! The people in the room on screen, online first; a name opens a direct conversation.

use leptos::ev::SubmitEvent;
use leptos::prelude::*;

use super::{ChatState, RoomNews};
use crate::events::admin::{BanPayload, BanPerson};
use crate::events::rooms::{
    InvitePayload, InviteToRoom, MemberPayload, ModeratorPayload, OpenDirect, OpenDirectPayload,
    RemoveMember, SetModerator,
};
use crate::model::{DisplayName, Member, RoomId, RoomKind, UserRef};

#[component]
pub fn PeoplePanel() -> impl IntoView {
    let chat = expect_context::<ChatState>();
    let members = move || {
        let mut members: Vec<Member> = chat.members.get();
        chat.online.with(|online| {
            for m in &mut members {
                m.online = online.contains(&m.user.id);
            }
        });
        members.sort_by(|a, b| {
            b.online.cmp(&a.online).then_with(|| a.user.name.as_str().cmp(b.user.name.as_str()))
        });
        members
    };
    let online_count = move || members().iter().filter(|m| m.online).count();
    view! {
        <aside id="people" class="people" aria-labelledby="people-title">
            <div class="panel-head">
                <h2 id="people-title">"Online — " {online_count}</h2>
                <super::ClosePanel label="Close people" />
            </div>
            <ul class="people-list" aria-label="Members">
                <For each=members key=|m| (m.user.id.clone(), m.online, m.moderator) let:member>
                    <Person member />
                </For>
            </ul>
            <Show when=move || chat.room(&chat.current.get()).is_some_and(|r| r.kind == RoomKind::Private)>
                <InviteForm />
            </Show>
        </aside>
    }
}

/// Adds someone to the private room on screen, by name.
#[component]
fn InviteForm() -> impl IntoView {
    let chat = expect_context::<ChatState>();
    let name = RwSignal::new(String::new());
    let error = RwSignal::new(None::<String>);
    let submit = move |ev: SubmitEvent| {
        ev.prevent_default();
        let user = match DisplayName::parse(&name.get_untracked()) {
            Ok(n) => UserRef::named(n).id,
            Err(e) => {
                error.set(Some(e.to_string()));
                return;
            }
        };
        let payload = InvitePayload { room: chat.current.get_untracked(), user };
        chat.request::<InviteToRoom>(payload, move |result| match result {
            Ok(view) => {
                error.set(None);
                name.set(String::new());
                chat.apply_view(view);
            }
            Err(e) => error.set(Some(e.to_string())),
        });
    };
    view! {
        <form class="invite" on:submit=submit>
            <label for="invite-name">"Invite someone"</label>
            <div class="inline">
                <input id="invite-name" placeholder="Their name" bind:value=name
                    aria-invalid=move || error.get().is_some().to_string()
                    aria-describedby="invite-error" />
                <button type="submit" class="small">"Invite"</button>
            </div>
            <p id="invite-error" class="error" role="alert">{move || error.get()}</p>
        </form>
    }
}

#[component]
fn Person(member: Member) -> impl IntoView {
    let chat = expect_context::<ChatState>();
    let me = chat.is_me(&member.user.id);
    let name = member.user.name.to_string();
    let user = member.user.id.clone();
    let open_dm = move |_| {
        chat.request_or_report::<OpenDirect>(
            OpenDirectPayload { user: user.clone() },
            move |room| {
                let id = room.id.clone();
                chat.learn(RoomNews::Member(room));
                chat.open(id);
            },
        );
    };
    let state = if member.online { "online" } else { "offline" };
    // Administrators ban from here: a reason (for the audit log), then Ban.
    let banning = RwSignal::new(false);
    let reason = RwSignal::new(String::new());
    let ban = {
        let (user, name) = (member.user.id.clone(), name.clone());
        move |ev: SubmitEvent| {
            ev.prevent_default();
            let payload = BanPayload { user: user.clone(), reason: reason.get_untracked() };
            let name = name.clone();
            chat.moderate::<BanPerson>(payload, move |result| {
                if result.is_ok() {
                    banning.set(false);
                    chat.info.set(Some(format!("{name} was banned and signed out everywhere")));
                }
            });
        }
    };
    let ban_id = format!("ban-{}", member.user.id);
    let ban_label = format!("Ban {name}");
    let ban_question = format!("Ban {name}? Reason (optional)");
    let can_ban = move || !me && chat.admin.get();
    // A room's moderators manage its other members: make them moderators or not (never the
    // creator), remove those who are not moderators. Not in the lobby or a direct room.
    let creator = {
        let user = member.user.id.clone();
        move || chat.room(&chat.current.get()).is_some_and(|r| r.created_by.as_ref() == Some(&user))
    };
    let can_manage = {
        let creator = creator.clone();
        move || {
            let room = chat.current.get();
            !me && room != RoomId::lobby()
                && chat.room(&room).is_some_and(|r| r.kind.is_group())
                && chat.moderates_current()
                && !creator()
        }
    };
    let moderator = member.moderator;
    let set_moderator = {
        let (user, name) = (member.user.id.clone(), name.clone());
        move |_| {
            let payload = ModeratorPayload {
                room: chat.current.get_untracked(),
                user: user.clone(),
                moderator: !moderator,
            };
            let name = name.clone();
            chat.request_or_report::<SetModerator>(payload, move |view| {
                chat.apply_view(view);
                chat.info.set(Some(if moderator {
                    format!("{name} no longer moderates this room")
                } else {
                    format!("{name} can now moderate this room")
                }));
            });
        }
    };
    let remove = {
        let (user, name) = (member.user.id.clone(), name.clone());
        move |_| {
            let payload = MemberPayload { room: chat.current.get_untracked(), user: user.clone() };
            let name = name.clone();
            chat.request_or_report::<RemoveMember>(payload, move |view| {
                chat.apply_view(view);
                chat.info.set(Some(format!("{name} was removed from the room")));
            });
        }
    };
    // Inside the name, like a bot's tag, so that it never wraps away from it.
    let mod_badge = move || {
        moderator.then(|| {
            view! {
                " " <span class="mod-badge" title="Moderates this room">"mod"</span>
            }
        })
    };
    let manage_label = StoredValue::new(format!("Manage {name}"));
    let moderator_label = if moderator { "Take moderator role" } else { "Make moderator" };
    let remove_label = StoredValue::new(format!("Remove {name} from the room"));
    let (set_moderator, remove) = (StoredValue::new(set_moderator), StoredValue::new(remove));
    // The ⋯ button opens a small menu under it (Escape closes it, as does an action).
    let menu_open = RwSignal::new(false);
    let manage = move || {
        can_manage().then(|| {
            view! {
                <div class="manage" on:keydown=move |ev: leptos::ev::KeyboardEvent| {
                    if ev.key() == "Escape" {
                        menu_open.set(false);
                    }
                }>
                    <button type="button" class="ghost small manage-toggle"
                        aria-label=manage_label.get_value() title=manage_label.get_value()
                        aria-expanded=move || menu_open.get().to_string()
                        on:click=move |_| menu_open.update(|o| *o = !*o)>"⋯"</button>
                    <Show when=move || menu_open.get()>
                        <div class="manage-menu">
                            <button type="button" class="ghost small" on:click=move |ev| {
                                menu_open.set(false);
                                set_moderator.with_value(|f| f(ev));
                            }>{moderator_label}</button>
                            {(!moderator).then(|| view! {
                                <button type="button" class="ghost small danger"
                                    aria-label=remove_label.get_value() on:click=move |ev| {
                                        menu_open.set(false);
                                        remove.with_value(|f| f(ev));
                                    }>
                                    "Remove from room"
                                </button>
                            })}
                        </div>
                    </Show>
                </div>
            }
        })
    };
    view! {
        <li class="person" class:online=member.online class:banning=move || banning.get()>
            <span class="dot" aria-hidden="true"></span>
            // A bot's tag sits inside the name, so that it never wraps away from it.
            {if me {
                view! {
                    <span class="name">{name.clone()} " (you)" {mod_badge()}</span>
                }.into_any()
            } else {
                view! {
                    <button type="button" class="link name" title="Send a direct message"
                        aria-label=format!("Message {name}{}", if member.bot { " (bot)" } else { "" })
                        on:click=open_dm>
                        {name.clone()}
                        {member.bot.then(|| view! { " " <span class="bot-badge">"bot"</span> })}
                        {mod_badge()}
                    </button>
                }.into_any()
            }}
            <span class="visually-hidden">{format!(", {state}{}", if member.moderator { ", moderates the room" } else { "" })}</span>
            {manage}
            <Show when=move || can_ban() && !banning.get()>
                <button type="button" class="ghost small ban" aria-label=ban_label.clone()
                    on:click=move |_| banning.set(true)>"Ban"</button>
            </Show>
            <Show when=move || banning.get()>
                <form class="ban-form" on:submit=ban.clone()>
                    <label for=ban_id.clone()>{ban_question.clone()}</label>
                    <input id=ban_id.clone() bind:value=reason maxlength="500" autofocus />
                    <div class="inline">
                        <button type="submit" class="small danger-solid">"Ban"</button>
                        <button type="button" class="ghost small" on:click=move |_| banning.set(false)>"Cancel"</button>
                    </div>
                </form>
            </Show>
        </li>
    }
}
