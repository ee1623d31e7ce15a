/** keycard sessions list|revoke <username> */
import { parse, stringFlag } from '../args.js';
import { type CLIContext, EXIT_FAILURE, EXIT_OK, print, UsageError } from '../io.js';
import { openKeycard, requireUser, STORE_OPTIONS } from '../store.js';
import { ended } from './user.js';

export const SESSIONS_HELP = `Usage: keycard sessions <command> <username> [options]

Commands:
  list <username> [--json]           the user's live sessions (id, created, last active, device)
  revoke <username> [--session ID]   end all of the user's sessions, or only the one with this id

Options:
  --store URL      store to use (default: KEYCARD_STORE, or sqlite:./keycard.db)
  --config FILE    JSON config file
  -h, --help       show this help`;

export async function sessionsCommand(context: CLIContext, args: string[]): Promise<number> {
  const [sub, ...rest] = args;
  if (!sub || sub === '--help' || sub === '-h' || sub === 'help') {
    print(sub ? context.stdout : context.stderr, SESSIONS_HELP);
    return sub ? EXIT_OK : 2;
  }
  if (sub !== 'list' && sub !== 'revoke') {
    throw new UsageError(`sessions: unknown command '${sub}' (see keycard sessions --help)`);
  }
  const options =
    sub === 'list'
      ? { ...STORE_OPTIONS, json: { type: 'boolean' as const } }
      : { ...STORE_OPTIONS, session: { type: 'string' as const } };
  const parsed = parse(`sessions ${sub}`, rest, options, { min: 1, max: 1 });
  if (parsed.values.help) {
    print(context.stdout, SESSIONS_HELP);
    return EXIT_OK;
  }
  const [username] = parsed.positionals as [string];
  const opened = await openKeycard(context, {
    store: stringFlag(parsed, 'store'),
    config: stringFlag(parsed, 'config'),
  });
  try {
    const { keycard } = opened;
    const user = await requireUser(keycard, username);
    if (sub === 'list') {
      const sessions = await keycard.sessions.listForUser(user.id);
      if (parsed.values.json) {
        print(
          context.stdout,
          JSON.stringify(
            sessions.map((session) => ({
              id: session.id,
              createdAt: new Date(session.createdAt).toISOString(),
              lastActiveAt: new Date(session.lastActiveAt).toISOString(),
              expiresAt: new Date(session.expiresAt).toISOString(),
              userAgent: session.userAgent,
              ip: session.ip,
            })),
            null,
            2,
          ),
        );
        return EXIT_OK;
      }
      if (sessions.length === 0) {
        print(context.stdout, `${user.username} has no live sessions`);
        return EXIT_OK;
      }
      for (const session of sessions) {
        print(
          context.stdout,
          `${session.id}  created ${new Date(session.createdAt).toISOString()}  active ${new Date(session.lastActiveAt).toISOString()}  ${session.ip ?? '-'}  ${session.userAgent ?? '-'}`,
        );
      }
      return EXIT_OK;
    }
    const one = stringFlag(parsed, 'session');
    if (one !== undefined) {
      const revoked = await keycard.sessions.destroyForUser(user.id, one);
      if (!revoked) {
        print(context.stderr, `keycard: ${user.username} has no session with id ${one}`);
        return EXIT_FAILURE;
      }
      keycard.emit({ type: 'session_revoked', userId: user.id, sessionId: one, by: 'admin' });
      print(context.stdout, `ended login ${one} of ${user.username}`);
      return EXIT_OK;
    }
    const count = await keycard.sessions.destroyAllForUser(user.id);
    keycard.emit({ type: 'sessions_revoked', userId: user.id, count, reason: 'admin' });
    print(context.stdout, `${user.username}: ${ended(count)}`);
    return EXIT_OK;
  } finally {
    await opened.close();
  }
}
