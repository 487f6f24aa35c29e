//! Room moderation: a room's creator, and the members its moderators chose, keep that room
//! clean without being administrators.
//!
//! A moderator removes messages and members in their room, and makes other members moderators
//! or takes the role back (never from the creator, who cannot lose it, as `--admin` cannot lose
//! theirs). Moderators cannot remove each other: take the role first. Direct conversations and
//! the lobby have none (the lobby is the administrators').
//!
//! Every check the refusal messages need is made first, for a precise error; the write then
//! checks the caller's role and the target's again in the same statement, so a role taken
//! meanwhile refuses the write instead of racing it. Each action is written to the audit log,
//! where administrators see it beside their own.

use app::ChatError;
use app::events::admin::AdminAction;
use app::events::rooms::{MemberChange, ModeratorChange, RoomView};
use app::model::{ChatMessage, RoomId, RoomKind, UserId};
use uuid::Uuid;

use super::{Audience, Chat, Identity, internal, now_ms};
use crate::store::{MessageChange, RoomRecord, StoreError};

impl Chat {
    /// A group room (not the lobby) the caller moderates.
    async fn moderated_room(&self, who: &Identity, room: &RoomId) -> Result<RoomRecord, ChatError> {
        let record = self.member_room(who, room).await?;
        if record.kind == RoomKind::Direct
            || *room == RoomId::lobby()
            || !self.store.is_moderator(room, who.id()).await.map_err(internal)?
        {
            return Err(ChatError::Forbidden { room: room.to_string() });
        }
        Ok(record)
    }

    async fn audit_room(
        &self,
        who: &Identity,
        action: AdminAction,
        target: &UserId,
        detail: String,
    ) -> Result<(), ChatError> {
        self.store
            .record_audit(who.id(), action.as_str(), target, &detail, now_ms())
            .await
            .map_err(internal)
    }

    /// Removes a message in a room the caller moderates: deleted as its author would, marked
    /// as a moderator's doing. Anything else (another room's message, a direct room's, one
    /// already deleted) is `unknown_message`, so ids reveal nothing.
    #[tracing::instrument(skip_all, fields(user = %who.user.id, id = %id))]
    pub async fn moderate_message(
        &self,
        who: &Identity,
        id: Uuid,
    ) -> Result<(ChatMessage, Audience), ChatError> {
        let unknown = || ChatError::UnknownMessage { id };
        let message = self.store.message(id).await.map_err(internal)?.ok_or_else(unknown)?;
        if message.deleted {
            return Err(unknown());
        }
        let record = self.moderated_room(who, &message.room).await.map_err(|_| unknown())?;
        let change = MessageChange::Remove { by: Some(who.id().clone()) };
        let changed =
            self.store.change_message(id, &message.author.id, change, now_ms()).await.map_err(
                |e| match e {
                    StoreError::NotFound => unknown(),
                    e => internal(e),
                },
            )?;
        let detail = format!("in {}: message {id}", record.id);
        self.audit_room(who, AdminAction::RoomRemoveMessage, &message.author.id, detail).await?;
        Ok((changed, self.audience(&record).await?))
    }

    /// Removes `user` from a room the caller moderates. Returns the room as the caller now
    /// sees it and the change its members must hear of.
    #[tracing::instrument(skip_all, fields(user = %who.user.id, room = %room, member = %user))]
    pub async fn remove_member(
        &self,
        who: &Identity,
        room: &RoomId,
        user: &UserId,
    ) -> Result<(RoomView, MemberChange), ChatError> {
        let refuse = |reason: &str| ChatError::CannotModerate {
            user: user.to_string(),
            reason: reason.to_owned(),
        };
        self.moderated_room(who, room).await?;
        if user == who.id() {
            return Err(refuse("leave the room instead"));
        }
        let view = self.room_view(who, room).await?;
        let Some(member) = view.members.iter().find(|m| m.user.id == *user) else {
            return Err(refuse("not a member of this room"));
        };
        if member.moderator {
            return Err(refuse("moderators cannot be removed; take their role first"));
        }
        let (removed, bot) = (member.user.clone(), member.bot);
        if !self.store.remove_member_by(room, who.id(), user).await.map_err(internal)? {
            // A role changed, or they left, since the checks above.
            return Err(ChatError::Forbidden { room: room.to_string() });
        }
        self.audit_room(who, AdminAction::RemoveMember, user, format!("from {room}")).await?;
        let view = self.room_view(who, room).await?;
        let change =
            MemberChange { room: room.clone(), user: removed, members: view.room.members, bot };
        Ok((view, change))
    }

    /// Makes `user` a moderator of a room the caller moderates, or takes the role (not from
    /// its creator). `None` for the change if they already were as asked.
    #[tracing::instrument(skip_all, fields(user = %who.user.id, room = %room, member = %user))]
    pub async fn set_moderator(
        &self,
        who: &Identity,
        room: &RoomId,
        user: &UserId,
        moderator: bool,
    ) -> Result<(RoomView, Option<ModeratorChange>), ChatError> {
        let refuse = |reason: &str| ChatError::CannotModerate {
            user: user.to_string(),
            reason: reason.to_owned(),
        };
        let record = self.moderated_room(who, room).await?;
        let view = self.room_view(who, room).await?;
        let Some(member) = view.members.iter().find(|m| m.user.id == *user) else {
            return Err(refuse("not a member of this room"));
        };
        if record.created_by.as_ref() == Some(user) {
            return Err(refuse("the room's creator always moderates it"));
        }
        if member.moderator == moderator {
            return Ok((view, None));
        }
        let target = member.user.clone();
        if !self.store.set_moderator(room, who.id(), user, moderator).await.map_err(internal)? {
            return Err(ChatError::Forbidden { room: room.to_string() });
        }
        let action = if moderator { AdminAction::AddModerator } else { AdminAction::DropModerator };
        self.audit_room(who, action, user, format!("in {room}")).await?;
        let change =
            ModeratorChange { room: room.clone(), user: target, moderator, by: who.user.clone() };
        Ok((self.room_view(who, room).await?, Some(change)))
    }

    /// Makes `user` a member of `room` again after a [`Chat::remove_member`] whose live part
    /// (moving their tabs out of the room) failed, so the store and the live rooms agree.
    pub async fn restore_member(&self, room: &RoomId, user: &UserId) -> Result<(), ChatError> {
        self.store.add_member(room, user, now_ms()).await.map_err(internal)?;
        Ok(())
    }
}
