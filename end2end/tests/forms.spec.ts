import { test, expect } from './support/test';
import { ChatPage, person, tag } from './support/chat-page';

test('the password rule shows beside the field before the first try', async ({ page }) => {
  const chat = new ChatPage(page);
  await page.goto('/');
  const create = page.getByRole('button', { name: 'Create an account', exact: true });
  await expect(create).toBeEnabled();
  await create.click();
  const password = page.getByLabel('Password', { exact: true });
  await expect(password).toHaveAccessibleDescription(/8 to 128 characters/);
  await expect(page.getByText(/8 to 128 characters/)).toBeVisible();
  await expect(chat.status).toHaveCount(0);
});

test('a room name with spaces gets the normalised name offered, and switching rooms moves the caret to the composer', async ({ browser }) => {
  const t = tag();
  const ada = await person(browser, `Ada-${t}`);
  const bobName = `Bob-${t}`;
  await person(browser, bobName);
  await ada.page.getByLabel('New room').fill(`Design Team ${t}`);
  await ada.page.getByRole('button', { name: 'Create', exact: true }).click();
  await expect(ada.page.getByRole('alert').filter({ hasText: 'use only letters' })).toBeVisible();
  await ada.page.getByRole('button', { name: `Use design-team-${t}` }).click();
  await expect(ada.page.getByLabel('New room')).toHaveValue(`design-team-${t}`);
  await ada.page.getByRole('button', { name: 'Create', exact: true }).click();
  await expect(ada.room(`# design-team-${t}`)).toBeVisible();

  // From the sidebar to a room, and to a direct message: the caret is in the composer.
  await ada.roomLink('# lobby').click();
  await expect(ada.room('# lobby')).toBeVisible();
  await expect(ada.composer).toBeFocused();
  await ada.page.getByRole('button', { name: `Message ${bobName}` }).click();
  await expect(ada.room(bobName)).toBeVisible();
  await expect(ada.composer).toBeFocused();
});
