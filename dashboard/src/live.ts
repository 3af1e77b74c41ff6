/**
 * The socket.io live feed, typed by the shared wire protocol. socket.io reconnects by itself;
 * a refused handshake (expired or revoked session) sends the user back to the login page.
 */
import { io, type Socket } from 'socket.io-client';
import type { LiveClientEvents, LiveServerEvents } from '../../server/live/protocol.ts';

export type LiveSocket = Socket<LiveServerEvents, LiveClientEvents>;

export interface LiveOptions {
  /** Asked at every (re)connection: a password change replaces the token under a running page. */
  token(): Promise<string | null>;
  onAuthFailed(): void;
  onConnectionChange(connected: boolean): void;
}

const AUTH_ERRORS = new Set(['STW_ERR_AUTH_REQUIRED', 'STW_ERR_TOKEN_INVALID']);

export function connectLive(opts: LiveOptions): LiveSocket {
  const auth = (cb: (data: object) => void) => void opts.token().then((token) => cb({ token: token ?? '' }));
  const socket: LiveSocket = io({ auth, transports: ['websocket', 'polling'], reconnectionDelayMax: 5000 });
  socket.on('connect', () => opts.onConnectionChange(true));
  socket.on('disconnect', (reason) => {
    opts.onConnectionChange(false);
    // The server ends a connection when its token stops working or the user's role or sites
    // change, and socket.io does not retry after that by itself. Asking again sorts it out: a
    // replaced token or a changed scope connects anew, a dead token gets connect_error below.
    if (reason === 'io server disconnect') socket.connect();
  });
  socket.on('connect_error', (err) => {
    opts.onConnectionChange(false);
    if (AUTH_ERRORS.has(err.message)) {
      socket.disconnect();
      opts.onAuthFailed();
    }
  });
  return socket;
}

/** Starts over with the token asked for again (after a password change ended the old one). */
export function reconnectLive(socket: LiveSocket): void {
  socket.disconnect();
  socket.connect();
}
