import { test, expect } from './support/test';
import { ChatPage, person, unique } from './support/chat-page';

for (const mode of ['default', 'polling'] as const) {
  test(`two people exchange messages (${mode} transport)`, async ({ browser }) => {
    const query = mode === 'polling' ? '?transport=polling' : '';
    const sockets: string[] = [];
    const ada = await person(browser, 'Ada', query, sockets);
    const bob = await person(browser, 'Bob', query, sockets);

    const hello = unique('hello from Ada');
    await ada.send(hello);
    // Bob sees it, with its author.
    await expect(bob.message(hello)).toHaveCount(1);
    await expect(bob.message(hello).getByText('Ada', { exact: true })).toBeVisible();
    // Ada's own copy is confirmed by the server's ack.
    await expect(ada.message(hello).getByRole('img', { name: 'Sent' })).toBeVisible();
    await expect(ada.composer).toHaveValue('');

    const reply = unique('hi Ada');
    await bob.send(reply);
    await expect(ada.message(reply)).toHaveCount(1);
    // By the time Bob's later message arrived, a duplicate of Ada's would have too.
    await expect(ada.message(hello)).toHaveCount(1);
    await expect(bob.message(reply)).toHaveCount(1);

    if (mode === 'polling') {
      expect(sockets, 'no WebSocket is opened when polling is forced').toEqual([]);
    } else {
      expect(sockets.length, 'both clients upgraded to a WebSocket').toBeGreaterThanOrEqual(2);
    }
  });
}

test('the default transport upgrades to a WebSocket', async ({ browser }) => {
  const context = await browser.newContext();
  const page = await context.newPage();
  const upgraded = page.waitForEvent('websocket', (ws) => ws.url().includes('/socket.io/'));
  await new ChatPage(page).join('Cy');
  expect((await upgraded).url()).toContain('transport=websocket');
});

test('markup in a message is shown as text', async ({ browser }) => {
  const ada = await person(browser, 'Ada');
  const bob = await person(browser, 'Bob');
  const marker = unique('tag');
  const markup = `<img src=x onerror="window.__pwned=1"><b>${marker}</b>`;
  await ada.send(markup);
  await expect(bob.message(marker)).toContainText(markup);
  await expect(bob.messages.locator('b, img')).toHaveCount(0);
  expect(await bob.page.evaluate(() => (window as unknown as { __pwned?: number }).__pwned)).toBeUndefined();
});

test('Shift+Enter adds a line instead of sending', async ({ browser }) => {
  const ada = await person(browser, 'Ada');
  await ada.composer.fill('first line');
  await ada.composer.press('Shift+Enter');
  await ada.composer.pressSequentially('second line');
  await expect(ada.composer).toHaveValue('first line\nsecond line');
  await ada.composer.press('Enter');
  await expect(ada.composer).toHaveValue('');
  await expect(ada.message('first line')).toContainText('second line');
});

test('an invalid name or a short password is explained and nothing connects', async ({ page }) => {
  await page.goto('/');
  const chat = new ChatPage(page);
  const createLink = page.getByRole('button', { name: 'Create an account', exact: true });
  await expect(createLink).toBeEnabled();
  await createLink.click();
  const create = page.getByRole('button', { name: 'Create account', exact: true });
  await chat.fillCredentials('x'.repeat(33), 'long enough');
  await create.click();
  await expect(page.getByRole('alert')).toContainText('longer than 32 characters');
  await expect(page.getByLabel('Name', { exact: true })).toHaveAttribute('aria-invalid', 'true');
  await expect(page.getByLabel('Password', { exact: true })).toHaveAttribute('aria-invalid', 'false');
  await chat.fillCredentials('Shorty', 'abc');
  // The browser's own check (minlength) is bypassed to see the server's answer.
  await page.getByLabel('Password', { exact: true }).evaluate((el) => el.removeAttribute('minlength'));
  await create.click();
  await expect(page.getByRole('alert')).toContainText('a password needs 8 to 128 characters');
  // The refusal points at the field it is about.
  await expect(page.getByLabel('Password', { exact: true })).toHaveAttribute('aria-invalid', 'true');
  await expect(page.getByLabel('Name', { exact: true })).toHaveAttribute('aria-invalid', 'false');
  await expect(page.getByRole('log', { name: 'Messages' })).toHaveCount(0);
});
