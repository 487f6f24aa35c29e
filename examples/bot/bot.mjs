// @ts-check
/**
 * An example Parley bot: it connects with a bot token, joins one room, and answers commands
 * posted there. Typed with the published event API (docs/api/parley-events.d.ts) and checked
 * by `tsc` in the test command, so a change to the events that breaks it breaks the build.
 *
 *   PARLEY_URL=http://127.0.0.1:3000 PARLEY_TOKEN=parley_bot_… PARLEY_ROOM=ops node examples/bot/bot.mjs
 *
 * Commands: `!ping` (answers "pong"), `!echo <text>` (says the text back), `!help`.
 * An administrator makes the token with `admin:create_bot` (README, "Event API").
 */
import { io } from 'socket.io-client';

/** @typedef {import('../../docs/api/parley-events').ParleyEvents} Api */
/** @typedef {Api['namespaces']['/chat']['requests']} Requests */
/** @typedef {Api['namespaces']['/chat']['broadcasts']} Broadcasts */
/** @typedef {Broadcasts['message:new']['payload']} ChatMessage */

const url = required('PARLEY_URL');
const token = required('PARLEY_TOKEN');
const room = required('PARLEY_ROOM');

/** @param {string} name */
function required(name) {
  const value = process.env[name];
  if (!value) {
    console.error(`${name} is not set (see the comment at the top of this file)`);
    process.exit(2);
  }
  return value;
}

// The token goes in the handshake's `auth`, never in the URL (it would end up in access logs).
const socket = io(`${url}/chat`, { auth: { token }, transports: ['websocket'] });

/**
 * Sends a request and resolves with its `Ok` value; a refusal rejects with the typed error.
 * @template {keyof Requests & string} K
 * @param {K} event
 * @param {Requests[K]['payload']} payload
 * @returns {Promise<Extract<Requests[K]['ack'], { Ok: unknown }>['Ok']>}
 */
async function request(event, payload) {
  /** @type {Requests[K]['ack']} */
  const ack = await socket.timeout(10_000).emitWithAck(event, payload);
  if ('Err' in ack) throw new Error(`${event} refused: ${JSON.stringify(ack.Err)}`);
  return /** @type {Extract<Requests[K]['ack'], { Ok: unknown }>} */ (ack).Ok;
}

/** @param {string} body */
function say(body) {
  // A fresh id per message: the server drops a repeat of the same id (a resend after a reconnect).
  return request('message:send', { id: crypto.randomUUID(), room, body });
}

/**
 * The answer to a message, if it is a command.
 * @param {ChatMessage} message
 * @returns {string | null}
 */
function answer(message) {
  const text = message.body.trim();
  if (text === '!ping') return `pong, ${message.author.name}`;
  if (text.startsWith('!echo ')) return text.slice('!echo '.length);
  if (text === '!help') return 'I answer `!ping`, `!echo <text>` and `!help`.';
  return null;
}

/** @type {string | null} */
let me = null;

socket.on('connect', async () => {
  try {
    // Joining twice is harmless, so every (re)connection joins again.
    const rooms = await request('room:list', {});
    me = rooms.me.id;
    await request('room:join', { room });
    console.log(`ready: ${rooms.me.name} in ${room}`);
  } catch (error) {
    console.error(String(error));
    process.exit(1);
  }
});

socket.on('connect_error', (error) => {
  // A refused token ("please sign in") will not get better by retrying.
  console.error(`could not connect: ${error.message}`);
  if (!socket.active) process.exit(1);
});

socket.on('message:new', async (/** @type {ChatMessage} */ message) => {
  if (message.room !== room || message.author.id === me) return;
  const reply = answer(message);
  if (reply === null) return;
  try {
    await say(reply);
  } catch (error) {
    console.error(String(error));
  }
});

for (const signal of ['SIGINT', 'SIGTERM']) {
  process.on(signal, () => {
    socket.close();
    process.exit(0);
  });
}
