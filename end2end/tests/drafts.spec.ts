import { test, expect } from './support/test';
import { ChatPage, person, tag, unique } from './support/chat-page';

test('each room keeps its draft across room switches and a reload', async ({ browser }) => {
  const t = tag();
  const ada = await person(browser, `Ada-${t}`);
  const side = `side-${t}`;
  await ada.createRoom(side);
  await ada.openRoom('# lobby');
  const draft = unique('half a thought');
  await ada.composer.pressSequentially(draft);

  await ada.openRoom(`# ${side}`);
  await expect(ada.composer).toHaveValue('');
  await ada.composer.fill('for the side room');
  await ada.openRoom('# lobby');
  await expect(ada.composer).toHaveValue(draft);

  await ada.page.reload();
  await expect(ada.status).toHaveText('Connected');
  await expect(ada.composer).toHaveValue(draft);
  await ada.openRoom(`# ${side}`);
  await expect(ada.composer).toHaveValue('for the side room');

  // Sending clears the draft for good.
  await ada.composer.press('Enter');
  await expect(ada.message('for the side room')).toHaveCount(1);
  await ada.page.reload();
  await expect(ada.status).toHaveText('Connected');
  await expect(ada.composer).toHaveValue('');
});

test('a message written offline survives closing the tab and is sent exactly once', async ({ browser }) => {
  const t = tag();
  const ada = await person(browser, `Ada-${t}`);
  const bob = await person(browser, `Bob-${t}`);
  const room = `outbox-${t}`;
  await ada.createRoom(room);
  await bob.joinRoom(room);
  await ada.openRoom(`# ${room}`);

  const context = ada.page.context();
  await context.setOffline(true);
  await expect(ada.status).toHaveText('Offline, reconnecting…');
  const offline = unique('written on the train');
  await ada.send(offline);
  await expect(ada.message(offline)).toContainText('sending…');
  // The tab goes away before the connection comes back: only the browser's storage has it.
  await ada.page.close();
  await context.setOffline(false);

  const again = new ChatPage(await context.newPage());
  await again.page.goto(`/?room=${room}`);
  await expect(again.status).toHaveText('Connected');
  await expect(again.message(offline).getByRole('img', { name: 'Sent' })).toBeVisible();
  await expect(bob.message(offline)).toHaveCount(1);

  // Exactly once: a message Bob sends afterwards arrives after it, and nothing doubled.
  const after = unique('welcome back');
  await bob.send(after);
  await expect(again.message(after)).toHaveCount(1);
  await expect(bob.message(offline)).toHaveCount(1);
  await expect(again.message(offline)).toHaveCount(1);
  // And a reload does not send it again.
  await again.page.reload();
  await expect(again.status).toHaveText('Connected');
  await expect(again.message(offline)).toHaveCount(1);
  await expect(again.message(offline).getByRole('img', { name: 'Sent' })).toBeVisible();
});
