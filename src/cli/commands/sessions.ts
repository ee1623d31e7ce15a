/** keycard sessions list|revoke <username> */
import { stringFlag } from '../args.js';
import { type Handler, runCommand } from '../command.js';
import type { CommandTable } from '../help.js';
import { type CLIContext, EXIT_OK, print } from '../io.js';
import { requireUser, STORE_FLAGS, withKeycard } from '../store.js';
import { ended } from './user.js';

export const SESSIONS_COMMANDS: CommandTable = {
  name: 'sessions',
  subcommands: [
    {
      name: 'sessions list',
      args: ['<username>'],
      summary: "the user's live sessions (id, created, last active, address, device)",
      flags: { json: { type: 'boolean', help: 'machine-readable output' }, ...STORE_FLAGS },
    },
    {
      name: 'sessions revoke',
      args: ['<username>'],
      summary: "end all of the user's sessions, or only the one --session names",
      flags: {
        session: { type: 'string', value: 'ID', help: 'end only this session (an id from sessions list)' },
        ...STORE_FLAGS,
      },
    },
  ],
  common: STORE_FLAGS,
};

const list: Handler = (context, parsed) =>
  withKeycard(context, 'sessions list', parsed, async ({ keycard }) => {
    const user = await requireUser(keycard, parsed.positionals[0] as string);
    const sessions = await keycard.logins.listForUser(user.id);
    if (parsed.values.json) {
      const rows = sessions.map((session) => ({
        id: session.id,
        createdAt: new Date(session.createdAt).toISOString(),
        lastActiveAt: new Date(session.lastActiveAt).toISOString(),
        expiresAt: new Date(session.expiresAt).toISOString(),
        userAgent: session.userAgent,
        ip: session.ip,
      }));
      print(context.stdout, JSON.stringify(rows, null, 2));
      return EXIT_OK;
    }
    if (sessions.length === 0) {
      print(context.stdout, `${user.username} has no live sessions`);
      return EXIT_OK;
    }
    // A header row and aligned columns, as user list prints them.
    const rows = sessions.map((session) => [
      session.id,
      new Date(session.createdAt).toISOString(),
      new Date(session.lastActiveAt).toISOString(),
      session.ip ?? '-',
      session.userAgent ?? '-',
    ]);
    const header = ['ID', 'CREATED', 'LAST ACTIVE', 'ADDRESS', 'DEVICE'];
    const widths = header.map((title, column) =>
      Math.max(title.length, ...rows.map((row) => (row[column] as string).length)),
    );
    for (const row of [header, ...rows]) {
      const cells = row.map((cell, column) =>
        column === row.length - 1 ? cell : cell.padEnd(widths[column] as number),
      );
      print(context.stdout, cells.join('  '));
    }
    return EXIT_OK;
  });

const revoke: Handler = (context, parsed) =>
  withKeycard(context, 'sessions revoke', parsed, async ({ keycard }) => {
    const user = await requireUser(keycard, parsed.positionals[0] as string);
    const one = stringFlag(parsed, 'session');
    if (one !== undefined) {
      const revoked = await keycard.revokeSession(user.id, one, { by: 'admin' });
      if (!revoked) throw new Error(`${user.username} has no session with id ${one}`);
      print(context.stdout, `ended login ${one} of ${user.username}`);
      return EXIT_OK;
    }
    const count = await keycard.revokeAllSessions(user.id, { reason: 'admin' });
    print(context.stdout, `${user.username}: ${ended(count)}`);
    return EXIT_OK;
  });

export function sessionsCommand(context: CLIContext, args: string[]): Promise<number> {
  return runCommand(context, SESSIONS_COMMANDS, { list, revoke }, args);
}
