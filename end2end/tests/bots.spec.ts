import { test, expect } from './support/test';
import AxeBuilder from '@axe-core/playwright';
import { Bot } from './support/bot';
import { person, tag, unique } from './support/chat-page';

// A script an administrator made a bot for posts with its token; people see it marked as a bot
// in the room's people list and beside each of its messages, and nobody else is.
test('a bot posts with its token and is marked as a bot', async ({ browser, baseURL }) => {
  const t = tag();
  const name = `Deploy-${t}`;
  // The server's --admin (PARLEY_ADMINS in playwright.config.ts) names "Moderator".
  const token = await Bot.create(baseURL!, 'Moderator', name);
  const ada = await person(browser, `Ada-${t}`);
  // The bot's first connection joins it to the lobby while Ada watches.
  const bot = await Bot.withToken(baseURL!, token);
  const row = ada.person(name);
  await expect(row).toBeVisible();
  await expect(row.getByText('bot', { exact: true })).toBeVisible();

  const text = unique('deployed v1.2.3 to production');
  await bot.send('lobby', text);
  const line = ada.message(text);
  await expect(line.getByText(name, { exact: true })).toBeVisible();
  await expect(line.getByText('bot', { exact: true })).toBeVisible();
  // A person's message and a person's row carry no such mark.
  const own = unique('thanks');
  await ada.send(own);
  await expect(ada.message(own)).toBeVisible();
  await expect(ada.message(own).getByText('bot', { exact: true })).toHaveCount(0);
  await expect(ada.person(`Ada-${t}`).getByText('bot', { exact: true })).toHaveCount(0);
  const axe = await new AxeBuilder({ page: ada.page }).include('.messages').include('.people').analyze();
  expect(axe.violations).toEqual([]);
  bot.close();
});
