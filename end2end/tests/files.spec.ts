import { test, expect } from '@playwright/test';
import { Bot } from './support/bot';
import { person, tag } from './support/chat-page';

// Shared files as the people in the room see them: an image as its preview (the original a click
// away), a PDF as a card that downloads it, and neither for someone outside a private room.
test('an image shows as a preview and a PDF as a card that downloads, for members only', async ({ browser, baseURL }) => {
  const t = tag();
  const room = `files-${t}`;
  const ada = await person(browser, `Ada-${t}`);
  const bot = await Bot.connect(baseURL!, `Bot-${t}`);
  await bot.request('room:create', { name: room });
  await ada.joinRoom(room);

  // A real PNG of 800 × 600 (a screenshot of the page), and a small PDF, sent as a client sends
  // them: in acked chunks over Socket.IO binary attachments.
  const png = await ada.page.screenshot({ clip: { x: 0, y: 0, width: 800, height: 600 } });
  const pdf = Buffer.from(`%PDF-1.4\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF ${t}\n`);
  await bot.upload(room, 'mock-up.png', png, `the new layout ${t}`);
  const sharedPdf = await bot.upload(room, `report ${t}.pdf`, pdf);

  const image = ada.message(`the new layout ${t}`).getByRole('link', { name: /mock-up\.png .*open the original/ });
  await expect(image).toBeVisible();
  const preview = image.getByRole('img', { name: 'mock-up.png' });
  // The preview really loaded (the server made it), scaled to at most 480 px a side.
  await expect.poll(() => preview.evaluate((img: HTMLImageElement) => img.complete && img.naturalWidth)).toBe(480);
  expect(await preview.evaluate((img: HTMLImageElement) => img.naturalHeight)).toBe(360);
  await expect(image).toHaveAttribute('href', /^\/files\/[0-9a-f-]+$/);

  const card = ada.messages.getByRole('link', { name: new RegExp(`report ${t}\\.pdf.*PDF document.*download`) });
  await expect(card).toBeVisible();
  await expect(card).toContainText(`${pdf.length} B`);
  const [download] = await Promise.all([ada.page.waitForEvent('download'), card.click()]);
  expect(download.suggestedFilename()).toBe(`report ${t}.pdf`);
  const saved = await download.path();
  const { readFile } = await import('node:fs/promises');
  expect((await readFile(saved!)).equals(pdf)).toBe(true);

  // Someone signed in but not in the room gets nothing, even with the address.
  const cy = await person(browser, `Cy-${t}`);
  const outside = await cy.page.request.get(`/files/${sharedPdf.id}`);
  expect(outside.status()).toBe(404);
  bot.close();
});
