/**
 * `storetwin user add|list|remove|passwd|tokens|revoke` — users are created here or by the
 * one-time setup token. Changes reach a running server through the database: its connection
 * guard ends the live connections of a revoked token or a changed password within a second.
 */
import { createAuditStore } from '../stores.ts';
import { type Command } from 'commander';
import { createInterface } from 'node:readline/promises';
import { CLI_ACTOR, userTarget, type AuditActor, type NewAuditEntry } from '../audit/index.ts';
import { StoreTwinError } from '../errors.ts';
import type { OfflineContext } from './offline-context.ts';
import { ROLES, type UserRecord } from '../storage/types.ts';
import { addCommonOptions, configFrom, type CommonOptions } from './options.ts';
import { openOfflineContext } from './offline-context.ts';

/** The password from stdin: one line, whether typed at a prompt or piped in. */
async function readPassword(): Promise<string> {
  if (process.stdin.isTTY) process.stderr.write('password (at least 10 characters): ');
  const rl = createInterface({ input: process.stdin, terminal: false });
  for await (const line of rl) {
    rl.close();
    return line.trim();
  }
  throw new StoreTwinError('STW_ERR_VALIDATION', 'no password given (use --password or pipe it on stdin)');
}

async function requireUser(ctx: OfflineContext, name: string): Promise<UserRecord> {
  const u = await ctx.storage.accounts.getUserByName(name);
  if (!u) throw new StoreTwinError('STW_ERR_USER_NOT_FOUND', `no user "${name}"`);
  return u;
}

/** An admin command's audit entry, as `cli` (whoever holds the data directory). */
async function record(ctx: OfflineContext, fields: Omit<NewAuditEntry, keyof AuditActor>): Promise<void> {
  await createAuditStore(ctx.backend).append({ ...CLI_ACTOR, ...fields });
}

/** Opens the data directory, runs `body`, closes it whatever happens. */
async function withContext(cmd: Command, opts: CommonOptions, body: (ctx: OfflineContext) => Promise<void> | void): Promise<void> {
  const ctx = await openOfflineContext(configFrom(cmd, { dataDir: opts.dataDir, sitesDirs: opts.sitesDir }));
  try {
    await body(ctx);
  } finally {
    await ctx.close();
  }
}

export function registerUserCommands(program: Command): void {
  const user = program.command('user').description('manage users (admin, manager, operator, technician)');

  addCommonOptions(user.command('add <name>').description('create a user'))
    .requiredOption('--role <role>', ROLES.join(' | '))
    .option('--password <password>', 'the password (omit to read it from stdin)')
    .option('--sites <ids>', 'comma-separated sites the user may see (default: all)')
    .action(async (name: string, opts: CommonOptions & { role: string; password?: string; sites?: string }, cmd: Command) => {
      const config = configFrom(cmd, { dataDir: opts.dataDir, sitesDirs: opts.sitesDir, logLevel: opts.logLevel });
      const password = opts.password ?? (await readPassword());
      // Before the first start too: the first admin can be created before the server runs.
      const ctx = await openOfflineContext(config, { create: true });
      try {
        const created = await ctx.users.createUser({
          username: name,
          password,
          role: opts.role as (typeof ROLES)[number],
          sites: opts.sites ? opts.sites.split(',').map((s) => s.trim()).filter(Boolean) : [],
        });
        await record(ctx, { action: 'user.created', site: null, target: userTarget(created), after: { username: created.username, role: created.role, sites: created.sites }, scope: created.sites });
        console.log(`created ${created.role} "${created.username}"`);
      } finally {
        await ctx.close();
      }
    });

  addCommonOptions(user.command('list').description('list users')).action((opts: CommonOptions, cmd: Command) =>
    withContext(cmd, opts, async (ctx) => {
      for (const u of await ctx.users.listUsers()) console.log(`${u.username.padEnd(24)} ${u.role.padEnd(11)} ${u.sites.join(',') || 'all sites'}`);
    }),
  );

  addCommonOptions(user.command('remove <name>').description('delete a user and their sessions')).action((name: string, opts: CommonOptions, cmd: Command) =>
    withContext(cmd, opts, async (ctx) => {
      const target = await requireUser(ctx, name);
      await ctx.users.deleteUser(target.id);
      await record(ctx, { action: 'user.deleted', site: null, target: userTarget(target), before: { username: target.username, role: target.role, sites: target.sites }, scope: target.sites });
      console.log(`removed ${name}`);
    }),
  );

  addCommonOptions(user.command('passwd <name>').description("set a user's password; ends every session and API token of the account"))
    .option('--password <password>', 'the new password (omit to read it from stdin)')
    .action(async (name: string, opts: CommonOptions & { password?: string }, cmd: Command) => {
      const password = opts.password ?? (await readPassword());
      await withContext(cmd, opts, async (ctx) => {
        const target = await requireUser(ctx, name);
        await ctx.users.setPassword(target.id, password);
        await record(ctx, { action: 'user.updated', site: null, target: userTarget(target), detail: { passwordReset: true }, scope: target.sites });
        console.log(`password of "${name}" changed; every session and API token of the account was revoked`);
      });
    });

  addCommonOptions(user.command('tokens <name>').description("list a user's sessions and API tokens (ids, never the tokens)")).action(
    (name: string, opts: CommonOptions, cmd: Command) =>
      withContext(cmd, opts, async (ctx) => {
        const items = await ctx.users.listTokens((await requireUser(ctx, name)).id);
        if (items.length === 0) console.log(`"${name}" has no session or API token`);
        for (const t of items) console.log(`${t.id}  ${t.kind.padEnd(7)}  ${(t.name ?? '-').padEnd(20)}  created ${t.createdAt}  expires ${t.expiresAt ?? 'never'}`);
      }),
  );

  addCommonOptions(user.command('revoke <name> <tokenId>').description('revoke one session or API token of a user (id from `user tokens`)')).action(
    (name: string, tokenId: string, opts: CommonOptions, cmd: Command) =>
      withContext(cmd, opts, async (ctx) => {
        const target = await requireUser(ctx, name);
        await ctx.users.revokeToken(target.id, tokenId);
        await record(ctx, { action: 'token.revoked', site: null, target: { kind: 'token', id: tokenId }, detail: { owner: target.username }, scope: target.sites });
        console.log(`revoked ${tokenId} of "${name}"`);
      }),
  );
}
