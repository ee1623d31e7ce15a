/** keycard client add|list|rotate-secret|disable|enable|remove: API clients (client credentials). */
import { type Duration, toPublicClient } from 'keycard';
import { parse, stringFlag } from '../args.js';
import { type CLIContext, EXIT_OK, print, UsageError } from '../io.js';
import { openKeycard, STORE_OPTIONS } from '../store.js';

export const CLIENT_HELP = `Usage: keycard client <command> [options]

Commands:
  add <name> --scope SCOPE [--scope SCOPE …]   create a client; prints its id and secret ONCE
  list [--json]                                 list clients (id, name, scopes, status)
  rotate-secret <client-id> [--overlap 1h]      a new secret (printed once); the old one keeps working for
                                                the overlap, then stops and its tokens are revoked
  disable <client-id> | enable <client-id>      disabling refuses new tokens and revokes every token issued
  remove <client-id>                            delete the client and revoke its tokens

Options:
  --store URL      store to use (default: KEYCARD_STORE, or sqlite:./keycard.db)
  --config FILE    JSON config file (as for keycard serve)
  -h, --help       show this help

A client gets tokens from POST /auth/token (grant_type=client_credentials) with its id and secret.`;

export async function clientCommand(context: CLIContext, args: string[]): Promise<number> {
  const [sub, ...rest] = args;
  if (!sub || sub === '--help' || sub === '-h' || sub === 'help') {
    print(sub ? context.stdout : context.stderr, CLIENT_HELP);
    return sub ? EXIT_OK : 2;
  }
  const known = ['add', 'list', 'rotate-secret', 'disable', 'enable', 'remove'];
  if (!known.includes(sub))
    throw new UsageError(`client: unknown command '${sub}' (see keycard client --help)`);
  const options = {
    ...STORE_OPTIONS,
    ...(sub === 'add' ? { scope: { type: 'string' as const, multiple: true } } : {}),
    ...(sub === 'list' ? { json: { type: 'boolean' as const } } : {}),
    ...(sub === 'rotate-secret' ? { overlap: { type: 'string' as const } } : {}),
  };
  const parsed = parse(
    `client ${sub}`,
    rest,
    options,
    sub === 'list' ? { min: 0, max: 0 } : { min: 1, max: 1 },
  );
  if (parsed.values.help) {
    print(context.stdout, CLIENT_HELP);
    return EXIT_OK;
  }
  const [argument] = parsed.positionals as [string];
  if (sub === 'add' && !(parsed.values.scope as string[] | undefined)?.length) {
    throw new UsageError('client add: give at least one --scope (see keycard client --help)');
  }
  const overlap = stringFlag(parsed, 'overlap');
  if (overlap !== undefined && !/^[1-9][0-9]{0,8}[smhd]$/.test(overlap)) {
    throw new UsageError("client rotate-secret: --overlap must be a duration such as '1h' or '30m'");
  }
  const opened = await openKeycard(context, {
    store: stringFlag(parsed, 'store'),
    config: stringFlag(parsed, 'config'),
  });
  const clients = opened.keycard.clients;
  try {
    switch (sub) {
      case 'add': {
        const { client, secret } = await clients.create({
          name: argument,
          scopes: parsed.values.scope as string[],
        });
        print(context.stdout, `client_id:     ${client.id}`);
        print(context.stdout, `client_secret: ${secret}`);
        print(context.stdout, `scopes:        ${client.scopes.join(' ')}`);
        print(context.stderr, 'Store the secret now: it is shown only once and kept only as a hash.');
        return EXIT_OK;
      }
      case 'list': {
        await clients.finalizeRotations();
        const list = (await clients.list({ limit: 1000 })).map(toPublicClient);
        if (parsed.values.json) {
          print(context.stdout, JSON.stringify(list, null, 2));
        } else if (list.length === 0) {
          print(context.stdout, 'no clients yet; create one with: keycard client add <name> --scope <scope>');
        } else {
          for (const client of list) {
            const status = client.disabled
              ? 'disabled'
              : client.previous_secret_expires_at
                ? `rotating until ${client.previous_secret_expires_at}`
                : 'active';
            print(
              context.stdout,
              `${client.client_id}  ${client.name}  [${client.scopes.join(' ')}]  ${status}`,
            );
          }
        }
        return EXIT_OK;
      }
      case 'rotate-secret': {
        const { client, secret } = await clients.rotateSecret(argument, {
          overlap: overlap as Duration | undefined,
        });
        print(context.stdout, `client_secret: ${secret}`);
        print(
          context.stdout,
          `the previous secret works until ${toPublicClient(client).previous_secret_expires_at}`,
        );
        return EXIT_OK;
      }
      case 'disable':
        await clients.disable(argument);
        print(context.stdout, `disabled ${argument}; its tokens are revoked`);
        return EXIT_OK;
      case 'enable':
        await clients.enable(argument);
        print(context.stdout, `enabled ${argument}`);
        return EXIT_OK;
      default: {
        if (!(await clients.remove(argument))) throw new Error(`no client with id ${argument}`);
        print(context.stdout, `removed ${argument}; its tokens are revoked`);
        return EXIT_OK;
      }
    }
  } finally {
    await opened.close();
  }
}
