import { test, expect } from './support/test';
import { person, tag, unique } from './support/chat-page';

test('reactions from two people count, show who, toggle off, and last across a reload', async ({ browser }) => {
  const t = tag();
  const [adaName, bobName, cyName] = [`Ada-${t}`, `Bob-${t}`, `Cy-${t}`];
  const ada = await person(browser, adaName);
  const bob = await person(browser, bobName);
  const cy = await person(browser, cyName);
  const text = unique('ship it?');
  await ada.send(text);
  for (const p of [bob, cy]) await expect(p.message(text)).toHaveCount(1);

  // Bob picks 👍 from the picker (found by its label: no emoji font is assumed).
  const bobsLine = bob.message(text);
  await bobsLine.hover();
  await bobsLine.getByRole('button', { name: 'Add reaction' }).click();
  await bobsLine.getByRole('button', { name: 'React with thumbs up' }).click();
  const chip = (p: typeof ada) => p.message(text).getByRole('button', { name: /^thumbs up: / });
  await expect(chip(ada)).toHaveAccessibleName('thumbs up: 1');
  await expect(chip(bob)).toHaveAttribute('aria-pressed', 'true');
  await expect(chip(ada)).toHaveAttribute('aria-pressed', 'false');

  // Cy adds to it with the chip itself; everyone sees two, and who.
  await chip(cy).click();
  for (const p of [ada, bob, cy]) await expect(chip(p)).toHaveAccessibleName('thumbs up: 2');
  await chip(ada).focus();
  await expect(ada.message(text).getByRole('tooltip')).toHaveText(`${bobName} and ${cyName}`);
  await expect(chip(ada)).toHaveAccessibleDescription(`${bobName} and ${cyName}`);

  // A second kind, from the keyboard.
  const adaLine = ada.message(text);
  await adaLine.getByRole('button', { name: 'Add reaction' }).focus();
  await ada.page.keyboard.press('Enter');
  await adaLine.getByRole('button', { name: 'React with party' }).focus();
  await ada.page.keyboard.press('Enter');
  await expect(bob.message(text).getByRole('button', { name: 'party: 1' })).toBeVisible();

  // Bob takes his back.
  await chip(bob).click();
  await expect(chip(ada)).toHaveAccessibleName('thumbs up: 1');
  await expect(chip(bob)).toHaveAttribute('aria-pressed', 'false');

  // The server has it: a reload shows the same.
  await cy.page.reload();
  await expect(cy.status).toHaveText('Connected');
  await expect(chip(cy)).toHaveAccessibleName('thumbs up: 1');
  await expect(chip(cy)).toHaveAttribute('aria-pressed', 'true');
  await expect(cy.message(text).getByRole('button', { name: 'party: 1' })).toBeVisible();
});
