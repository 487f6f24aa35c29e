import { spawn, type ChildProcess } from 'node:child_process';
import * as path from 'node:path';
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

// The example bot of examples/bot (the one a developer copies) run as a developer runs it: it
// joins the room with its token and answers a person's command there.
test('the example bot answers a person in a room', async ({ browser, baseURL }) => {
  const t = tag();
  const name = `Helper-${t}`;
  const room = `help-${t}`;
  const token = await Bot.create(baseURL!, 'Moderator', name);
  const ada = await person(browser, `Ada-${t}`);
  await ada.createRoom(room);

  const script = path.join(__dirname, '..', '..', 'examples', 'bot', 'bot.mjs');
  const child = spawn(process.execPath, [script], {
    env: { ...process.env, PARLEY_URL: baseURL!, PARLEY_TOKEN: token, PARLEY_ROOM: room },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  try {
    await ready(child);
    await expect(ada.message(`${name} joined`)).toBeVisible();
    await ada.send('!ping');
    const pong = ada.message(`pong, Ada-${t}`);
    await expect(pong).toBeVisible();
    await expect(pong.getByText('bot', { exact: true })).toBeVisible();
    await ada.send('!echo ship it');
    await expect(ada.messages.locator('.body').filter({ hasText: /^ship it$/ })).toHaveCount(1);
  } finally {
    child.kill('SIGTERM');
  }
});

/** Resolves when the bot prints "ready"; rejects with what it printed if it exits first. */
function ready(child: ChildProcess): Promise<void> {
  return new Promise((resolve, reject) => {
    let output = '';
    const seen = (chunk: Buffer) => {
      output += chunk.toString();
      if (output.includes('ready:')) resolve();
    };
    child.stdout?.on('data', seen);
    child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.on('exit', (code) => reject(new Error(`the example bot exited (${code}): ${output}`)));
  });
}

// What CI or alerting would do: POST JSON to the room's webhook URL with its secret. The room
// shows the bot's message, marked as a bot's, formatted like any other.
test('a webhook post appears in its room as the bot', async ({ browser, baseURL }) => {
  const t = tag();
  const [name, room] = [`CI-${t}`, `builds-${t}`];
  const ada = await person(browser, `Ada-${t}`);
  await ada.createRoom(room);
  const moderator = await Bot.admin(baseURL!, 'Moderator');
  await moderator.request('admin:create_bot', { name });
  const hook = await moderator.request<{ path: string; secret: string }>('admin:create_webhook', {
    room,
    bot: name.toLowerCase(),
  });
  moderator.close();

  const response = await fetch(`${baseURL}${hook.path}`, {
    method: 'POST',
    headers: { authorization: `Bearer ${hook.secret}`, 'content-type': 'application/json' },
    body: JSON.stringify({ text: `build ${t} **passed**` }),
  });
  expect(response.status).toBe(201);
  const line = ada.message(`build ${t} passed`);
  await expect(line).toBeVisible();
  await expect(line.locator('strong')).toHaveText('passed');
  await expect(line.getByText('bot', { exact: true })).toBeVisible();
  const wrong = await fetch(`${baseURL}${hook.path}`, {
    method: 'POST',
    headers: { authorization: 'Bearer parley_hook_wrong', 'content-type': 'application/json' },
    body: JSON.stringify({ text: 'forged' }),
  });
  expect(wrong.status).toBe(401);
});
