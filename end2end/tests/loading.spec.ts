import { test, expect } from './support/test';
import { ChatPage, tag, unique } from './support/chat-page';

// The sign-in page carries only what signing in needs; the chat (its WASM module and the
// Socket.IO client) comes when someone is about to use it. A page the server rendered signed
// in loads both before it hydrates, so it is interactive at once.

/** Paths of the scripts and WASM modules the page requested, in order. */
function watchLoads(page: import('@playwright/test').Page): string[] {
  const loads: string[] = [];
  page.on('request', (request) => {
    const path = new URL(request.url()).pathname;
    if (path.endsWith('.wasm') || path.endsWith('.js')) loads.push(path);
  });
  return loads;
}

const chatModule = (path: string) => /^\/pkg\/split_chat_view_.*\.wasm$/.test(path);
const socketClient = (path: string) => path === '/vendor/socket.io.min.js';

test('the sign-in page loads without the chat, which arrives while the form is filled in', async ({ browser }) => {
  const context = await browser.newContext();
  const page = await context.newPage();
  const loads = watchLoads(page);
  const chat = new ChatPage(page);

  await page.goto('/');
  const create = page.getByRole('button', { name: 'Create an account', exact: true });
  await expect(create).toBeEnabled();
  // Hydrated: everything the page needed has been requested by now.
  expect(loads).toContain('/pkg/parley.wasm');
  expect(loads.filter(chatModule), 'the chat module waits').toEqual([]);
  expect(loads.filter(socketClient), 'the Socket.IO client waits').toEqual([]);

  // Starting to fill in the form fetches the chat's module in the background.
  const moduleLoaded = page.waitForResponse((r) => chatModule(new URL(r.url()).pathname));
  await page.getByLabel('Name', { exact: true }).focus();
  const module = await moduleLoaded;
  expect(module.status()).toBe(200);
  expect(module.headers()['content-type']).toBe('application/wasm');

  await chat.signUpOrIn(`Lea-${tag()}`);
  expect(loads.filter(socketClient)).toHaveLength(1);
  const hello = unique('first words');
  await chat.send(hello);
  await expect(chat.message(hello).getByRole('img', { name: 'Sent' })).toBeVisible();
  await context.close();
});

test('a signed-in page fetches the chat beside the first module and hydrates with it', async ({ browser }) => {
  const context = await browser.newContext();
  const page = await context.newPage();
  const chat = new ChatPage(page);
  await chat.join(`Mo-${tag()}`);
  const said = unique('before the reload');
  await chat.send(said);
  await expect(chat.message(said).getByRole('img', { name: 'Sent' })).toBeVisible();

  const loads = watchLoads(page);
  await page.reload();
  // The server's HTML already shows the history; the WASM then takes it over in place.
  await expect(chat.message(said)).toBeVisible();
  await expect(chat.status).toHaveText('Connected');
  expect(loads.filter(chatModule)).toHaveLength(1);
  expect(loads.filter(socketClient)).toHaveLength(1);
  // The HTML asks for the Socket.IO client at once, beside the first module.
  const html = await (await page.request.get('/')).text();
  expect(html).toMatch(/<link[^>]*rel="preload"[^>]*href="\/vendor\/socket\.io\.min\.js"|<link[^>]*href="\/vendor\/socket\.io\.min\.js"[^>]*rel="preload"/);
  // Hydrated in place, not painted twice: one message box, and it takes input.
  await expect(chat.composer).toHaveCount(1);
  const after = unique('after the reload');
  await chat.send(after);
  await expect(chat.message(after).getByRole('img', { name: 'Sent' })).toBeVisible();
  await expect(chat.message(said)).toHaveCount(1);
  await context.close();
});
