/** keycard user add|list|block|unblock|passwd|role|delete */
import { checkNewPassword, DEFAULT_ROLES, normalizeEmail, normalizeUsername, usernameTaken } from 'keycard';
import { stringFlag } from '../args.js';
import { type Handler, runCommand } from '../command.js';
import type { CommandTable } from '../help.js';
import { type CLIContext, EXIT_OK, print, UsageError } from '../io.js';
import { assertPasswordSource, confirm, readNewPassword } from '../prompt.js';
import { loginsEnded, requireUser, STORE_FLAGS, withKeycard } from '../store.js';

const PASSWORD_STDIN = {
  type: 'boolean',
  help: 'read the password from stdin (one trailing newline dropped), not a prompt',
} as const;

export const USER_COMMANDS: CommandTable = {
  name: 'user',
  subcommands: [
    {
      name: 'user add',
      args: ['<username>'],
      summary: 'create a user (asks for the password in a terminal)',
      description:
        'Creates a user. The password is asked for twice in a terminal, or read from stdin with\n--password-stdin; it must meet the password policy (long enough, not a common or leaked one),\nwhich is checked before it is asked for a second time.',
      flags: {
        role: { type: 'string', value: 'ROLE', help: `${DEFAULT_ROLES.join(' or ')} (default user)` },
        email: {
          type: 'string',
          value: 'ADDRESS',
          help: 'their email address, for password reset links (unverified until they follow a verification link)',
        },
        'email-verified': { type: 'boolean', help: 'you vouch for the address: mark it verified now' },
        'password-stdin': PASSWORD_STDIN,
        ...STORE_FLAGS,
      },
    },
    {
      name: 'user list',
      args: [],
      summary: 'list users',
      flags: {
        search: {
          type: 'string',
          value: 'PREFIX',
          help: 'only usernames that begin with PREFIX (any case: it is normalized as usernames are)',
        },
        json: { type: 'boolean', help: 'machine-readable output' },
        ...STORE_FLAGS,
      },
    },
    {
      name: 'user block',
      args: ['<username>'],
      summary: 'block new logins and end every login at once',
      flags: STORE_FLAGS,
    },
    { name: 'user unblock', args: ['<username>'], summary: 'allow logins again', flags: STORE_FLAGS },
    {
      name: 'user passwd',
      args: ['<username>'],
      summary: "set a new password and end the user's logins",
      flags: { 'password-stdin': PASSWORD_STDIN, ...STORE_FLAGS },
    },
    {
      name: 'user role',
      args: ['<username>', '<role>'],
      summary: "change the user's role and end their logins",
      description:
        'Changes the role to one of the configured roles. Every login of the user ends (their tokens\nrevoked), so none keeps the old role; the role the user has already changes nothing.',
      flags: STORE_FLAGS,
    },
    {
      name: 'user delete',
      args: ['<username>'],
      summary: 'delete the user and end every login (asks first)',
      description:
        'Deletes the user record — the username is free again — and ends every login, writing the\nrevocations their access tokens need. Asks for confirmation in a terminal; --yes skips the\nquestion, and is required when not in a terminal. API clients have no owner, so none goes with it.',
      flags: { yes: { type: 'boolean', help: 'do not ask for confirmation' }, ...STORE_FLAGS },
    },
    {
      name: 'user reset-factors',
      args: ['<username>'],
      summary: "remove every second factor of the user's (they lost them all)",
      description:
        "Removes the user's authenticator apps, passkeys and recovery codes, so the password alone signs\nthem in again and they can enroll anew (docs/mfa.md). For a user — the last admin, say — who lost\nevery factor; audited as mfa_removed by admin. Their logins are not ended.",
      flags: STORE_FLAGS,
    },
  ],
  common: STORE_FLAGS,
  footer: `Usernames are stored in canonical form: NFKC, lower case ('Alice' is 'alice'). Roles: ${DEFAULT_ROLES.join(', ')}.`,
};

const add: Handler = async (context, parsed) => {
  const [username] = parsed.positionals as [string];
  const fromStdin = parsed.values['password-stdin'] === true;
  // Everything that can be checked without the store is checked before it is opened (so a usage mistake
  // leaves no database file behind), and the name before the password is asked for.
  const name = normalizeUsername(username);
  if (!name.ok) throw new UsageError(`user add: ${name.reason}`);
  assertPasswordSource(context, fromStdin);
  const role = stringFlag(parsed, 'role');
  const emailFlag = stringFlag(parsed, 'email');
  const emailVerified = parsed.values['email-verified'] === true;
  if (emailVerified && emailFlag === undefined)
    throw new UsageError('user add: --email-verified needs --email');
  let email: string | undefined;
  if (emailFlag !== undefined) {
    try {
      email = normalizeEmail(emailFlag, '--email');
    } catch (error) {
      throw new UsageError(`user add: ${(error as Error).message}`);
    }
  }
  return withKeycard(context, 'user add', parsed, async ({ keycard }) => {
    const { roles } = keycard.options;
    if (role !== undefined && !roles.includes(role)) {
      throw new UsageError(`user add: --role must be one of: ${roles.join(', ')}`);
    }
    if (await keycard.users.findByUsername(name.username)) throw usernameTaken(name.username, 'exact');
    const password = await readNewPassword(context, fromStdin, (candidate) =>
      checkNewPassword(candidate, keycard.options.passwordPolicy, { username: name.username }),
    );
    const user = await keycard.users.create({ username, password, role, email, emailVerified });
    const address = user.email ? `, email ${user.email}${user.emailVerifiedAt ? ' (verified)' : ''}` : '';
    print(context.stdout, `created user ${user.username} (role ${user.role}, id ${user.id}${address})`);
    return EXIT_OK;
  });
};

const list: Handler = (context, parsed) => {
  const search = stringFlag(parsed, 'search');
  // Checked before the store is opened: a prefix no username can begin with is a usage mistake.
  const name = search === undefined || search === '' ? null : normalizeUsername(search);
  if (name && !name.ok) throw new UsageError(`user list: --search: ${name.reason}`);
  const prefix = name?.ok ? name.username : undefined;
  return withKeycard(context, 'user list', parsed, async ({ keycard }) => {
    const users = [];
    let after: string | undefined;
    for (;;) {
      const page = await keycard.users.list({ limit: 1000, after, prefix });
      users.push(...page);
      if (page.length < 1000) break;
      after = page[page.length - 1]?.username;
    }
    if (parsed.values.json) {
      const rows = users.map(({ id, username, role, blocked, email, emailVerifiedAt, createdAt }) => ({
        id,
        username,
        role,
        blocked,
        email: email ?? null,
        emailVerified: typeof emailVerifiedAt === 'number',
        createdAt: new Date(createdAt).toISOString(),
      }));
      print(context.stdout, JSON.stringify(rows, null, 2));
      return EXIT_OK;
    }
    if (users.length === 0) {
      print(
        context.stdout,
        prefix === undefined
          ? 'no users yet; create one with: keycard user add <username> --role admin'
          : `no username begins with '${prefix}'`,
      );
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
  });
};

const setBlocked =
  (action: 'block' | 'unblock'): Handler =>
  (context, parsed) =>
    withKeycard(context, `user ${action}`, parsed, async ({ keycard, events }) => {
      const user = await requireUser(keycard, parsed.positionals[0] as string);
      if (action === 'block') {
        await keycard.users.block(user.id);
        print(context.stdout, `blocked ${user.username}; ${ended(loginsEnded(events))}`);
      } else {
        await keycard.users.unblock(user.id);
        print(context.stdout, `unblocked ${user.username}`);
      }
      return EXIT_OK;
    });

const passwd: Handler = async (context, parsed) => {
  const fromStdin = parsed.values['password-stdin'] === true;
  assertPasswordSource(context, fromStdin);
  return withKeycard(context, 'user passwd', parsed, async ({ keycard, events }) => {
    const user = await requireUser(keycard, parsed.positionals[0] as string);
    const password = await readNewPassword(context, fromStdin, (candidate) =>
      checkNewPassword(candidate, keycard.options.passwordPolicy, { username: user.username }),
    );
    await keycard.users.setPassword(user.id, password);
    print(context.stdout, `password changed for ${user.username}; ${ended(loginsEnded(events))}`);
    return EXIT_OK;
  });
};

const role: Handler = (context, parsed) =>
  withKeycard(context, 'user role', parsed, async ({ keycard, events }) => {
    const [username, next] = parsed.positionals as [string, string];
    const { roles } = keycard.options;
    if (!roles.includes(next))
      throw new UsageError(`user role: the role must be one of: ${roles.join(', ')}`);
    const user = await requireUser(keycard, username);
    if (user.role === next) {
      print(context.stdout, `${user.username} already has the role ${next}; nothing changed`);
      return EXIT_OK;
    }
    await keycard.users.setRole(user.id, next);
    print(
      context.stdout,
      `${user.username} is now ${next} (was ${user.role}); ${ended(loginsEnded(events))}`,
    );
    return EXIT_OK;
  });

const remove: Handler = async (context, parsed) => {
  const yes = parsed.values.yes === true;
  // Refused before the store is opened: without a terminal there is no one to ask.
  if (!yes && !context.stdin.isTTY) {
    throw new UsageError('user delete: not in a terminal, so nothing can be confirmed: add --yes to delete');
  }
  return withKeycard(context, 'user delete', parsed, async ({ keycard, events }) => {
    const user = await requireUser(keycard, parsed.positionals[0] as string);
    if (!yes) {
      const sure = await confirm(
        context,
        `Delete ${user.username} (role ${user.role}) and end every login? This cannot be undone. [y/N] `,
      );
      if (!sure) {
        print(context.stdout, `kept ${user.username}; nothing was changed`);
        return EXIT_OK;
      }
    }
    await keycard.users.delete(user.id);
    print(context.stdout, `deleted ${user.username}; ${ended(loginsEnded(events))}`);
    return EXIT_OK;
  });
};

const resetFactors: Handler = (context, parsed) =>
  withKeycard(context, 'user reset-factors', parsed, async ({ keycard }) => {
    const user = await requireUser(keycard, parsed.positionals[0] as string);
    const count = await keycard.mfa.resetFactors(user.id);
    print(
      context.stdout,
      count === 0
        ? `${user.username} has no second factor; nothing changed`
        : `removed ${count === 1 ? 'the 1 factor' : `all ${count} factors`} of ${user.username} (recovery codes count as one); the password alone signs them in`,
    );
    return EXIT_OK;
  });

export function userCommand(context: CLIContext, args: string[]): Promise<number> {
  return runCommand(
    context,
    USER_COMMANDS,
    {
      add,
      list,
      block: setBlocked('block'),
      unblock: setBlocked('unblock'),
      passwd,
      role,
      delete: remove,
      'reset-factors': resetFactors,
    },
    args,
  );
}

/** What the command ended, in words: only what it did. */
export function ended(count: number): string {
  return count === 0
    ? 'they had no logins to end'
    : `ended ${count === 1 ? 'their 1 login' : `their ${count} logins`}`;
}
