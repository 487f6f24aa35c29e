import { test, expect } from './support/test';
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
    // (Only this test's messages: other tests post links in the lobby at the same time.)
    const ours = chat.messages.getByRole('listitem').filter({ hasText: t });
    await expect(ours.locator('script, img, svg, iframe, a, details, style')).toHaveCount(0);
    await expect(chat.page.getByText(`<img src=x onerror=alert(1)>${t}`).first()).toBeVisible();
    expect(await chat.page.evaluate(() => (window as unknown as { __xss: number }).__xss)).toBe(0);
  }
});

/** Markdown and link attacks: each must end as text or as a link to http(s)/mailto only. */
const MARKDOWN_PAYLOADS = [
  '[click](javascript:window.__xss++)',
  '[click](JaVaScRiPt:window.__xss++)',
  '[click](java\tscript:window.__xss++)',
  '[click](  javascript:window.__xss++  )',
  '[click](data:text/html,<script>window.__xss++</script>)',
  '[click](vbscript:msgbox)',
  '<javascript:window.__xss++>',
  '![x](javascript:window.__xss++)',
  '![x](https://example.com/x.png" onerror="window.__xss++)',
  '[[nested](javascript:window.__xss++)](https://example.com/ok)',
  '[a](https://example.com/ok "title" onmouseover="window.__xss++")',
  '`unbalanced ``backticks` ` and <img src=x onerror=window.__xss++>',
  '```\n<script>window.__xss++</script>\n',
  '**<img src=x onerror=window.__xss++>**',
  '> <svg onload=window.__xss++>',
  `https://example.com/${'a'.repeat(3000)}`,
  `${'['.repeat(500)}x${']'.repeat(500)}(javascript:window.__xss++)`,
  `${'*'.repeat(1000)}x${'*'.repeat(1000)}`,
];

test('Markdown and link attacks render as text or safe links and run nothing', async ({ browser }) => {
  const t = tag().slice(0, 4);
  const context = await browser.newContext();
  await context.addInitScript(() => {
    (window as unknown as { __xss: number }).__xss = 0;
    window.alert = () => {
      (window as unknown as { __xss: number }).__xss += 100;
    };
  });
  const bob = new ChatPage(await context.newPage());
  await bob.join(`Bob-${t}`);
  const eve = new ChatPage(await (await browser.newContext()).newPage());
  await eve.join(`Eve-${t}`);

  for (const [i, payload] of MARKDOWN_PAYLOADS.entries()) {
    const marker = `md${i}-${t}`;
    await eve.send(`${marker} ${payload}`);
    await expect(bob.message(marker)).toHaveCount(1);
  }
  // Reloaded, so every payload also passes through server-side rendering.
  await bob.page.reload();
  await expect(bob.message(`md${MARKDOWN_PAYLOADS.length - 1}-${t}`)).toHaveCount(1);
  const links = await bob.messages.locator('.body a').evaluateAll((as) =>
    as.map((a) => ({ href: a.getAttribute('href') ?? '', rel: a.getAttribute('rel'), target: a.getAttribute('target') })),
  );
  expect(links.length).toBeGreaterThan(0);
  for (const link of links) {
    expect(link.href).toMatch(/^(https?:|mailto:)/i);
    expect(link).toMatchObject({ rel: 'noopener noreferrer', target: '_blank' });
  }
  await expect(bob.messages.locator('.body script, .body img, .body svg, .body iframe, .body [onerror], .body [onload], .body [onmouseover]')).toHaveCount(0);
  // Pointing at every link of the log runs nothing either.
  for (const a of await bob.messages.locator('.body a').all()) await a.hover();
  expect(await bob.page.evaluate(() => (window as unknown as { __xss: number }).__xss)).toBe(0);
  // The raw markup is shown as text.
  await expect(bob.message(`md11-${t}`)).toContainText('<img src=x onerror=window.__xss++>');
});
