import { PassThrough } from 'node:stream';

/** A stdout for a command under test that keeps what was written: `text()` is all of it so far. */
export function sink(): PassThrough & { text: () => string } {
  const chunks: string[] = [];
  const stream = new PassThrough();
  stream.on('data', (c: Buffer) => chunks.push(c.toString()));
  return Object.assign(stream, { text: () => chunks.join('') });
}
