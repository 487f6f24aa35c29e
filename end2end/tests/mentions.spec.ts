import { test, expect } from './support/test';
import { person, tag, unique } from './support/chat-page';

test('@ offers the room\'s members, and a mention highlights and badges for the person mentioned only', async ({ browser }) => {
  const t = tag();
  const [adaName, bobName, cyName] = [`Ada-${t}`, `Bob ${t}`, `Cy-${t}`];
  const room = `team-${t}`;
  const ada = await person(browser, adaName);
  const bob = await person(browser, bobName);
  const cy = await person(browser, cyName);
  await ada.createRoom(room);
  await bob.joinRoom(room);
  await cy.joinRoom(room);
  await ada.openRoom(`# ${room}`);
  await expect(ada.person(bobName)).toBeVisible();

  // Bob and Cy look elsewhere.
  await bob.openRoom('# lobby');
  await cy.openRoom('# lobby');

  // Keyboard: "@bo", then Enter picks the first offer (a name with a space, typed in another
  // case), and the message goes with Enter.
  const picker = ada.page.getByRole('listbox', { name: 'People to mention' });
  await ada.composer.fill('');
  await ada.composer.pressSequentially(`hi @BO`);
  await expect(picker.getByRole('option')).toHaveText([new RegExp(`^@${bobName}`)]);
  await ada.composer.press('Enter');
  await expect(picker).toBeHidden();
  await expect(ada.composer).toHaveValue(`hi @${bobName} `);
  const text = unique('can you review');
  await ada.composer.pressSequentially(text);
  await ada.composer.press('Enter');

  // Mouse: "@c" and a click on Cy's name.
  await ada.composer.pressSequentially('and @c');
  await picker.getByRole('option', { name: new RegExp(`@${cyName}`) }).click();
  await expect(ada.composer).toHaveValue(`and @${cyName} `);
  const second = unique('thanks');
  await ada.composer.pressSequentially(second);
  await ada.composer.press('Enter');

  // Bob: a separate "@" badge (one mention) beside the unread count (two), kept on reload.
  const bobLink = bob.roomLink(`# ${room}`);
  await expect(bobLink).toContainText('2 unread');
  await expect(bobLink).toContainText('@1 mentions');
  // Cy is mentioned in the second message only.
  await expect(cy.roomLink(`# ${room}`)).toContainText('2 unread');
  await expect(cy.roomLink(`# ${room}`)).toContainText('@1 mentions');
  await bob.page.reload();
  await expect(bob.status).toHaveText('Connected');
  await expect(bobLink).toContainText('@1 mentions');

  // In the room: Bob's own mention is marked strongly, the other one plainly.
  await bob.openRoom(`# ${room}`);
  const mine = bob.message(text);
  await expect(mine).toHaveClass(/mentions-me/);
  await expect(mine.locator('.mention.me')).toHaveText(`@${bobName}`);
  const cys = bob.message(second);
  await expect(cys).not.toHaveClass(/mentions-me/);
  await expect(cys.locator('.mention')).toHaveText(`@${cyName}`);
  await expect(cys.locator('.mention.me')).toHaveCount(0);
  // Reading clears both badges.
  await expect(bobLink).not.toContainText('unread');
  await expect(bobLink).not.toContainText('mentions');
  // Ada's own view marks nothing as hers.
  await expect(ada.message(text).locator('.mention.me')).toHaveCount(0);
});
