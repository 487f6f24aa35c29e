import { expect, type Browser, type Locator, type Page } from '@playwright/test';

/** One person's Parley tab. */
export class ChatPage {
  readonly status: Locator;
  readonly messages: Locator;
  readonly composer: Locator;

  constructor(readonly page: Page) {
    this.status = page.getByRole('status', { name: 'Connection' });
    this.messages = page.getByRole('log', { name: 'Messages' });
    this.composer = page.getByLabel('Message', { exact: true });
  }

  /**
   * Opens the page (optionally with a query such as `?transport=polling`) and signs in as
   * `name`: creates the account, or signs in to it if another test created it first.
   */
  async join(name: string, query = ''): Promise<void> {
    await this.page.goto(`/${query}`);
    await this.signUpOrIn(name);
  }

  /** On the sign-in form: creates `name`'s account, or signs in if it exists. */
  async signUpOrIn(name: string): Promise<void> {
    const page = this.page;
    const createLink = page.getByRole('button', { name: 'Create an account', exact: true });
    // Buttons are enabled once the WASM has hydrated the server-rendered form.
    await expect(createLink).toBeEnabled();
    await createLink.click();
    await this.fillCredentials(name, passwordOf(name));
    await page.getByRole('button', { name: 'Create account', exact: true }).click();
    const taken = page.getByRole('alert').filter({ hasText: 'is taken' });
    await expect(this.status.or(taken)).toBeVisible();
    if (await taken.isVisible()) {
      await this.signIn(name);
    }
    await expect(this.status).toHaveText('Connected');
  }

  /** On the sign-in form: signs in as `name` (with `password`, by default theirs). */
  async signIn(name: string, password = passwordOf(name)): Promise<void> {
    const toSignIn = this.page.getByRole('button', { name: 'I have an account', exact: true });
    if (await toSignIn.isVisible()) await toSignIn.click();
    await this.fillCredentials(name, password);
    await this.page.getByRole('button', { name: 'Sign in', exact: true }).click();
  }

  async fillCredentials(name: string, password: string): Promise<void> {
    await this.page.getByLabel('Name', { exact: true }).fill(name);
    await this.page.getByLabel('Password', { exact: true }).fill(password);
  }

  /** The sidebar. */
  get sidebar(): Locator {
    return this.page.getByRole('navigation', { name: 'Rooms' });
  }

  /** The sidebar button that opens a room or direct conversation labelled `label`. */
  roomLink(label: string): Locator {
    const escaped = label.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
    return this.sidebar.getByRole('button', { name: new RegExp(`^${escaped}( |$)`) });
  }

  /** The room on screen, by its title (`# ops`, or a person's name for a direct room). */
  room(title: string): Locator {
    return this.page.getByRole('main', { name: title, exact: true });
  }

  /** The people list entry of `name`. */
  person(name: string): Locator {
    return this.page.getByRole('list', { name: 'Members' }).getByRole('listitem').filter({ hasText: name });
  }

  async createRoom(name: string, opts: { private?: boolean } = {}): Promise<void> {
    await this.page.getByLabel('New room').fill(name);
    if (opts.private) await this.page.getByLabel('Private: by invitation only').check();
    await this.page.getByRole('button', { name: 'Create', exact: true }).click();
    await expect(this.room(`${opts.private ? '🔒' : '#'} ${name}`)).toBeVisible();
  }

  async joinRoom(name: string): Promise<void> {
    await this.sidebar.getByRole('button', { name: `Join # ${name}` }).click();
    await expect(this.room(`# ${name}`)).toBeVisible();
  }

  async openRoom(label: string, title = label): Promise<void> {
    await this.roomLink(label).click();
    await expect(this.room(title)).toBeVisible();
  }

  /** Types `text` and presses Enter. */
  async send(text: string): Promise<void> {
    await this.composer.fill(text);
    await this.composer.press('Enter');
  }

  /** The list items whose text contains `text`. */
  message(text: string): Locator {
    return this.messages.getByRole('listitem').filter({ hasText: text });
  }
}

/** The password the tests give `name`'s account (names are case-insensitive). */
export function passwordOf(name: string): string {
  return `pw ${name.toLowerCase()} 2026`;
}

/** A string unique to this test run, so parallel tests never see each other's messages. */
export function unique(label: string): string {
  return `${label} ${Date.now().toString(36)}${Math.random().toString(36).slice(2, 7)}`;
}

/** A short random tag, so names and rooms of parallel tests never collide. */
export function tag(): string {
  return Math.random().toString(36).slice(2, 8);
}

/**
 * A person in a fresh browser context who has joined as `name`. WebSocket URLs the page opens
 * are pushed to `sockets` (the listener is attached before the page loads). `baseURL` picks
 * another server than the run's own (a node of the cluster).
 */
export async function person(
  browser: Browser,
  name: string,
  query = '',
  sockets: string[] = [],
  baseURL?: string,
): Promise<ChatPage> {
  const context = await browser.newContext(baseURL ? { baseURL } : {});
  const page = await context.newPage();
  page.on('websocket', (ws) => sockets.push(ws.url()));
  const chat = new ChatPage(page);
  await chat.join(name, query);
  return chat;
}
