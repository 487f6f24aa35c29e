import { test, expect } from './support/test';
import { ChatPage, person, tag, unique } from './support/chat-page';

test('a skip link, one tab stop per message, and the actions along it by arrow keys', async ({ browser }) => {
  const ada = await person(browser, `Ada-${tag()}`);
  const page = ada.page;
  const lines = [unique('k1'), unique('k2'), unique('k3')];
  for (const line of lines) await ada.send(line);
  await expect(ada.message(lines[2]).getByRole('img', { name: 'Sent' })).toBeVisible();

  // The first Tab of the page reaches the skip link; it puts the caret in the composer.
  // From the top of the page (where a fresh load starts tabbing):
  await page.evaluate(() => {
    document.body.tabIndex = -1;
    document.body.focus();
  });
  await page.keyboard.press('Tab');
  const skip = page.getByRole('link', { name: 'Skip to the message box' });
  await expect(skip).toBeFocused();
  await expect(skip).toBeInViewport();
  await page.keyboard.press('Enter');
  await expect(ada.composer).toBeFocused();

  // Each message is one tab stop: from one message's actions, Tab goes to the next message's.
  const bar = (line: string) => ada.message(line).getByRole('toolbar', { name: 'Message actions' });
  await bar(lines[0]).getByRole('button', { name: 'Add reaction' }).focus();
  await page.keyboard.press('Tab');
  await expect(bar(lines[1]).getByRole('button', { name: 'Add reaction' })).toBeFocused();
  // The arrow keys move along the bar, and the bar remembers where it was left.
  await page.keyboard.press('ArrowRight');
  await expect(bar(lines[1]).getByRole('button', { name: 'Reply in thread' })).toBeFocused();
  await page.keyboard.press('ArrowRight');
  await expect(bar(lines[1]).getByRole('button', { name: 'Edit message' })).toBeFocused();
  await page.keyboard.press('Shift+Tab');
  await page.keyboard.press('Tab');
  await expect(bar(lines[1]).getByRole('button', { name: 'Edit message' })).toBeFocused();
  await page.keyboard.press('End');
  await expect(bar(lines[1]).getByRole('button', { name: 'Delete message' })).toBeFocused();
  await page.keyboard.press('ArrowRight');
  await expect(bar(lines[1]).getByRole('button', { name: 'Add reaction' })).toBeFocused();
  await page.keyboard.press('ArrowLeft');
  await expect(bar(lines[1]).getByRole('button', { name: 'Delete message' })).toBeFocused();
  // Enter on an action does it.
  await page.keyboard.press('Home');
  await page.keyboard.press('Enter');
  await expect(ada.message(lines[1]).getByRole('group', { name: 'Pick a reaction' })).toBeVisible();
});

test('Alt+arrows move between rooms and Ctrl+K jumps to one by name', async ({ browser }) => {
  const t = tag();
  const ada = await person(browser, `Ada-${t}`);
  const page = ada.page;
  await ada.createRoom(`alpha-${t}`);
  await ada.createRoom(`beta-${t}`);
  // Sidebar order: alpha, beta, lobby (by name).
  await ada.openRoom(`# alpha-${t}`);
  await page.keyboard.press('Alt+ArrowDown');
  await expect(ada.room(`# beta-${t}`)).toBeVisible();
  await expect(ada.composer).toBeFocused();
  await page.keyboard.press('Alt+ArrowUp');
  await expect(ada.room(`# alpha-${t}`)).toBeVisible();
  await page.keyboard.press('Alt+ArrowUp');
  await expect(ada.room('# lobby')).toBeVisible();

  // Ctrl+K: type part of a name, Enter opens the first match, the caret goes to the composer.
  await page.keyboard.press('Control+k');
  const dialog = page.getByRole('dialog', { name: 'Jump to a room' });
  await expect(dialog).toBeVisible();
  const field = dialog.getByRole('combobox', { name: 'Room or person' });
  await expect(field).toBeFocused();
  await field.fill(`bet`);
  await expect(dialog.getByRole('option')).toHaveText([`# beta-${t}`]);
  await field.press('Enter');
  await expect(dialog).toBeHidden();
  await expect(ada.room(`# beta-${t}`)).toBeVisible();
  await expect(ada.composer).toBeFocused();

  // A public room one is not in is offered to join; the arrow keys pick among matches.
  const bob = await person(browser, `Bob-${t}`);
  await page.keyboard.press('Control+k');
  await field.fill(`-${t}`);
  await expect(dialog.getByRole('option')).toHaveCount(2);
  await bob.page.keyboard.press('Control+k');
  const bobField = bob.page.getByRole('combobox', { name: 'Room or person' });
  await bobField.fill(`alpha-${t}`);
  await expect(bob.page.getByRole('option', { name: `# alpha-${t} Join` })).toBeVisible();
  await bobField.press('Enter');
  await expect(bob.room(`# alpha-${t}`)).toBeVisible();
  // Ada's list is still open: down twice wraps back to the first match.
  await field.press('ArrowDown');
  await field.press('ArrowDown');
  await field.press('Enter');
  await expect(ada.room(`# alpha-${t}`)).toBeVisible();
  // Escape closes it without moving.
  await page.keyboard.press('Control+k');
  await page.keyboard.press('Escape');
  await expect(dialog).toBeHidden();
  await expect(ada.room(`# alpha-${t}`)).toBeVisible();
});

test('the connection state takes a row only when not connected', async ({ browser }) => {
  const ada = await person(browser, `Ada-${tag()}`);
  // Connected: said to screen readers, not drawn.
  await expect(ada.status).toHaveText('Connected');
  expect((await ada.status.boundingBox())!.height).toBeLessThanOrEqual(1);
  await ada.page.context().setOffline(true);
  await expect(ada.status).toHaveText('Offline, reconnecting…');
  expect((await ada.status.boundingBox())!.height).toBeGreaterThan(10);
  await ada.page.context().setOffline(false);
  await expect(ada.status).toHaveText('Connected');
  await expect.poll(async () => (await ada.status.boundingBox())!.height).toBeLessThanOrEqual(1);
});

test('on a phone the top takes little room and the panels close by button, backdrop and Escape', async ({ browser }) => {
  const page = await (await browser.newContext({ viewport: { width: 375, height: 812 } })).newPage();
  const ada = new ChatPage(page);
  await ada.join(`Ada-${tag()}`);
  const header = page.locator('.room-header');
  const bottom = (await header.boundingBox())!;
  // Top bar, toolbar and room header together: well under a fifth of the screen.
  expect(bottom.y + bottom.height).toBeLessThan(812 / 5);
  // The room header is one row; its actions are behind "Room options".
  expect(bottom.height).toBeLessThan(50);
  await page.getByRole('button', { name: 'Room options' }).click();
  await expect(page.getByRole('button', { name: 'Mute' })).toBeVisible();

  const rooms = page.getByRole('button', { name: /^Rooms/ });
  const open = async () => {
    await rooms.click();
    await expect(ada.sidebar).toBeVisible();
  };
  await open();
  await ada.sidebar.getByRole('button', { name: 'Close rooms' }).click();
  await expect(ada.sidebar).toBeHidden();
  await open();
  await page.keyboard.press('Escape');
  await expect(ada.sidebar).toBeHidden();
  await open();
  await page.mouse.click(360, 400);
  await expect(ada.sidebar).toBeHidden();
  await page.getByRole('button', { name: 'People' }).click();
  await page.getByRole('button', { name: 'Close people' }).click();
  await expect(page.getByRole('complementary', { name: /Online/ })).toBeHidden();
});
