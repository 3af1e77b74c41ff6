/** `storetwin user add|list|remove` — users are created here or by the one-time setup token. */
import { type Command } from 'commander';
import { createInterface } from 'node:readline/promises';
import { StoreTwinError } from '../errors.ts';
import { ROLES } from '../storage/types.ts';
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
        console.log(`created ${created.role} "${created.username}"`);
      } finally {
        ctx.close();
      }
    });

  addCommonOptions(user.command('list').description('list users')).action(async (opts: CommonOptions, cmd: Command) => {
    const ctx = await openOfflineContext(configFrom(cmd, { dataDir: opts.dataDir, sitesDirs: opts.sitesDir }));
    try {
      for (const u of ctx.users.listUsers()) console.log(`${u.username.padEnd(24)} ${u.role.padEnd(11)} ${u.sites.join(',') || 'all sites'}`);
    } finally {
      ctx.close();
    }
  });

  addCommonOptions(user.command('remove <name>').description('delete a user and their sessions')).action(
    async (name: string, opts: CommonOptions, cmd: Command) => {
      const ctx = await openOfflineContext(configFrom(cmd, { dataDir: opts.dataDir, sitesDirs: opts.sitesDir }));
      try {
        const u = ctx.storage.registry.getUserByName(name);
        if (!u) throw new StoreTwinError('STW_ERR_USER_NOT_FOUND', `no user "${name}"`);
        ctx.users.deleteUser(u.id);
        console.log(`removed ${name}`);
      } finally {
        ctx.close();
      }
    },
  );
}
