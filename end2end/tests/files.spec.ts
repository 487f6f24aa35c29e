import { test, expect } from './support/test';
import AxeBuilder from '@axe-core/playwright';
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

/** A tray row in the composer: the file waiting there, with its progress. */
function trayRow(page: import('@playwright/test').Page, name: string) {
  return page.getByRole('list', { name: 'Files to share' }).getByRole('listitem').filter({ hasText: name });
}

// What a person does to share a file: the Attach button, pasting an image, dropping a file on
// the room; each waits in the composer's tray until Send, the typed text becoming its caption.
test('files attached with the button, pasted and dropped are shared by Send with a caption', async ({ browser }) => {
  const t = tag();
  const room = `attach-${t}`;
  const ada = await person(browser, `Ada-${t}`);
  const bob = await person(browser, `Bob-${t}`);
  await ada.createRoom(room);
  await bob.joinRoom(room);

  // The button opens the file chooser; the file waits in the tray with its size.
  const notes = Buffer.from(`%PDF-1.4\n% minutes ${t}\n%%EOF\n`);
  const [chooser] = await Promise.all([
    ada.page.waitForEvent('filechooser'),
    ada.page.getByRole('button', { name: 'Attach files' }).click(),
  ]);
  await chooser.setFiles({ name: `minutes ${t}.pdf`, mimeType: 'application/pdf', buffer: notes });
  const row = trayRow(ada.page, `minutes ${t}.pdf`);
  await expect(row).toContainText('ready, press Enter to share');
  // Nothing is shared before Send.
  await expect(bob.message(`minutes ${t}.pdf`)).toHaveCount(0);

  // The tray and its buttons pass axe, and the row's Cancel names the file.
  const axe = await new AxeBuilder({ page: ada.page }).include('.composer')
    .withTags(['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa']).analyze();
  expect(axe.violations.flatMap((v) => v.nodes.map((n) => `${v.id}: ${n.target.join(' ')}`))).toEqual([]);
  await expect(row.getByRole('button', { name: `Cancel minutes ${t}.pdf` })).toBeVisible();

  await ada.send(`notes from today ${t}`);
  await expect(row).toHaveCount(0);
  for (const p of [ada, bob]) {
    const shared = p.message(`notes from today ${t}`);
    await expect(shared.getByRole('link', { name: new RegExp(`minutes ${t}\\.pdf.*PDF document`) })).toBeVisible();
  }

  // An image pasted into the message box (a screenshot from the clipboard) becomes a preview.
  await ada.composer.focus();
  await ada.composer.evaluate(async (box, name) => {
    const canvas = document.createElement('canvas');
    canvas.width = 640;
    canvas.height = 400;
    const g = canvas.getContext('2d')!;
    g.fillStyle = '#4f46e5';
    g.fillRect(0, 0, 640, 400);
    const blob = await new Promise<Blob>((done) => canvas.toBlob((b) => done(b!), 'image/png'));
    const data = new DataTransfer();
    data.items.add(new File([blob], name, { type: 'image/png' }));
    box.dispatchEvent(new ClipboardEvent('paste', { clipboardData: data, bubbles: true, cancelable: true }));
  }, `pasted-${t}.png`);
  await expect(trayRow(ada.page, `pasted-${t}.png`)).toContainText('ready');
  // Send with nothing typed shares the file alone.
  await ada.composer.press('Enter');
  const preview = bob.messages.getByRole('img', { name: `pasted-${t}.png` });
  await expect.poll(() => preview.evaluate((img: HTMLImageElement) => img.complete && img.naturalWidth)).toBe(480);

  // A file dragged over the room shows where it goes; dropping it puts it in the tray.
  const dropped = ada.page.locator('#room');
  await dropped.evaluate((room, name) => {
    const data = new DataTransfer();
    data.items.add(new File([`dropped ${name}`], name, { type: 'text/plain' }));
    room.dispatchEvent(new DragEvent('dragenter', { dataTransfer: data, bubbles: true, cancelable: true }));
    (window as unknown as { dropData: DataTransfer }).dropData = data;
  }, `dropped-${t}.txt`);
  await expect(ada.page.locator('.drop-hint')).toBeVisible();
  await expect(ada.page.locator('.drop-hint')).toContainText(`Drop files to share them in # ${room}`);
  await dropped.evaluate((room) => {
    const data = (window as unknown as { dropData: DataTransfer }).dropData;
    room.dispatchEvent(new DragEvent('drop', { dataTransfer: data, bubbles: true, cancelable: true }));
  });
  await expect(ada.page.locator('.drop-hint')).toBeHidden();
  await expect(trayRow(ada.page, `dropped-${t}.txt`)).toContainText('ready');
  await ada.send(`the log ${t}`);
  await expect(bob.message(`the log ${t}`).getByRole('link', { name: new RegExp(`dropped-${t}\\.txt`) })).toBeVisible();
});

// A large file: its progress shows, going offline halfway does not start it over (the bytes
// the browser sends add up to the file once, give or take the chunks in flight), and Cancel
// drops another one for good.
test('a large upload shows progress, resumes after the connection drops, and can be cancelled', async ({ browser }) => {
  const t = tag();
  const room = `big-${t}`;
  const ada = await person(browser, `Ada-${t}`);
  const bob = await person(browser, `Bob-${t}`);
  await ada.createRoom(room);
  await bob.joinRoom(room);

  // Every binary byte the page sends over its WebSockets (the chunks' attachments). The page's
  // first socket opened before this listener, so a reconnect opens one it sees.
  let sentBytes = 0;
  ada.page.on('websocket', (ws) => ws.on('framesent', (frame) => {
    if (typeof frame.payload !== 'string') sentBytes += frame.payload.length;
  }));
  await ada.page.context().setOffline(true);
  await expect(ada.status).toHaveText('Offline, reconnecting…');
  await ada.page.context().setOffline(false);
  await expect(ada.status).toHaveText('Connected');

  const size = 40 * 1024 * 1024;
  const big = Buffer.alloc(size);
  for (let i = 0; i < size; i += 4096) big.writeUInt32LE(i, i);
  const attach = async (name: string) => {
    const [chooser] = await Promise.all([
      ada.page.waitForEvent('filechooser'),
      ada.page.getByRole('button', { name: 'Attach files' }).click(),
    ]);
    await chooser.setFiles({ name, mimeType: 'application/octet-stream', buffer: big });
  };

  await attach(`archive-${t}.bin`);
  const row = trayRow(ada.page, `archive-${t}.bin`);
  const bar = row.getByRole('progressbar', { name: `Upload of archive-${t}.bin` });
  // Started, not finished: then the connection drops.
  await ada.page.waitForFunction(
    (size) => {
      const bar = document.querySelector('.upload progress') as HTMLProgressElement | null;
      return bar !== null && bar.value > size / 10 && bar.value < size;
    },
    size,
    { polling: 'raf' },
  );
  await ada.page.context().setOffline(true);
  const before = await bar.evaluate((b: HTMLProgressElement) => b.value);
  expect(before).toBeGreaterThan(size / 10);
  expect(before).toBeLessThan(size);
  await expect(ada.status).toHaveText('Offline, reconnecting…');
  await ada.page.context().setOffline(false);
  await expect(row).toContainText('ready, press Enter to share', { timeout: 60_000 });
  // Resumed, not restarted: what was sent before the drop was not sent again (a restart would
  // add `before` bytes; at most the few chunks in flight at the drop go twice).
  expect(sentBytes).toBeGreaterThan(0);
  expect(sentBytes).toBeLessThan(size + 4 * 64 * 1024);
  await ada.send(`the archive ${t}`);
  const card = bob.message(`the archive ${t}`).getByRole('link', { name: new RegExp(`archive-${t}\\.bin.*40 MB`) });
  await expect(card).toBeVisible();
  const href = await card.getAttribute('href');
  const body = await bob.page.request.get(href!);
  expect((await body.body()).equals(big)).toBe(true);

  // Another one, cancelled while it uploads: it leaves the tray and is never shared.
  await attach(`cancelled-${t}.bin`);
  const second = trayRow(ada.page, `cancelled-${t}.bin`);
  await expect(second.getByRole('progressbar')).toBeVisible();
  await second.getByRole('button', { name: `Cancel cancelled-${t}.bin` }).click();
  await expect(second).toHaveCount(0);
  // A message sent after it arrives; had the file been shared, it would have arrived first.
  await ada.send(`after the cancel ${t}`);
  await expect(bob.message(`after the cancel ${t}`)).toBeVisible();
  await expect(bob.messages.getByText(`cancelled-${t}.bin`)).toHaveCount(0);
});
