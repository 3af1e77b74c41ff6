/**
 * The text of Mosquitto's password_file and acl_file for a set of accounts, and how to put a
 * new version in place. Rendering is pure (the same accounts give the same bytes, so an
 * unchanged registry rewrites nothing); the grants come from policy.ts, the one place that
 * says who may publish and subscribe to what.
 *
 * ACL syntax (mosquitto.conf(5)): `user NAME` starts an account's block, `topic write T` lets
 * it publish to T, `topic read T` lets it subscribe to and receive T; anything not granted is
 * denied. An account that is not in the password file cannot connect at all.
 */
import { chmod, chown, open, rename, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import type { Grants } from '../policy.ts';
import { passwordFileLine } from './mosquitto-passwd.ts';

export interface MosquittoAccount {
  username: string;
  /** `$7$…` */
  passwordHash: string;
  grants: Grants;
  /** One line said above the account's block in the ACL file (what it is). */
  comment: string;
}

const HEADER = '# Written by StoreTwin from its registry: edits here are overwritten at the next change.\n';

export function renderPasswordFile(accounts: readonly MosquittoAccount[]): string {
  return HEADER + accounts.map((a) => passwordFileLine(a.username, a.passwordHash)).join('');
}

export function renderAclFile(accounts: readonly MosquittoAccount[]): string {
  const blocks = accounts.map((a) => {
    const lines = [`# ${a.comment}`, `user ${a.username}`, ...a.grants.publish.map((t) => `topic write ${t}`), ...a.grants.subscribe.map((t) => `topic read ${t}`)];
    return lines.join('\n') + '\n';
  });
  return [HEADER, ...blocks].join('\n');
}

/**
 * Replaces `file` with `content` atomically: a temporary file in the same directory, flushed,
 * then renamed over it, so Mosquitto never reads half a file. The new file keeps the old one's
 * mode and (when this process may set it) group, so a file an operator made readable to the
 * mosquitto group stays so; a new file is 0640.
 */
export async function writeFileAtomically(file: string, content: string): Promise<void> {
  const previous = await stat(file).catch(() => null);
  const temp = path.join(path.dirname(file), `.${path.basename(file)}.${process.pid}.tmp`);
  try {
    const handle = await open(temp, 'w', 0o640);
    try {
      await handle.writeFile(content);
      await handle.sync();
    } finally {
      await handle.close();
    }
    if (previous) {
      await chmod(temp, previous.mode & 0o777);
      await chown(temp, -1, previous.gid).catch(() => undefined);
    }
    await rename(temp, file);
  } catch (err) {
    await rm(temp, { force: true });
    throw err;
  }
}
