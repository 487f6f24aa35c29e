import { test, expect } from '@playwright/test';
import { ChatPage, tag } from './support/chat-page';

const PAYLOADS = [
  '<script>window.__xss++</script>',
  '<img src=x onerror="window.__xss++">',
  '<svg onload="window.__xss++"></svg>',
  '"><iframe src="javascript:top.__xss++"></iframe>',
  '<a href="javascript:window.__xss++">click me</a>',
  '<details open ontoggle="window.__xss++">x</details>',
  '{{constructor.constructor(\'window.__xss++\')()}}',
  '<style>@import "javascript:window.__xss++"</style>',
];

test('XSS payloads in messages and names render as text and run nothing', async ({ browser }) => {
  const t = tag().slice(0, 4);
  const open = async (name: string) => {
    const context = await browser.newContext();
    // Counts any script the payloads manage to run, page-wide, from before the page loads.
    await context.addInitScript(() => {
      (window as unknown as { __xss: number }).__xss = 0;
      window.alert = () => {
        (window as unknown as { __xss: number }).__xss += 100;
      };
    });
    const chat = new ChatPage(await context.newPage());
    await chat.join(name);
    return chat;
  };
  // A display name is text too.
  const eve = await open(`<img src=x onerror=alert(1)>${t}`);
  const bob = await open(`Bob-${t}`);

  for (const payload of PAYLOADS) {
    const marked = `${payload} ${t}`;
    await eve.send(marked);
    await expect(bob.message(marked)).toHaveCount(1);
  }
  // Room names with markup are refused outright.
  await eve.page.getByLabel('New room').fill('<b>room</b>');
  await eve.page.getByRole('button', { name: 'Create' }).click();
  await expect(eve.sidebar.getByRole('alert')).toContainText('invalid room name');

  // Reload Bob's page too, so the payloads also pass through server-side rendering.
  await bob.page.reload();
  await expect(bob.message(`${PAYLOADS[0]} ${t}`)).toHaveCount(1);
  for (const chat of [eve, bob]) {
    await expect(chat.messages.locator('script, img, svg, iframe, a, details, style')).toHaveCount(0);
    await expect(chat.page.getByText(`<img src=x onerror=alert(1)>${t}`).first()).toBeVisible();
    expect(await chat.page.evaluate(() => (window as unknown as { __xss: number }).__xss)).toBe(0);
  }
});
