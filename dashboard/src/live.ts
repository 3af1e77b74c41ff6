/**
 * The socket.io live feed, typed by the shared wire protocol. socket.io reconnects by itself;
 * a refused handshake (expired or revoked session) sends the user back to the login page.
 */
import { io, type Socket } from 'socket.io-client';
import type { LiveClientEvents, LiveServerEvents } from '../../server/live/protocol.ts';

export type LiveSocket = Socket<LiveServerEvents, LiveClientEvents>;

export interface LiveOptions {
  token: string;
  onAuthFailed(): void;
  onConnectionChange(connected: boolean): void;
}

const AUTH_ERRORS = new Set(['STW_ERR_AUTH_REQUIRED', 'STW_ERR_TOKEN_INVALID']);

export function connectLive(opts: LiveOptions): LiveSocket {
  const socket: LiveSocket = io({ auth: { token: opts.token }, transports: ['websocket', 'polling'], reconnectionDelayMax: 5000 });
  socket.on('connect', () => opts.onConnectionChange(true));
  socket.on('disconnect', () => opts.onConnectionChange(false));
  socket.on('connect_error', (err) => {
    opts.onConnectionChange(false);
    if (AUTH_ERRORS.has(err.message)) {
      socket.disconnect();
      opts.onAuthFailed();
    }
  });
  return socket;
}
