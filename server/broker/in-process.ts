/**
 * A connection to the embedded broker without a socket: two ends of an in-memory pipe, one
 * handed to aedes, one to an MQTT client in the same process (the demo's simulated devices).
 * The packets are the same as over TCP and pass the same guard and hooks; what the pipe adds
 * is that the broker knows the connection is its own process's, so a real device logging in
 * with the same credentials can be told apart from it (see Broker.connectInProcess).
 */
import { Duplex } from 'node:stream';

class PipeEnd extends Duplex {
  peer: PipeEnd | undefined;
  /** A write waiting for the peer to read again (backpressure). */
  private blocked: (() => void) | undefined;

  override _write(chunk: Buffer, _encoding: BufferEncoding, done: (err?: Error | null) => void): void {
    const peer = this.peer;
    if (!peer || peer.destroyed) return done(new Error('connection closed'));
    if (peer.push(chunk)) done();
    else peer.blocked = done;
  }

  override _read(): void {
    const resume = this.blocked;
    this.blocked = undefined;
    resume?.();
  }

  override _final(done: (err?: Error | null) => void): void {
    this.peer?.push(null);
    done();
  }

  override _destroy(err: Error | null, done: (err?: Error | null) => void): void {
    const peer = this.peer;
    this.peer = undefined;
    // The other side sees the connection end, as a socket's peer sees a reset.
    if (peer && !peer.destroyed) {
      peer.push(null);
      peer.destroy();
    }
    done(err);
  }
}

/** Two connected ends: what one writes, the other reads. Destroying one ends both. */
export function inProcessPipe(): [Duplex, Duplex] {
  const a = new PipeEnd({ allowHalfOpen: false });
  const b = new PipeEnd({ allowHalfOpen: false });
  a.peer = b;
  b.peer = a;
  return [a, b];
}
