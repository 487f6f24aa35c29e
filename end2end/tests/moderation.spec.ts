import { test, expect } from './support/test';
import AxeBuilder from '@axe-core/playwright';
import { person, tag } from './support/chat-page';

// An administrator keeps a room clean while the spammer and a third person watch: the spam is
// removed for everyone ("Removed by a moderator"), and its author, banned, is signed out on the
// spot and cannot sign back in.
test('an administrator removes a spam message and bans its author', async ({ browser }) => {
  const t = tag();
  const room = `general-${t}`;
  // An administrator of this test's own (PARLEY_ADMINS in playwright.config.ts): the tabs of one
  // person all hear that person's news, so a shared administrator would see other tests' notices.
  const mod = await person(browser, 'Mod-Ban');
  const spammer = await person(browser, `Spammer-${t}`);
  const cy = await person(browser, `Cy-${t}`);
  // The spammer made the room (so moderates it); Cy is a plain member, the administrator is
  // neither its creator nor one of its moderators.
  await spammer.createRoom(room);
  await cy.joinRoom(room);
  await mod.joinRoom(room);

  const spam = `cheap watches at scam dot example ${t}`;
  await spammer.send(spam);
  await expect(mod.message(spam)).toBeVisible();
  // Only an administrator (or the room's moderators) is offered Remove on someone else's message.
  await cy.message(spam).hover();
  await expect(cy.message(spam).getByRole('button', { name: 'Remove message as a moderator' })).toHaveCount(0);

  const line = mod.message(spam);
  await line.hover();
  await line.getByRole('button', { name: 'Remove message as a moderator' }).click();
  await expect(line.getByText('Remove for everyone?')).toBeVisible();
  await line.getByRole('button', { name: 'Remove it' }).click();
  for (const p of [mod, cy, spammer]) {
    await expect(p.messages.getByText('Removed by a moderator')).toBeVisible();
    await expect(p.messages.getByText(spam)).toHaveCount(0);
  }

  // Ban from the people list, with a reason.
  const row = mod.page.getByRole('list', { name: 'Members' }).getByRole('listitem').filter({ hasText: `Spammer-${t}` });
  await row.hover();
  await row.getByRole('button', { name: `Ban Spammer-${t}` }).click();
  await row.getByLabel(`Ban Spammer-${t}? Reason (optional)`).fill('links to a scam');
  const axe = await new AxeBuilder({ page: mod.page }).include('.people')
    .withTags(['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa']).analyze();
  expect(axe.violations.flatMap((v) => v.nodes.map((n) => `${v.id}: ${n.target.join(' ')}`))).toEqual([]);
  await row.getByRole('button', { name: 'Ban', exact: true }).click();
  await expect(mod.page.getByRole('status').filter({ hasText: `Spammer-${t} was banned` })).toBeVisible();

  // The spammer's tab is signed out at once, and signing in again is refused.
  await expect(spammer.page.getByRole('status').filter({ hasText: 'Your session has ended' })).toBeVisible();
  await spammer.signIn(`Spammer-${t}`);
  await expect(spammer.page.getByRole('alert').filter({ hasText: 'this account is banned' })).toBeVisible();

  // Cy chats on, and a regular member is offered no moderation.
  await cy.send(`back to work ${t}`);
  await expect(mod.message(`back to work ${t}`)).toBeVisible();
  const cyRow = cy.page.getByRole('list', { name: 'Members' }).getByRole('listitem').filter({ hasText: 'Mod-Ban' });
  await cyRow.hover();
  await expect(cyRow.getByRole('button', { name: /^Ban / })).toHaveCount(0);
});

// An administrator deletes a room someone else made: its members are moved to the lobby and
// told which moderator deleted it; a non-administrator who did not make it is offered nothing.
test('an administrator deletes a room someone else made', async ({ browser }) => {
  const t = tag();
  const room = `spam-${t}`;
  const spammer = await person(browser, `Spammer-${t}`);
  const cy = await person(browser, `Cy-${t}`);
  await spammer.createRoom(room);
  await cy.joinRoom(room);
  await expect(cy.page.getByRole('button', { name: 'Delete room…' })).toHaveCount(0);
  const mod = await person(browser, 'Mod-Delete');
  await mod.joinRoom(room);

  await mod.page.getByRole('button', { name: 'Delete room…' }).click();
  const dialog = mod.page.getByRole('dialog', { name: `Delete # ${room}?` });
  await dialog.getByRole('button', { name: 'Delete room' }).click();
  await expect(mod.room('# lobby')).toBeVisible();
  for (const p of [spammer, cy]) {
    await expect(p.room('# lobby')).toBeVisible();
    await expect(p.message(`# ${room} was deleted by Mod-Delete.`)).toHaveCount(1);
    await expect(p.sidebar.getByText(`# ${room}`)).toHaveCount(0);
  }
});

// The administration panel: a bot and its token, an incoming webhook whose secret works, a
// promotion, and each of them in the audit log. Nobody else is offered the panel.
test('an administrator makes a bot and a webhook and promotes someone from the panel', async ({ browser, baseURL }) => {
  const t = tag();
  const [room, bot, cyName] = [`ops-${t}`, `Alerts-${t}`, `Cy-${t}`];
  const cy = await person(browser, cyName);
  await expect(cy.sidebar.getByRole('button', { name: 'Administration' })).toHaveCount(0);
  const mod = await person(browser, 'Mod-Panel');
  await mod.createRoom(room);

  await mod.sidebar.getByRole('button', { name: 'Administration' }).click();
  const panel = mod.page.getByRole('complementary', { name: 'Administration' });
  await expect(panel.getByRole('heading', { name: 'Administration' })).toBeFocused();

  await panel.getByLabel('Bot name').fill(bot);
  await panel.getByRole('button', { name: 'Create bot' }).click();
  await expect(panel.getByRole('status')).toHaveText(`Bot ${bot} created.`);
  await expect(panel.getByLabel(`Token for ${bot}: shown only now`)).toHaveValue(/^parley_bot_/);

  await panel.getByLabel('Room').selectOption({ label: `# ${room}` });
  await panel.getByLabel('Posts as (a bot\'s name)').fill(bot);
  await panel.getByRole('button', { name: 'Create webhook' }).click();
  const url = await panel.getByLabel('POST to').inputValue();
  const secret = await panel.getByLabel('with Authorization: Bearer (shown only now)').inputValue();
  expect(url).toMatch(new RegExp(`^${baseURL}/hooks/`));
  const posted = await fetch(url, {
    method: 'POST',
    headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/json' },
    body: JSON.stringify({ text: `disk at 91% on ${t}` }),
  });
  expect(posted.status).toBe(201);
  await expect(mod.message(`disk at 91% on ${t}`).getByText('bot', { exact: true })).toBeVisible();

  await panel.getByLabel('Name', { exact: true }).fill(cyName);
  await panel.getByRole('button', { name: 'Make administrator' }).click();
  await expect(panel.getByRole('status')).toHaveText(`${cyName} is an administrator.`);
  const log = panel.getByRole('list', { name: 'Audit log' });
  // Other tests' administrators act meanwhile: the entry is looked for, not expected first.
  await expect(log.getByRole('listitem').filter({ hasText: `Mod-Panel promote ${cyName.toLowerCase()}` })).toHaveCount(1);
  await expect(log).toContainText(`create webhook ${bot.toLowerCase()}`);
  await expect(log).toContainText(`create bot ${bot.toLowerCase()}`);

  const axe = await new AxeBuilder({ page: mod.page }).include('.admin-panel').analyze();
  expect(axe.violations).toEqual([]);
  await mod.page.keyboard.press('Escape');
  await expect(panel).toHaveCount(0);
});

// A room's creator, who is no administrator, keeps it clean: removes a message, makes a member
// a moderator, who removes a third member; the removed member is told and moved to the lobby.
test("a room's creator moderates it and hands the role on", async ({ browser }) => {
  const t = tag();
  const room = `ops-${t}`;
  const ada = await person(browser, `Ada-${t}`);
  const bob = await person(browser, `Bob-${t}`);
  const cy = await person(browser, `Cy-${t}`);
  await ada.createRoom(room);
  await bob.joinRoom(room);
  await cy.joinRoom(room);
  // Members see who moderates; a member who does not is offered nothing.
  await expect(bob.person(`Ada-${t}`).getByText('mod', { exact: true })).toBeVisible();
  await expect(bob.person(`Cy-${t}`).getByRole('button', { name: `Manage Cy-${t}` })).toHaveCount(0);

  const spam = `buy followers ${t}`;
  await cy.send(spam);
  const line = ada.message(spam);
  await line.hover();
  await line.getByRole('button', { name: 'Remove message as a moderator' }).click();
  await line.getByRole('button', { name: 'Remove it' }).click();
  for (const p of [ada, bob, cy]) {
    await expect(p.messages.getByText('Removed by a moderator')).toBeVisible();
    await expect(p.messages.getByText(spam)).toHaveCount(0);
  }

  await ada.person(`Bob-${t}`).getByRole('button', { name: `Manage Bob-${t}` }).click();
  const axe = await new AxeBuilder({ page: ada.page }).include('.people')
    .withTags(['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa']).analyze();
  expect(axe.violations.flatMap((v) => v.nodes.map((n) => `${v.id}: ${n.target.join(' ')}`))).toEqual([]);
  await ada.person(`Bob-${t}`).getByRole('button', { name: 'Make moderator' }).click();
  await expect(bob.message(`Ada-${t} made you a moderator of this room`)).toBeVisible();
  await expect(cy.person(`Bob-${t}`).getByText('mod', { exact: true })).toBeVisible();

  await bob.person(`Cy-${t}`).getByRole('button', { name: `Manage Cy-${t}` }).click();
  await bob.person(`Cy-${t}`).getByRole('button', { name: `Remove Cy-${t} from the room` }).click();
  await expect(bob.page.getByRole('status').filter({ hasText: `Cy-${t} was removed from the room` })).toBeVisible();
  await expect(cy.room('# lobby')).toBeVisible();
  await expect(cy.message(`Bob-${t} removed you from # ${room}.`)).toBeVisible();
  await expect(ada.person(`Cy-${t}`)).toHaveCount(0);
  // The creator's role cannot be taken, nor the creator removed.
  await expect(bob.person(`Ada-${t}`).getByRole('button', { name: `Manage Ada-${t}` })).toHaveCount(0);
});

// The administration panel shows each server's live figures and who is connected (how and from
// where), and ends one person's session: their tab is signed out on the spot.
test('an administrator sees who is connected and ends a session', async ({ browser }) => {
  const t = tag();
  const eve = await person(browser, `Eve-${t}`);
  const mod = await person(browser, 'Mod-Sessions');
  await mod.sidebar.getByRole('button', { name: 'Administration' }).click();
  const panel = mod.page.getByRole('complementary', { name: 'Administration' });

  const servers = panel.getByRole('list', { name: 'Servers' });
  await expect(servers.getByRole('listitem')).toHaveCount(1);
  await expect(servers.getByRole('term').filter({ hasText: 'Messages per second' })).toBeVisible();
  await expect(servers.getByRole('definition').filter({ hasText: / ms$/ })).toBeVisible();

  const connected = panel.getByRole('list', { name: 'Connections' });
  const row = connected.getByRole('listitem').filter({ hasText: `Eve-${t}` });
  await expect(row).toContainText(/websocket|polling/);
  await expect(row).toContainText('127.0.0.1');
  const axe = await new AxeBuilder({ page: mod.page }).include('.admin-panel').analyze();
  expect(axe.violations).toEqual([]);

  await row.getByRole('button', { name: new RegExp(`^End Eve-${t}'s session`) }).click();
  await expect(panel.getByRole('status')).toHaveText(`Eve-${t}'s session was ended; its tabs are signed out`);
  await expect(eve.page.getByRole('status').filter({ hasText: 'Your session has ended' })).toBeVisible();
  await expect(panel.getByRole('list', { name: 'Audit log' }).getByRole('listitem')
    .filter({ hasText: `Mod-Sessions end session ${`eve-${t}`.toLowerCase()}` })).toHaveCount(1);
});
