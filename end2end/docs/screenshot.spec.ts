import { test, expect } from '@playwright/test';
import * as path from 'node:path';
import { randomUUID } from 'node:crypto';
import { Bot } from '../tests/support/bot';
import { ChatPage } from '../tests/support/chat-page';

// A short, believable conversation in a few rooms, then Ada's view of it.
test('screenshots of a conversation', async ({ browser, baseURL }) => {
  const base = baseURL ?? '';
  const grace = await Bot.connect(base, 'Grace');
  const linus = await Bot.connect(base, 'Linus');
  await grace.request('room:create', { name: 'release-train' });
  await linus.request('room:join', { room: 'release-train' });
  await linus.request('room:create', { name: 'design' });
  // Ada exists (and is in the lobby) before she is mentioned.
  const first = new ChatPage(await (await browser.newContext()).newPage());
  await first.join('Ada');
  await first.page.context().close();
  const lines: [Bot, string][] = [
    [grace, 'Morning! The **0.4** branch is cut, release notes are at https://example.com/notes/0.4'],
    [linus, 'Thanks. I will run the upgrade test on a copy of the production database first.'],
    [linus, 'For the record, the dry run:\n```\nparley migrate --database-url postgres://db/parley --dry-run\n```'],
    [grace, 'Good idea: the `room-kinds` migration rebuilds a table.'],
    [linus, 'Done: 41,000 messages, every room kept its members. Upgrade took 0.3 s.'],
    [grace, '@Ada can you check the release notes before we ship after lunch?'],
  ];
  const sent = [];
  for (const [who, text] of lines) sent.push(await who.send('lobby', text));
  // Reactions on the upgrade report, and a short thread under it.
  const report = sent[4].id;
  await grace.request('message:react', { id: report, emoji: '🎉', on: true });
  await grace.request('message:react', { id: report, emoji: '👍', on: true });
  await linus.request('message:react', { id: report, emoji: '👍', on: true });
  await grace.request('message:send', {
    id: randomUUID(), room: 'lobby', body: 'How long did the member counts take?', thread: report,
  });
  await linus.request('message:send', {
    id: randomUUID(), room: 'lobby', body: 'Most of the 0.3 s; the rest is the index rebuild.', thread: report,
  });

  for (const scheme of ['light', 'dark'] as const) {
    for (const width of [1440, 375]) {
      const context = await browser.newContext({
        viewport: { width, height: width > 800 ? 860 : 760 },
        colorScheme: scheme,
      });
      const ada = new ChatPage(await context.newPage());
      await ada.join('Ada');
      await expect(ada.message('ship after lunch')).toHaveCount(1);
      // On a wide screen the thread is open beside the room.
      if (width > 800) {
        await ada.message('Upgrade took').getByRole('button', { name: /^2 replies/ }).click();
        await expect(ada.page.getByRole('log', { name: 'Replies' })).toContainText('index rebuild');
        await ada.composer.focus();
      }
      const file = `${scheme}-${width}.png`;
      await ada.page.screenshot({ path: path.join(__dirname, '..', 'test-results', 'screenshots', file) });
      if (scheme === 'light' && width === 1440) {
        await ada.page.screenshot({ path: path.join(__dirname, '..', '..', 'docs', 'screenshot.png') });
      }
      // A search, and the result it opens (for review only).
      if (width < 800) await ada.page.getByRole('button', { name: /^Rooms/ }).click();
      const box = ada.page.getByRole('searchbox', { name: 'Search messages' });
      await box.fill('release');
      await box.press('Enter');
      const results = ada.page.getByRole('complementary', { name: /^Results for/ });
      await expect(results.getByRole('status')).toHaveText('2 matches');
      const shots = path.join(__dirname, '..', 'test-results', 'screenshots');
      await ada.page.screenshot({ path: path.join(shots, `search-${file}`) });
      await results.getByRole('listitem').nth(1).getByRole('button').click();
      await expect(ada.message('release notes are at')).toHaveClass(/target/);
      await ada.page.screenshot({ path: path.join(shots, `search-opened-${file}`) });
      await context.close();
    }
  }
  grace.close();
  linus.close();
});
