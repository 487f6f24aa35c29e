import { test, expect } from './support/test';
import AxeBuilder from '@axe-core/playwright';
import { ChatPage, person, tag, unique } from './support/chat-page';

/** axe-core's WCAG 2.1 A and AA rules on the whole page; the violations, by rule and element. */
async function violations(p: ChatPage): Promise<string[]> {
  const results = await new AxeBuilder({ page: p.page })
    .withTags(['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'])
    .analyze();
  return results.violations.flatMap((v) => v.nodes.map((n) => `${v.id}: ${n.target.join(' ')}`));
}

for (const colorScheme of ['light', 'dark'] as const) {
  test(`the chat with mentions, reactions, a thread and the @ list passes axe (${colorScheme})`, async ({ browser }) => {
    const t = tag();
    const bobName = `Bob-${t}`;
    await (await person(browser, bobName)).page.context().close();
    const page = await (await browser.newContext({ colorScheme })).newPage();
    const adaView = new ChatPage(page);
    await adaView.join(`Ada-${t}`);

    const text = unique(`@${bobName} a question`);
    await adaView.send(text);
    await adaView.message(text).hover();
    await adaView.message(text).getByRole('button', { name: 'Add reaction' }).click();
    await adaView.message(text).getByRole('button', { name: 'React with done' }).click();
    await expect(adaView.message(text).getByRole('button', { name: 'done: 1' })).toBeVisible();
    await adaView.message(text).getByRole('button', { name: 'Reply in thread' }).click();
    const reply = page.getByRole('complementary', { name: 'Thread' }).getByLabel('Reply', { exact: true });
    await reply.fill('an answer');
    await reply.press('Enter');
    await expect(adaView.message(text).getByRole('button', { name: /^1 reply/ })).toBeVisible();
    // Formatting, a link, a code block, a quote, and a group of two.
    const block = unique('code block');
    await adaView.send(`**Plan** for \`today\`, see https://example.com/plan\n> quoted\n\`\`\`\n${block}\n\`\`\``);
    await adaView.send('and a second line in the same group');
    await expect(adaView.message(block).locator('pre')).toBeVisible();
    // The @ list open in the room's composer.
    await adaView.composer.pressSequentially('@b');
    await expect(page.getByRole('listbox', { name: 'People to mention' })).toBeVisible();

    expect(await violations(adaView)).toEqual([]);
  });
}

for (const colorScheme of ['light', 'dark'] as const) {
  test(`the sign-in page passes axe (${colorScheme})`, async ({ browser }) => {
    const page = await (await browser.newContext({ colorScheme })).newPage();
    await page.goto('/');
    await expect(page.getByRole('button', { name: 'Create an account', exact: true })).toBeEnabled();
    expect(await violations(new ChatPage(page))).toEqual([]);
    // And the registration form, with the password rule beside the field.
    await page.getByRole('button', { name: 'Create an account', exact: true }).click();
    await expect(page.getByRole('button', { name: 'Create account', exact: true })).toBeVisible();
    expect(await violations(new ChatPage(page))).toEqual([]);
  });

  test(`a phone with the rooms panel and the room options open passes axe (${colorScheme})`, async ({ browser }) => {
    const page = await (await browser.newContext({ colorScheme, viewport: { width: 375, height: 812 } })).newPage();
    const chat = new ChatPage(page);
    await chat.join(`Ada-${tag()}`);
    await page.getByRole('button', { name: 'Room options' }).click();
    await expect(page.getByRole('button', { name: 'Mute' })).toBeVisible();
    expect(await violations(chat)).toEqual([]);
    await page.getByRole('button', { name: 'Rooms' }).click();
    await expect(chat.sidebar).toBeVisible();
    expect(await violations(chat)).toEqual([]);
  });
}

for (const colorScheme of ['light', 'dark'] as const) {
  test(`search results and an opened result pass axe (${colorScheme})`, async ({ browser }) => {
    const page = await (await browser.newContext({ colorScheme })).newPage();
    const ada = new ChatPage(page);
    await ada.join(`Ada-${tag()}`);
    const word = `axe${tag().replace(/[^a-z]/g, '')}word`;
    await ada.send(`a **formatted** ${word} with \`code\``);
    await ada.send(`and another ${word}`);
    // Searched once both are stored (the ✓), as a person searching for what they just sent.
    for (const text of [`formatted ${word}`, `another ${word}`]) {
      await expect(ada.message(text).getByRole('img', { name: 'Sent' })).toBeVisible();
    }
    const box = page.getByRole('searchbox', { name: 'Search messages' });
    await box.fill(word);
    await box.press('Enter');
    const results = page.getByRole('complementary', { name: /^Results for/ });
    await expect(results.getByRole('status')).toHaveText('2 matches');
    expect(await violations(ada)).toEqual([]);
    await results.getByRole('listitem').nth(1).getByRole('button').click();
    await expect(ada.message(`formatted ${word}`)).toHaveClass(/target/);
    expect(await violations(ada)).toEqual([]);
  });
}
