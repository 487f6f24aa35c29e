import { test, expect } from './support/test';
import { ChatPage, passwordOf, person, tag, unique } from './support/chat-page';

test('create an account, sign out, and sign back in', async ({ browser }) => {
  const name = `Dee-${tag()}`;
  const context = await browser.newContext();
  const chat = new ChatPage(await context.newPage());
  await chat.join(name);
  await expect(chat.page.getByText(`Signed in as ${name}`)).toBeVisible();

  // The session survives a reload (the server renders the chat straight away) and page
  // scripts cannot read it.
  await chat.page.reload();
  await expect(chat.status).toHaveText('Connected');
  expect(await chat.page.evaluate(() => document.cookie)).not.toContain('parley_session');
  const [cookie] = (await context.cookies()).filter((c) => c.name === 'parley_session');
  expect(cookie.httpOnly).toBe(true);
  expect(cookie.sameSite).toBe('Lax');

  await chat.page.getByRole('button', { name: 'Sign out' }).click();
  await expect(chat.page.getByRole('heading', { name: 'Sign in to Parley' })).toBeVisible();
  await chat.page.reload();
  await expect(chat.page.getByRole('heading', { name: 'Sign in to Parley' })).toBeVisible();
  expect((await context.cookies()).filter((c) => c.name === 'parley_session')).toHaveLength(0);

  await expect(chat.page.getByRole('button', { name: 'Sign in', exact: true })).toBeEnabled();
  await chat.signIn(name, 'not my password');
  await expect(chat.page.getByRole('alert')).toContainText('wrong name or password');
  await chat.signIn(name, passwordOf(name));
  await expect(chat.status).toHaveText('Connected');
  const hello = unique('back again');
  await chat.send(hello);
  await expect(chat.message(hello).getByRole('img', { name: 'Sent' })).toBeVisible();
});

test('signing out in one tab sends the other tab to the sign-in form, and it recovers', async ({ browser }) => {
  const name = `Eli-${tag()}`;
  const context = await browser.newContext();
  const first = new ChatPage(await context.newPage());
  await first.join(name);
  // The second tab shares the browser's session.
  const second = new ChatPage(await context.newPage());
  await second.page.goto('/');
  await expect(second.status).toHaveText('Connected');

  await second.page.getByRole('button', { name: 'Sign out' }).click();
  // The server closed the first tab's connection; its retry is refused ("please sign in").
  await expect(first.page.getByRole('status').filter({ hasText: 'Your session has ended' })).toBeVisible();
  await expect(first.page.getByRole('heading', { name: 'Sign in to Parley' })).toBeVisible();

  await first.signIn(name);
  await expect(first.status).toHaveText('Connected');
  const line = unique('recovered');
  await first.send(line);
  await expect(first.message(line).getByRole('img', { name: 'Sent' })).toBeVisible();
});

test('a private room is invisible to others until a member invites them', async ({ browser }) => {
  const t = tag();
  const ada = await person(browser, `Ada-${t}`);
  const bob = await person(browser, `Bob-${t}`);
  const room = `hush-${t}`;
  await ada.createRoom(room, { private: true });
  // A public room created after it reaches Bob; news of the private one would have come first.
  const open = `open-${t}`;
  await ada.createRoom(open);
  await expect(bob.sidebar.getByRole('button', { name: `Join # ${open}` })).toBeVisible();
  await expect(bob.sidebar).not.toContainText(room);
  await ada.openRoom(`🔒 ${room}`);

  await ada.page.getByLabel('Invite someone').fill(`Bob-${t}`);
  await ada.page.getByRole('button', { name: 'Invite', exact: true }).click();
  await expect(ada.person(`Bob-${t}`)).toBeVisible();
  // Bob's sidebar lists it under his rooms, without a Join button.
  await expect(bob.roomLink(`🔒 ${room}`)).toBeVisible();
  const secret = unique('just us');
  await ada.send(secret);
  await bob.openRoom(`🔒 ${room}`);
  await expect(bob.message(secret)).toHaveCount(1);
});
