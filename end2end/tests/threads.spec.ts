import { test, expect } from './support/test';
import { person, tag, unique, type ChatPage } from './support/chat-page';

const thread = (p: ChatPage) => p.page.getByRole('complementary', { name: 'Thread' });
const replies = (p: ChatPage) => thread(p).getByRole('log', { name: 'Replies' });

test('a thread between two people while a third watches the reply count, across a reconnect', async ({ browser }) => {
  const t = tag();
  const [adaName, bobName, cyName] = [`Ada-${t}`, `Bob-${t}`, `Cy-${t}`];
  const room = `threads-${t}`;
  const ada = await person(browser, adaName);
  const bob = await person(browser, bobName);
  const cy = await person(browser, cyName);
  await ada.createRoom(room);
  await bob.joinRoom(room);
  await cy.joinRoom(room);
  const question = unique('should we ship on Friday?');
  await ada.send(question);
  await expect(bob.message(question)).toHaveCount(1);

  // Bob replies in a thread: the panel shows the question and puts the caret in its composer.
  await bob.message(question).hover();
  await bob.message(question).getByRole('button', { name: 'Reply in thread' }).click();
  await expect(thread(bob)).toBeVisible();
  await expect(replies(bob)).toContainText(question);
  const reply = thread(bob).getByLabel('Reply', { exact: true });
  await expect(reply).toBeFocused();
  const first = unique('only if the tests are green');
  await reply.fill(first);
  await reply.press('Enter');
  await expect(replies(bob).getByRole('listitem').filter({ hasText: first })).toHaveCount(1);

  // The room shows the count on the question, not the reply itself.
  for (const p of [ada, cy]) {
    await expect(p.message(question).getByRole('button', { name: /^1 reply/ })).toBeVisible();
    await expect(p.message(first)).toHaveCount(0);
  }

  // Ada opens it from the count and answers; Cy sees two.
  await ada.message(question).getByRole('button', { name: /^1 reply/ }).click();
  await expect(replies(ada).getByRole('listitem').filter({ hasText: first })).toHaveCount(1);
  const second = unique('they are');
  const adaReply = thread(ada).getByLabel('Reply', { exact: true });
  await adaReply.fill(second);
  await adaReply.press('Enter');
  await expect(replies(bob).getByRole('listitem').filter({ hasText: second })).toHaveCount(1);
  await expect(cy.message(question).getByRole('button', { name: /^2 replies/ })).toBeVisible();

  // An edit reaches the other side of the thread.
  const mine = replies(bob).getByRole('listitem').filter({ hasText: first });
  await mine.hover();
  await mine.getByRole('button', { name: 'Edit message' }).click();
  const edited = unique('only if CI is green');
  await thread(bob).getByLabel('Edit message text').fill(edited);
  await thread(bob).getByLabel('Edit message text').press('Enter');
  await expect(replies(ada).getByRole('listitem').filter({ hasText: edited })).toContainText('(edited)');

  // Bob goes offline and replies: sent once when he is back, never doubled.
  await bob.page.context().setOffline(true);
  await expect(bob.status).toHaveText('Offline, reconnecting…');
  const offline = unique('from the train');
  await reply.fill(offline);
  await reply.press('Enter');
  await expect(replies(bob).getByRole('listitem').filter({ hasText: offline })).toContainText('sending…');
  await bob.page.context().setOffline(false);
  await expect(bob.status).toHaveText('Connected');
  await expect(replies(ada).getByRole('listitem').filter({ hasText: offline })).toHaveCount(1);
  await expect(cy.message(question).getByRole('button', { name: /^3 replies/ })).toBeVisible();
  // A later reply proves nothing else is on its way.
  const later = unique('see you then');
  await adaReply.fill(later);
  await adaReply.press('Enter');
  await expect(replies(bob).getByRole('listitem').filter({ hasText: later })).toHaveCount(1);
  await expect(replies(bob).getByRole('listitem').filter({ hasText: offline })).toHaveCount(1);
  await expect(cy.message(question).getByRole('button', { name: /^4 replies/ })).toBeVisible();

  // Escape closes the thread and gives the room's composer the caret back.
  await adaReply.press('Escape');
  await expect(thread(ada)).toBeHidden();
  await expect(ada.composer).toBeFocused();
});

test('on a phone the thread takes the whole screen', async ({ browser }) => {
  const t = tag();
  const ada = await person(browser, `Ada-${t}`);
  await ada.page.setViewportSize({ width: 375, height: 812 });
  const question = unique('phone question');
  await ada.send(question);
  await ada.message(question).getByRole('button', { name: 'Reply in thread' }).click();
  await expect(thread(ada)).toBeVisible();
  const box = await thread(ada).boundingBox();
  expect(box?.width).toBe(375);
  await thread(ada).getByRole('button', { name: 'Close thread' }).click();
  await expect(thread(ada)).toBeHidden();
  await expect(ada.message(question)).toBeVisible();
});
