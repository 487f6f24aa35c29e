import { test, expect } from './support/test';
import { Bot } from './support/bot';
import { person, tag, unique } from './support/chat-page';

test('three people across two rooms: isolation, notices, presence, typing, unread, a DM', async ({ browser }) => {
  const t = tag();
  const [adaName, bobName, cyName] = [`Ada-${t}`, `Bob-${t}`, `Cy-${t}`];
  const ada = await person(browser, adaName);
  const bob = await person(browser, bobName);
  const cy = await person(browser, cyName);
  const ops = `ops-${t}`;

  // Ada creates a room; it appears live in the others' "Other rooms"; Bob joins it.
  await ada.createRoom(ops);
  await expect(bob.sidebar.getByRole('button', { name: `Join # ${ops}` })).toBeVisible();
  await bob.joinRoom(ops);
  await expect(ada.message(`${bobName} joined`)).toBeVisible();
  await expect(ada.room(`# ${ops}`).locator('.room-header')).toContainText('2 members');

  // Presence: Ada sees Bob online in the room's people list.
  await expect(ada.person(bobName)).toContainText('online');

  // Typing: Bob sees Ada typing in ops; it clears when her message arrives.
  await ada.composer.pressSequentially('draft');
  await expect(bob.page.getByText(`${adaName} is typing…`)).toBeVisible();
  const secret = unique('ops only');
  await ada.composer.fill(secret);
  await ada.composer.press('Enter');
  await expect(bob.message(secret)).toHaveCount(1);
  await expect(bob.page.getByText(`${adaName} is typing…`)).toHaveCount(0);

  // Isolation: Cy, not a member, gets the next lobby message but never the ops one.
  const marker = unique('lobby marker');
  await ada.openRoom('# lobby');
  await ada.send(marker);
  await expect(cy.message(marker)).toHaveCount(1);
  await expect(cy.page.getByText(secret)).toHaveCount(0);

  // Unread: Bob is in the lobby while Ada posts in ops; the badge counts it and clears on view.
  await bob.openRoom('# lobby');
  await ada.openRoom(`# ${ops}`);
  const ping = unique('ping');
  await ada.send(ping);
  await expect(bob.roomLink(`# ${ops}`)).toContainText('1 unread');
  await bob.openRoom(`# ${ops}`);
  await expect(bob.message(ping)).toHaveCount(1);
  await expect(bob.roomLink(`# ${ops}`)).not.toContainText('unread');

  // A direct message: Bob opens one from Ada's name; Ada gets it with an unread badge.
  await bob.page.getByRole('button', { name: `Message ${adaName}` }).click();
  await expect(bob.room(adaName)).toBeVisible();
  const psst = unique('psst');
  await bob.send(psst);
  await expect(ada.roomLink(bobName)).toContainText('1 unread');
  await ada.openRoom(bobName);
  await expect(ada.message(psst)).toHaveCount(1);
  // Cy hears nothing of it: checked once a lobby message sent after it has reached Cy.
  const later = unique('after the dm');
  await bob.openRoom('# lobby');
  await bob.send(later);
  await expect(cy.message(later)).toHaveCount(1);
  await expect(cy.roomLink(bobName)).toHaveCount(0);
  await expect(cy.page.getByText(psst)).toHaveCount(0);

  // Leaving is announced to the room.
  await bob.openRoom(`# ${ops}`);
  await bob.page.getByRole('button', { name: 'Leave room' }).click();
  await ada.openRoom(`# ${ops}`);
  await expect(ada.message(`${bobName} left`)).toBeVisible();
  await expect(bob.sidebar.getByRole('button', { name: `Join # ${ops}` })).toBeVisible();

  // Closing Cy's only tab marks her offline for the others.
  await ada.openRoom('# lobby');
  await expect(ada.person(cyName)).toContainText('online');
  await cy.page.context().close();
  await expect(ada.person(cyName)).toContainText('offline');
});

test('room names are checked and duplicates refused', async ({ browser }) => {
  const ada = await person(browser, `Ada-${tag()}`);
  const name = `dup-${tag()}`;
  await ada.createRoom(name);
  // A new room says it is empty until someone speaks.
  const empty = ada.messages.getByText('No messages here yet. Say hello!');
  await expect(empty).toBeVisible();
  await ada.send(unique('hello'));
  await expect(empty).toHaveCount(0);
  await ada.page.getByLabel('New room').fill(name.toUpperCase());
  await ada.page.getByRole('button', { name: 'Create' }).click();
  await expect(ada.sidebar.getByRole('alert')).toContainText('exists already');
  await ada.page.getByLabel('New room').fill('no spaces allowed');
  await ada.page.getByRole('button', { name: 'Create' }).click();
  await expect(ada.sidebar.getByRole('alert')).toContainText('invalid room name');
});

test('an over-long message is refused with an explanation', async ({ browser }) => {
  const ada = await person(browser, `Ada-${tag()}`);
  await ada.composer.fill('x'.repeat(4001));
  await ada.composer.press('Enter');
  await expect(ada.page.getByRole('alert').filter({ hasText: 'too long' })).toHaveText(
    'message is too long: 4001 characters, at most 4000',
  );
  await expect(ada.composer).toHaveValue('x'.repeat(4001));
  await expect(ada.messages.getByRole('listitem').filter({ hasText: 'xxxx' })).toHaveCount(0);
});

test('deleting a room asks first, and its members are told why it vanished', async ({ browser }) => {
  const t = tag();
  const ada = await person(browser, `Ada-${t}`);
  const bob = await person(browser, `Bob-${t}`);
  const name = `tmp-${t}`;
  await ada.createRoom(name);
  await bob.joinRoom(name);

  // One click only opens the question; Cancel and Escape keep the room.
  const ask = ada.page.getByRole('button', { name: 'Delete room…' });
  const dialog = ada.page.getByRole('dialog', { name: `Delete # ${name}?` });
  await ask.click();
  await expect(dialog).toBeVisible();
  await expect(dialog).toContainText('2 members are told and moved to # lobby');
  await expect(dialog.getByRole('button', { name: 'Cancel' })).toBeFocused();
  await dialog.getByRole('button', { name: 'Cancel' }).click();
  await expect(dialog).toBeHidden();
  await ask.click();
  await ada.page.keyboard.press('Escape');
  await expect(dialog).toBeHidden();
  await expect(ada.room(`# ${name}`)).toBeVisible();
  await expect(bob.room(`# ${name}`)).toBeVisible();

  await ask.click();
  await dialog.getByRole('button', { name: 'Delete room' }).click();
  await expect(ada.room('# lobby')).toBeVisible();
  // Bob, who was reading it, is moved to the lobby and told who deleted it.
  await expect(bob.room('# lobby')).toBeVisible();
  await expect(bob.page.getByRole('status').filter({ hasText: `# ${name} was deleted by Ada-${t}.` })).toBeVisible();
  await expect(bob.message(`# ${name} was deleted by Ada-${t}.`)).toHaveCount(1);
  await expect(ada.message(`You deleted # ${name}.`)).toHaveCount(1);
  for (const chat of [ada, bob]) await expect(chat.sidebar.getByText(`# ${name}`)).toHaveCount(0);
});

test('the list follows new messages only while the reader is at the bottom', async ({ browser, baseURL }) => {
  const t = tag();
  const room = `busy-${t}`;
  // A scripted participant fills the room; typing 25 messages through a browser would spend
  // most of the test's time budget on a path other tests already cover.
  const bot = await Bot.connect(baseURL!, `Ada-${t}`);
  await bot.request('room:create', { name: room });
  const bob = await person(browser, `Bob-${t}`);
  await bob.joinRoom(room);
  for (let i = 0; i < 25; i++) await bot.send(room, `filler ${t} ${i}`);
  const last = bob.message(`filler ${t} 24`);
  await expect(last).toBeInViewport();

  // Bob scrolls up to read; a new message must not pull him down, but offers a jump.
  await bob.messages.locator('ol.messages').evaluate((el) => el.scrollTo({ top: 0 }));
  await bob.messages.locator('ol.messages').dispatchEvent('scroll');
  const fresh = unique('fresh');
  await bot.send(room, fresh);
  const jump = bob.page.getByRole('button', { name: 'New messages ↓' });
  await expect(jump).toBeVisible();
  await expect(bob.message(fresh)).not.toBeInViewport();
  await jump.click();
  await expect(bob.message(fresh)).toBeInViewport();
  await expect(jump).toHaveCount(0);
  bot.close();
});

test('rooms opened, created and deleted while the room list is on its way stay that way', async ({ browser, baseURL }) => {
  const t = tag();
  const [adaName, bobName, room, doomed] = [`Ada-${t}`, `Bob-${t}`, `fresh-${t}`, `doomed-${t}`];
  const ada = await person(browser, adaName);
  const bob = await Bot.connect(baseURL!, bobName);
  const lobby = await bob.request<{ members: { user: { id: string; name: string } }[] }>('room:members', { room: 'lobby' });
  const adaId = lobby.members.find((m) => m.user.name === adaName)!.user.id;
  await bob.request('room:create', { name: doomed, private: false });

  // Every connect asks for the room list. Ada's next connection keeps the server's answer back
  // until a direct conversation Bob opens afterwards, the deletion of his room and a room she
  // creates herself have reached her tab: the list she then receives was read before all three.
  let heldAnswer: (() => void) | undefined;
  let listAnswered!: () => void;
  const listHeld = new Promise<void>((resolve) => (listAnswered = resolve));
  let directArrived!: () => void;
  const direct = new Promise<void>((resolve) => (directArrived = resolve));
  let deletionArrived!: () => void;
  const deletion = new Promise<void>((resolve) => (deletionArrived = resolve));
  await ada.page.routeWebSocket(/\/socket\.io\//, (ws) => {
    const server = ws.connectToServer();
    let listAck: string | undefined;
    ws.onMessage((m) => {
      const id = typeof m === 'string' ? /^42\/chat,(\d+)\["room:list"/.exec(m)?.[1] : undefined;
      if (id && heldAnswer === undefined) listAck = `43/chat,${id}[`;
      server.send(m);
    });
    server.onMessage((m) => {
      if (typeof m === 'string' && listAck && m.startsWith(listAck)) {
        listAck = undefined;
        heldAnswer = () => ws.send(m);
        listAnswered();
        return;
      }
      if (typeof m === 'string' && m.startsWith('42/chat,["room:direct"')) directArrived();
      if (typeof m === 'string' && m.startsWith('42/chat,["room:deleted"')) deletionArrived();
      ws.send(m);
    });
  });
  await ada.page.goto('/?transport=websocket');
  await expect(ada.status).toHaveText('Connected');
  await listHeld;
  await expect(ada.messages).toHaveAttribute('aria-busy', 'true');
  const joinDoomed = ada.sidebar.getByRole('button', { name: `Join # ${doomed}` });
  await expect(joinDoomed).toBeVisible();

  await bob.request('dm:open', { user: adaId });
  await direct;
  await expect(ada.roomLink(bobName)).toBeVisible();
  await bob.request('room:delete', { room: doomed });
  await deletion;
  await expect(joinDoomed).toHaveCount(0);
  await ada.createRoom(room);
  await expect(ada.roomLink(`# ${room}`)).toBeVisible();

  heldAnswer!();
  await expect(ada.messages).toHaveAttribute('aria-busy', 'false');
  await expect(ada.roomLink(bobName)).toBeVisible();
  await expect(ada.roomLink(`# ${room}`)).toBeVisible();
  await expect(ada.room(`# ${room}`)).toBeVisible();
  await expect(joinDoomed).toHaveCount(0);
});
