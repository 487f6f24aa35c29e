import { randomUUID } from 'node:crypto';
import { io, type Socket } from 'socket.io-client';
import { passwordOf } from './chat-page';

/** Registers `name` (or signs in if taken) through the server functions; returns the cookie. */
async function session(baseURL: string, name: string): Promise<string> {
  const form = new URLSearchParams({ name, password: passwordOf(name) });
  for (const endpoint of ['register', 'sign_in']) {
    const res = await fetch(`${baseURL}/api/${endpoint}`, { method: 'POST', body: form });
    const cookie = res.headers.getSetCookie().find((c) => c.startsWith('parley_session='));
    if (res.ok && cookie) return cookie.split(';')[0];
  }
  throw new Error(`could not sign ${name} in`);
}

/**
 * Every bot on a connection of its own. socket.io-client otherwise shares one connection per
 * server among all the sockets a process opens, with the headers of the first: in CI a bot
 * connected as Bob after an administrator's bot (same test worker) was that administrator.
 */
const OWN_CONNECTION = { transports: ['websocket'], forceNew: true };

/** Bots connected and not yet closed; `test` (support/test.ts) closes them when a test ends. */
export const openBots = new Set<Bot>();

/** A scripted participant speaking Socket.IO directly, for filling rooms quickly. */
export class Bot {
  private constructor(readonly socket: Socket) {}

  static async connect(baseURL: string, name: string): Promise<Bot> {
    const cookie = await session(baseURL, name);
    // Node's client sends the session cookie as a header, as a browser would.
    return Bot.open(io(`${baseURL}/chat`, { ...OWN_CONNECTION, extraHeaders: { cookie } }));
  }

  /** Connects as a bot account, with the token an administrator was given for it. */
  static async withToken(baseURL: string, token: string): Promise<Bot> {
    return Bot.open(io(`${baseURL}/chat`, { ...OWN_CONNECTION, auth: { token } }));
  }

  /** Connects to `/admin` as the administrator `admin` (close it when done). */
  static async admin(baseURL: string, admin: string): Promise<Bot> {
    const cookie = await session(baseURL, admin);
    return Bot.open(io(`${baseURL}/admin`, { ...OWN_CONNECTION, extraHeaders: { cookie } }));
  }

  /** Creates the bot `name` as the administrator `admin` (`admin:create_bot` on `/admin`);
   *  returns its token. */
  static async create(baseURL: string, admin: string, name: string): Promise<string> {
    const moderator = await Bot.admin(baseURL, admin);
    try {
      return (await moderator.request<{ token: string }>('admin:create_bot', { name })).token;
    } finally {
      moderator.close();
    }
  }

  private static async open(socket: Socket): Promise<Bot> {
    await new Promise<void>((resolve, reject) => {
      socket.once('connect', () => resolve());
      socket.once('connect_error', reject);
    });
    const bot = new Bot(socket);
    openBots.add(bot);
    return bot;
  }

  async request<T>(event: string, payload: unknown): Promise<T> {
    const ack = await this.socket.timeout(5_000).emitWithAck(event, payload);
    if (!('Ok' in ack)) throw new Error(`${event} refused: ${JSON.stringify(ack)}`);
    return ack.Ok as T;
  }

  async send(room: string, body: string): Promise<{ id: string; seq: number }> {
    return this.request('message:send', { id: randomUUID(), room, body });
  }

  /** Shares `bytes` as `name` in `room` the way the browser does: `file:begin`, the bytes in
   *  acked chunks as binary attachments, `file:finish`. Returns the message. */
  async upload(room: string, name: string, bytes: Buffer, caption = ''): Promise<{ id: string }> {
    const id = randomUUID();
    const begun = await this.request<{ chunk_bytes: number }>('file:begin', { id, room, name, size: bytes.length });
    for (let offset = 0; offset < bytes.length; offset += begun.chunk_bytes) {
      const part = bytes.subarray(offset, offset + begun.chunk_bytes);
      const ack = await this.socket.timeout(5_000).emitWithAck('file:chunk', { id, offset }, part);
      if (!('Ok' in ack)) throw new Error(`file:chunk refused: ${JSON.stringify(ack)}`);
    }
    return this.request('file:finish', { id, caption });
  }

  close(): void {
    openBots.delete(this);
    this.socket.close();
  }
}
