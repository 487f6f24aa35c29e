import { randomUUID } from 'node:crypto';
import { io, type Socket } from 'socket.io-client';

/** A scripted participant speaking Socket.IO directly, for filling rooms quickly. */
export class Bot {
  private constructor(readonly socket: Socket) {}

  static async connect(baseURL: string, name: string): Promise<Bot> {
    const socket = io(`${baseURL}/chat`, { auth: { name }, transports: ['websocket'] });
    await new Promise<void>((resolve, reject) => {
      socket.once('connect', () => resolve());
      socket.once('connect_error', reject);
    });
    return new Bot(socket);
  }

  async request<T>(event: string, payload: unknown): Promise<T> {
    const ack = await this.socket.timeout(5_000).emitWithAck(event, payload);
    if (!('Ok' in ack)) throw new Error(`${event} refused: ${JSON.stringify(ack)}`);
    return ack.Ok as T;
  }

  async send(room: string, body: string): Promise<{ id: string; seq: number }> {
    return this.request('message:send', { id: randomUUID(), room, body });
  }

  close(): void {
    this.socket.close();
  }
}
