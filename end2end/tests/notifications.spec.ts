import { type Page } from '@playwright/test';
import { test, expect } from './support/test';
import { ChatPage, tag, unique } from './support/chat-page';

/**
 * Replaces the Notification API with a recorder (Chromium headless shows none) and lets the
 * test hide and show the page: `document.hidden` follows `window.__hidden`.
 */
const FAKE_NOTIFICATIONS = () => {
  const w = window as unknown as Record<string, unknown>;
  const notes: { title: string; body?: string; tag?: string }[] = [];
  w.__notes = notes;
  class Recorded {
    static permission = 'default';
    static requestPermission() {
      Recorded.permission = 'granted';
      return Promise.resolve('granted');
    }
    onclick: (() => void) | null = null;
    constructor(title: string, options?: { body?: string; tag?: string }) {
      notes.push({ title, body: options?.body, tag: options?.tag });
      w.__last = this;
    }
    close() {}
  }
  w.Notification = Recorded;
  Object.defineProperty(document, 'hidden', { configurable: true, get: () => w.__hidden === true });
};

async function setHidden(page: Page, hidden: boolean) {
  await page.evaluate((h) => {
    (window as unknown as Record<string, unknown>).__hidden = h;
    // As browsers fire it: at the document, bubbling to the window.
    document.dispatchEvent(new Event('visibilitychange', { bubbles: true }));
  }, hidden);
}

const notes = (page: Page) =>
  page.evaluate(() => (window as unknown as { __notes: { title: string; body?: string }[] }).__notes);

test('a hidden page notifies mentions and direct messages, never muted rooms or one\'s own, and a click opens the room', async ({ browser }) => {
  const t = tag();
  const [adaName, bobName] = [`Ada-${t}`, `Bob-${t}`];
  const room = `alerts-${t}`;
  const ada = new ChatPage(await (await browser.newContext()).newPage());
  await ada.join(adaName);
  const context = await browser.newContext({ permissions: ['notifications'] });
  await context.addInitScript(FAKE_NOTIFICATIONS);
  const bob = new ChatPage(await context.newPage());
  await bob.join(bobName);
  await ada.createRoom(room);
  await bob.joinRoom(room);
  await bob.openRoom('# lobby');

  // Nothing is asked on load; the visible control asks, and then goes away.
  const turnOn = bob.page.getByRole('button', { name: 'Turn on notifications' });
  await expect(turnOn).toBeVisible();
  await turnOn.click();
  await expect(turnOn).toBeHidden();

  await setHidden(bob.page, true);
  // A plain message notifies nothing; a mention of Bob does.
  await ada.openRoom(`# ${room}`);
  await ada.send(unique('plain news'));
  const mention = unique(`@${bobName} look`);
  await ada.send(mention);
  await expect.poll(() => notes(bob.page)).toHaveLength(1);
  expect((await notes(bob.page))[0]).toMatchObject({ title: `${adaName} in # ${room}`, body: mention });

  // Bob mutes the room: a mention there is silent, a direct message is not.
  await setHidden(bob.page, false);
  await bob.openRoom(`# ${room}`);
  await bob.room(`# ${room}`).getByRole('button', { name: 'Mute' }).click();
  await expect(bob.room(`# ${room}`).getByRole('button', { name: 'Muted' })).toHaveAttribute('aria-pressed', 'true');
  await bob.openRoom('# lobby');
  await setHidden(bob.page, true);
  await ada.send(unique(`@${bobName} muted`));
  await expect(bob.roomLink(`# ${room}`)).toContainText('@1 mentions');
  // Bob's own message (from another tab) notifies nothing either.
  const bobTab = new ChatPage(await context.newPage());
  await bobTab.page.goto('/');
  await expect(bobTab.status).toHaveText('Connected');
  await bobTab.page.getByRole('button', { name: `Message ${adaName}` }).click();
  await expect(bobTab.room(adaName)).toBeVisible();
  await bobTab.send(unique('from my other tab'));
  // Ada's direct message is the later event that proves the others would have arrived by now.
  await ada.page.getByRole('button', { name: `Message ${bobName}` }).click();
  await expect(ada.room(bobName)).toBeVisible();
  const direct = unique('a direct word');
  await ada.send(direct);
  await expect.poll(async () => (await notes(bob.page)).map((n) => n.body)).toContain(direct);
  expect((await notes(bob.page)).map((n) => n.title)).toEqual([`${adaName} in # ${room}`, adaName]);

  // Clicking the notification opens the conversation.
  await bob.page.evaluate(() => (window as unknown as { __last: { onclick: () => void } }).__last.onclick());
  await expect(bob.room(adaName)).toBeVisible();
  await expect(bob.message(direct)).toBeVisible();
});
