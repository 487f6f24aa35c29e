import { test, expect } from './support/test';
import { ChatPage, person, tag, unique } from './support/chat-page';

test('unread counts last across a reload, agree between tabs, and open at a "New messages" divider', async ({ browser }) => {
  const t = tag();
  const [adaName, bobName] = [`Ada-${t}`, `Bob-${t}`];
  const [news, quiet] = [`news-${t}`, `quiet-${t}`];
  const ada = await person(browser, adaName);
  const bob = await person(browser, bobName);

  await bob.createRoom(news);
  await ada.joinRoom(news);
  const old = unique('already seen');
  await bob.send(old);
  await expect(ada.message(old)).toHaveCount(1);

  // Ada looks elsewhere while Bob posts three messages.
  await ada.createRoom(quiet);
  const fresh = [unique('first new'), unique('second new'), unique('third new')];
  for (const text of fresh) await bob.send(text);
  await expect(ada.roomLink(`# ${news}`)).toContainText('3 unread');

  // A reload keeps the count (it comes from the server), and the tab title shows the total.
  await ada.page.reload();
  await expect(ada.status).toHaveText('Connected');
  await expect(ada.roomLink(`# ${news}`)).toContainText('3 unread');
  await expect.poll(async () => Number((await ada.page.title()).match(/^\((\d+)\) Parley$/)?.[1] ?? 0)).toBeGreaterThanOrEqual(3);

  // A second tab of Ada's sees the same count.
  const tab = new ChatPage(await ada.page.context().newPage());
  await tab.page.goto(`/?room=${quiet}`);
  await expect(tab.status).toHaveText('Connected');
  await expect(tab.roomLink(`# ${news}`)).toContainText('3 unread');

  // Opening the room puts the divider right above the first unread message.
  await ada.openRoom(`# ${news}`);
  const divider = ada.messages.getByRole('separator', { name: 'New messages' });
  await expect(divider).toBeVisible();
  const dividerLine = divider.locator('xpath=ancestor::li[1]');
  await expect(dividerLine.locator('xpath=following-sibling::li[1]')).toContainText(fresh[0]);
  await expect(dividerLine.locator('xpath=preceding-sibling::li[1]')).toContainText(old);
  await expect(ada.roomLink(`# ${news}`)).not.toContainText('unread');

  // Read in one tab, read in every tab: the other tab's badge clears live.
  await expect(tab.roomLink(`# ${news}`)).not.toContainText('unread');
  await tab.page.reload();
  await expect(tab.status).toHaveText('Connected');
  await expect(tab.roomLink(`# ${news}`)).not.toContainText('unread');
});
