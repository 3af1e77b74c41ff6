export { LiveFeed, handshakeToken, type LiveFeedDeps } from './feed.ts';
export * from './protocol.ts';
