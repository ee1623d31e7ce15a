/** keycard user add|list|block|unblock|passwd */
import { parse, stringFlag } from '../args.js';
import { type CLIContext, EXIT_OK, print, UsageError } from '../io.js';
import { readNewPassword } from '../prompt.js';
import { loginsEnded, openKeycard, requireUser, STORE_OPTIONS } from '../store.js';

export const USER_HELP = `Usage: keycard user <command> [options]

Commands:
  add <username> [--role ROLE] [--password-stdin]   create a user (asks for the password in a terminal)
  list [--json]                                     list users
  block <username>                                  block new logins and end every login at once
  unblock <username>                                allow logins again
  passwd <username> [--password-stdin]              set a new password and end the user's logins

Options (all commands):
  --store URL      store to use (default: KEYCARD_STORE, or sqlite:./keycard.db)
  --config FILE    JSON config file (as for keycard serve)
  -h, --help       show this help

Usernames are stored in canonical form: NFKC, lower case ('Alice' is 'alice').`;

export async function userCommand(context: CLIContext, args: string[]): Promise<number> {
  const [sub, ...rest] = args;
  if (!sub || sub === '--help' || sub === '-h' || sub === 'help') {
    print(sub ? context.stdout : context.stderr, USER_HELP);
    return sub ? EXIT_OK : 2;
  }
  switch (sub) {
    case 'add':
      return add(context, rest);
    case 'list':
      return list(context, rest);
    case 'block':
    case 'unblock':
      return setBlocked(context, rest, sub);
    case 'passwd':
      return passwd(context, rest);
    default:
      throw new UsageError(`user: unknown command '${sub}' (see keycard user --help)`);
  }
}

async function add(context: CLIContext, args: string[]): Promise<number> {
  const parsed = parse(
    'user add',
    args,
    { ...STORE_OPTIONS, role: { type: 'string' }, 'password-stdin': { type: 'boolean' } },
    { min: 1, max: 1 },
  );
  if (parsed.values.help) return help(context);
  const [username] = parsed.positionals as [string];
  // The password is read before the store is opened, so a usage mistake leaves no file behind.
  const password = await readNewPassword(context, parsed.values['password-stdin'] === true);
  const opened = await openKeycard(context, {
    store: stringFlag(parsed, 'store'),
    config: stringFlag(parsed, 'config'),
  });
  try {
    const user = await opened.keycard.users.create({ username, password, role: stringFlag(parsed, 'role') });
    print(context.stdout, `created user ${user.username} (role ${user.role}, id ${user.id})`);
    return EXIT_OK;
  } finally {
    await opened.close();
  }
}

async function list(context: CLIContext, args: string[]): Promise<number> {
  const parsed = parse(
    'user list',
    args,
    { ...STORE_OPTIONS, json: { type: 'boolean' } },
    { min: 0, max: 0 },
  );
  if (parsed.values.help) return help(context);
  const opened = await openKeycard(context, {
    store: stringFlag(parsed, 'store'),
    config: stringFlag(parsed, 'config'),
  });
  try {
    const users = [];
    let after: string | undefined;
    for (;;) {
      const page = await opened.keycard.users.list({ limit: 1000, after });
      users.push(...page);
      if (page.length < 1000) break;
      after = page[page.length - 1]?.username;
    }
    if (parsed.values.json) {
      const rows = users.map(({ id, username, role, blocked, createdAt }) => ({
        id,
        username,
        role,
        blocked,
        createdAt: new Date(createdAt).toISOString(),
      }));
      print(context.stdout, JSON.stringify(rows, null, 2));
      return EXIT_OK;
    }
    if (users.length === 0) {
      print(context.stdout, 'no users yet; create one with: keycard user add <username> --role admin');
      return EXIT_OK;
    }
    const width = Math.max(8, ...users.map((user) => user.username.length));
    print(context.stdout, `${'USERNAME'.padEnd(width)}  ${'ROLE'.padEnd(8)}  STATUS   CREATED`);
    for (const user of users) {
      print(
        context.stdout,
        `${user.username.padEnd(width)}  ${user.role.padEnd(8)}  ${(user.blocked ? 'blocked' : 'active').padEnd(7)}  ${new Date(user.createdAt).toISOString()}`,
      );
    }
    return EXIT_OK;
  } finally {
    await opened.close();
  }
}

async function setBlocked(context: CLIContext, args: string[], action: 'block' | 'unblock'): Promise<number> {
  const parsed = parse(`user ${action}`, args, STORE_OPTIONS, { min: 1, max: 1 });
  if (parsed.values.help) return help(context);
  const [username] = parsed.positionals as [string];
  const opened = await openKeycard(context, {
    store: stringFlag(parsed, 'store'),
    config: stringFlag(parsed, 'config'),
  });
  try {
    const user = await requireUser(opened.keycard, username);
    if (action === 'block') {
      await opened.keycard.users.block(user.id);
      print(context.stdout, `blocked ${user.username}; ${ended(loginsEnded(opened.events))}`);
    } else {
      await opened.keycard.users.unblock(user.id);
      print(context.stdout, `unblocked ${user.username}`);
    }
    return EXIT_OK;
  } finally {
    await opened.close();
  }
}

async function passwd(context: CLIContext, args: string[]): Promise<number> {
  const parsed = parse(
    'user passwd',
    args,
    { ...STORE_OPTIONS, 'password-stdin': { type: 'boolean' } },
    { min: 1, max: 1 },
  );
  if (parsed.values.help) return help(context);
  const [username] = parsed.positionals as [string];
  const opened = await openKeycard(context, {
    store: stringFlag(parsed, 'store'),
    config: stringFlag(parsed, 'config'),
  });
  try {
    const user = await requireUser(opened.keycard, username);
    const password = await readNewPassword(context, parsed.values['password-stdin'] === true);
    await opened.keycard.users.setPassword(user.id, password);
    print(context.stdout, `password changed for ${user.username}; ${ended(loginsEnded(opened.events))}`);
    return EXIT_OK;
  } finally {
    await opened.close();
  }
}

/** What the command ended, in words: only what it did. */
export function ended(count: number): string {
  return count === 0
    ? 'they had no logins to end'
    : `ended ${count === 1 ? 'their 1 login' : `their ${count} logins`}`;
}

function help(context: CLIContext): number {
  print(context.stdout, USER_HELP);
  return EXIT_OK;
}
