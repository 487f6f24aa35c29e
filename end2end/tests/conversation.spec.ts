import { type Browser, type BrowserContextOptions } from '@playwright/test';
import { test, expect } from './support/test';
import { Bot } from './support/bot';
import { ChatPage, tag, unique } from './support/chat-page';

const DAY = 86_400_000;

/** Someone signed in in a context of their own (a locale, a time zone, a clock ahead). */
async function reader(browser: Browser, name: string, options: BrowserContextOptions = {}, aheadMs = 0) {
  const context = await browser.newContext(options);
  const page = await context.newPage();
  if (aheadMs) await page.clock.setFixedTime(Date.now() + aheadMs);
  const chat = new ChatPage(page);
  await chat.join(name);
  return chat;
}

test('Markdown is formatted as elements, links are safe, and long messages fold', async ({ browser }) => {
  const t = tag();
  const ada = await reader(browser, `Ada-${t}`);
  const bob = await reader(browser, `Bob-${t}`);
  const text = unique('fmt');
  await ada.send(
    `**bold ${text}** *italic* ~~gone~~ \`inline code\` see https://example.com/a?b=1 or [the docs](https://example.com/docs)\n` +
      '> a quote\n\n```\nfn main() {\n    println!("hi");\n}\n```',
  );
  const msg = bob.message(text);
  await expect(msg.locator('strong')).toHaveText(`bold ${text}`);
  await expect(msg.locator('em')).toHaveText('italic');
  await expect(msg.locator('s')).toHaveText('gone');
  await expect(msg.locator('p code')).toHaveText('inline code');
  await expect(msg.locator('blockquote')).toHaveText('a quote');
  // A code block keeps its lines and indentation, in monospace.
  await expect(msg.locator('pre code')).toHaveText('fn main() {\n    println!("hi");\n}');
  expect(await msg.locator('pre').evaluate((el) => getComputedStyle(el).fontFamily)).toMatch(/mono/i);
  const bare = msg.getByRole('link', { name: 'https://example.com/a?b=1' });
  await expect(bare).toHaveAttribute('href', 'https://example.com/a?b=1');
  await expect(bare).toHaveAttribute('target', '_blank');
  await expect(bare).toHaveAttribute('rel', 'noopener noreferrer');
  // `[words](url)` is outside the subset: the address in it is still a link.
  await expect(msg.getByRole('link', { name: 'https://example.com/docs' })).toHaveAttribute('href', 'https://example.com/docs');

  // Forty lines fold after about fifteen behind "Show more".
  const long = unique('long');
  await ada.send(Array.from({ length: 40 }, (_, i) => `line ${i} ${long}`).join('\n'));
  const longMsg = bob.message(`line 0 ${long}`);
  const more = longMsg.getByRole('button', { name: 'Show more' });
  await expect(more).toBeVisible();
  const body = longMsg.locator('.body');
  const lineHeight = await body.evaluate((el) => parseFloat(getComputedStyle(el).lineHeight));
  const folded = (await body.boundingBox())!.height;
  expect(folded).toBeGreaterThan(10 * lineHeight);
  expect(folded).toBeLessThan(17 * lineHeight);
  await more.click();
  await expect(longMsg.getByRole('button', { name: 'Show less' })).toHaveAttribute('aria-expanded', 'true');
  expect((await body.boundingBox())!.height).toBeGreaterThan(folded * 2);
  // A short message gets no button.
  await expect(bob.message(text).getByRole('button', { name: 'Show more' })).toHaveCount(0);
});

test('consecutive messages from one person form a group with one name and avatar', async ({ browser }) => {
  const t = tag();
  const adaName = `Ada Lovelace-${t}`;
  const ada = await reader(browser, adaName);
  const bob = await reader(browser, `Bob-${t}`);
  // A room of their own: other tests talk in the lobby at the same time.
  await ada.createRoom(`group-${t}`);
  await bob.joinRoom(`group-${t}`);
  await expect(ada.message(`Bob-${t} joined`)).toHaveCount(1);
  const lines = [unique('g1'), unique('g2'), unique('g3')];
  for (const line of lines) await ada.send(line);
  await bob.send(unique('bob breaks the group'));
  const after = unique('g4');
  await ada.send(after);

  await expect(bob.message(after)).toHaveCount(1);
  const items = lines.map((l) => bob.message(l));
  // The first of the group shows the name and the initials; the others neither.
  await expect(items[0].locator('.author')).toBeVisible();
  await expect(items[0].locator('.avatar')).toHaveText('AL');
  for (const item of items.slice(1)) {
    await expect(item.locator('.avatar')).toHaveCount(0);
    expect((await item.locator('.author').boundingBox())!.width).toBeLessThanOrEqual(1);
    // Screen readers still hear who wrote it.
    await expect(item.locator('.author')).toHaveText(adaName);
  }
  // After Bob spoke, Ada's next message starts a group again, with the same colour.
  await expect(bob.message(after).locator('.avatar')).toHaveText('AL');
  const colour = (l: string) => bob.message(l).locator('.avatar').evaluate((el) => getComputedStyle(el).backgroundColor);
  expect(await colour(after)).toBe(await colour(lines[0]));
  // The compact lines show their time on hover.
  const time = items[1].locator('.gutter time');
  await expect(time).toBeHidden();
  await items[1].hover();
  await expect(time).toBeVisible();
});

test('days are separated, in the reader\'s locale and time zone, with the full date on the time', async ({ browser }) => {
  const t = tag();
  const ada = await reader(browser, `Ada-${t}`, { locale: 'en-US', timezoneId: 'UTC' });
  const text = unique('dated');
  await ada.send(text);
  await expect(ada.messages.getByRole('separator', { name: 'Today' })).toBeVisible();
  const time = ada.message(text).locator('time').first();
  const iso = await time.getAttribute('datetime');
  expect(iso).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
  const sent = new Date(iso!);
  const full = new Intl.DateTimeFormat('en-US', { dateStyle: 'full', timeStyle: 'short', timeZone: 'UTC' }).format(sent);
  await expect(time).toHaveAttribute('title', full);

  // The next day, the same message is yesterday's.
  const tomorrow = await reader(browser, `Bob-${t}`, { locale: 'en-US', timezoneId: 'UTC' }, DAY);
  await expect(tomorrow.messages.getByRole('separator', { name: 'Yesterday' })).toBeVisible();
  await expect(tomorrow.message(text)).toHaveCount(1);

  // Three days on, in German and in Tokyo: the date in that locale, in that zone.
  const later = await reader(browser, `Cy-${t}`, { locale: 'de-DE', timezoneId: 'Asia/Tokyo' }, 3 * DAY);
  const label = new Intl.DateTimeFormat('de-DE', { weekday: 'long', month: 'long', day: 'numeric', timeZone: 'Asia/Tokyo' }).format(sent);
  await expect(later.messages.getByRole('separator', { name: label })).toBeVisible();
  const clock = new Intl.DateTimeFormat('en-GB', { hour: '2-digit', minute: '2-digit', timeZone: 'Asia/Tokyo' }).format(sent);
  await expect(later.message(text).locator('time').first()).toHaveText(clock);
});

test('"You joined" stands after the messages written before the join', async ({ browser, baseURL }) => {
  const t = tag();
  const room = `hist-${t}`;
  const bot = await Bot.connect(baseURL!, `Ada-${t}`);
  await bot.request('room:create', { name: room });
  const before = unique('before the join');
  await bot.send(room, before);
  const bob = await reader(browser, `Bob-${t}`);
  await bob.joinRoom(room);
  await expect(bob.message(before)).toHaveCount(1);
  const after = unique('after the join');
  await bot.send(room, after);
  await expect(bob.message(after)).toHaveCount(1);
  const order = await bob.messages.getByRole('listitem').allInnerTexts();
  const at = (needle: string) => order.findIndex((line) => line.includes(needle));
  expect(at(before)).toBeGreaterThan(-1);
  expect(at(before)).toBeLessThan(at('You joined'));
  expect(at('You joined')).toBeLessThan(at(after));
  bot.close();
});
