import { randomUUID } from 'node:crypto';
import { test, expect } from './support/test';
import { Bot } from './support/bot';
import { person, tag } from './support/chat-page';

test('a search finds an old message, opens it in its room with the history around it, and finds a reply in its thread', async ({ browser, baseURL }) => {
  const t = tag();
  const room = `search-${t}`;
  // A word no other test writes: letters only, so it is one word to the search.
  const word = `zq${t.replace(/[^a-z]/g, '')}quokka`;
  const bot = await Bot.connect(baseURL!, `Bot-${t}`);
  await bot.request('room:create', { name: room });
  await bot.send(room, `the ${word} deployment went out <b>bold</b> & fine`);
  // Far enough back that opening the room shows none of it (several history pages).
  for (let i = 0; i < 160; i++) await bot.send(room, `filler ${t} ${i}`);
  const parent = await bot.send(room, `question ${t} about the rollout`);
  await bot.request('message:send', {
    id: randomUUID(),
    room,
    body: `answer ${t} in a thread: the ${word} rollback is ready`,
    thread: (parent as { id: string }).id,
  });

  const bob = await person(browser, `Bob-${t}`);
  await bob.joinRoom(room);
  await expect(bob.message(`filler ${t} 159`)).toBeVisible();
  await expect(bob.message(word)).toHaveCount(0);

  // Searching from the sidebar: both matches, newest first, each with its room and author, the
  // word marked, the message's markup shown as text.
  const box = bob.page.getByRole('searchbox', { name: 'Search messages' });
  await box.fill(word.toUpperCase());
  await box.press('Enter');
  const results = bob.page.getByRole('complementary', { name: /^Results for/ });
  await expect(results.getByRole('status')).toHaveText('2 matches');
  const hits = results.getByRole('listitem');
  await expect(hits).toHaveCount(2);
  await expect(hits.nth(0)).toContainText('in a thread');
  await expect(hits.nth(1)).toContainText(`# ${room}`);
  await expect(hits.nth(1)).toContainText(`Bot-${t}`);
  await expect(hits.nth(1)).toContainText('<b>bold</b> & fine');
  await expect(hits.nth(1).locator('mark')).toHaveText(word);
  await expect(hits.nth(1).locator('b')).toHaveCount(0);

  // Opening the older one: the room scrolls back to it (loading what lies between) and marks it.
  await hits.nth(1).getByRole('button').click();
  await expect(results).toHaveCount(0);
  // The mark lasts 4 s from when the history is in: look for it first, then at the place.
  const found = bob.message(word);
  await expect(found).toHaveClass(/target/);
  await expect(found).toBeInViewport();
  // Everything after it is there, unbroken, down to the newest.
  await expect(bob.message(`filler ${t} 0`)).toHaveCount(1);
  await expect(bob.message(`filler ${t} 80`)).toHaveCount(1);
  // The mark goes after a moment.
  await expect(found).not.toHaveClass(/target/, { timeout: 10_000 });

  // Opening the reply opens its thread beside the question.
  await box.press('Enter');
  await results.getByRole('listitem').nth(0).getByRole('button').click();
  const thread = bob.page.getByRole('complementary', { name: 'Thread' });
  await expect(thread.getByRole('log', { name: 'Replies' })).toContainText(`answer ${t} in a thread`);
  await expect(bob.message(`question ${t} about the rollout`)).toBeInViewport();

  // A filter for a room one is not in is explained, and nothing is searched.
  await box.fill(`${word} in:nowhere-${t}`);
  await box.press('Enter');
  await expect(results.getByRole('status')).toHaveText(`You are in no room called “nowhere-${t}”.`);
  // Narrowed to someone who wrote none of it: nothing.
  await box.fill(`${word} from:nobody-${t}`);
  await box.press('Enter');
  await expect(results.getByRole('status')).toHaveText('No messages match.');
  // Escape closes the results and gives the caret back to the field.
  await results.getByRole('button', { name: 'Close search results' }).focus();
  await bob.page.keyboard.press('Escape');
  await expect(results).toHaveCount(0);
  await expect(box).toBeFocused();
  bot.close();
});
