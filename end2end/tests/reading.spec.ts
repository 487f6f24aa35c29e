import { test, expect } from './support/test';
import { Bot } from './support/bot';
import { person, tag, unique } from './support/chat-page';

test('loading older history raises no "New messages" button, and sending while scrolled up jumps to the bottom', async ({ browser, baseURL }) => {
  const t = tag();
  const room = `reading-${t}`;
  const bot = await Bot.connect(baseURL!, `Bot-${t}`);
  await bot.request('room:create', { name: room });
  for (let i = 0; i < 70; i++) await bot.send(room, `line ${t} ${String(i).padStart(2, '0')}`);
  const bob = await person(browser, `Bob-${t}`);
  await bob.joinRoom(room);
  await expect(bob.message(`line ${t} 69`)).toBeInViewport();

  // Older pages come in above: nothing new arrived, so no jump button. (The button would be
  // raised in the animation frame after the page is drawn: two frames later it would show.)
  const list = bob.messages.locator('ol.messages');
  await list.evaluate((el) => el.scrollTo({ top: 0 }));
  await expect(bob.message(`line ${t} 00`)).toHaveCount(1);
  const frames = () =>
    bob.page.evaluate(() => new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r))));
  await frames();
  const jump = bob.page.getByRole('button', { name: 'New messages ↓' });
  await expect(jump).toHaveCount(0);
  // While scrolled up, a message that does arrive raises it.
  await list.evaluate((el) => el.scrollTo({ top: 0 }));
  await list.dispatchEvent('scroll');
  const fresh = unique('fresh');
  await bot.send(room, fresh);
  await expect(jump).toBeVisible();
  await expect(bob.message(fresh)).not.toBeInViewport();

  // Sending while scrolled up brings one's own message into view.
  const mine = unique('my answer');
  await bob.send(mine);
  await expect(bob.message(mine)).toBeInViewport();
  await expect(jump).toHaveCount(0);
  bot.close();
});

test('the composer grows with its text, Up edits one\'s last message and Escape cancels', async ({ browser }) => {
  const t = tag();
  const ada = await person(browser, `Ada-${t}`);
  const first = await ada.composer.boundingBox();
  await ada.composer.fill(Array.from({ length: 6 }, (_, i) => `line ${i}`).join('\n'));
  const grown = await ada.composer.boundingBox();
  expect(grown!.height).toBeGreaterThan(first!.height * 1.8);
  // Never more than a third of the window.
  await ada.composer.fill(Array.from({ length: 80 }, (_, i) => `line ${i}`).join('\n'));
  const capped = await ada.composer.boundingBox();
  const viewport = ada.page.viewportSize()!;
  expect(capped!.height).toBeLessThanOrEqual(viewport.height / 3 + 1);
  await ada.composer.fill('');

  const text = unique('tpyo');
  await ada.send(text);
  await expect(ada.message(text).getByRole('img', { name: 'Sent' })).toBeVisible();
  await ada.composer.press('ArrowUp');
  // (While editing, the text is in the editor, not in the line's text.)
  const editor = ada.messages.getByLabel('Edit message text');
  await expect(editor).toBeFocused();
  await expect(editor).toHaveValue(text);
  await editor.press('Escape');
  await expect(editor).toHaveCount(0);
  await expect(ada.composer).toBeFocused();
  // And again, this time saving.
  await ada.composer.press('ArrowUp');
  const fixed = unique('typo');
  await editor.fill(fixed);
  await editor.press('Enter');
  await expect(ada.message(fixed)).toContainText('(edited)');
  await expect(ada.composer).toBeFocused();
});
