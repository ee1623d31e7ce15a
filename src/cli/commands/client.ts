/** keycard client add|list|rotate-secret|disable|enable|remove: API clients (client credentials). */
import { type Duration, toPublicClient } from 'keycard';
import { stringFlag } from '../args.js';
import { type Handler, runCommand } from '../command.js';
import type { CommandTable } from '../help.js';
import { type CLIContext, EXIT_OK, print, UsageError } from '../io.js';
import { STORE_FLAGS, withKeycard } from '../store.js';

export const CLIENT_COMMANDS: CommandTable = {
  name: 'client',
  subcommands: [
    {
      name: 'client add',
      args: ['<name>'],
      summary: 'create a client; prints its id and secret ONCE',
      flags: {
        scope: {
          type: 'string',
          multiple: true,
          value: 'SCOPE',
          help: 'a scope the client may ask for (at least one; repeat for more)',
        },
        ...STORE_FLAGS,
      },
    },
    {
      name: 'client list',
      args: [],
      summary: 'list clients (id, name, scopes, status)',
      flags: { json: { type: 'boolean', help: 'machine-readable output' }, ...STORE_FLAGS },
    },
    {
      name: 'client rotate-secret',
      args: ['<client-id>'],
      summary: 'a new secret (printed once); the old one works for --overlap',
      flags: {
        overlap: {
          type: 'string',
          value: 'DURATION',
          help: 'how long the old secret keeps working, e.g. 30m (default 1h)',
        },
        ...STORE_FLAGS,
      },
    },
    {
      name: 'client disable',
      args: ['<client-id>'],
      summary: 'refuse new tokens and revoke every token issued',
      flags: STORE_FLAGS,
    },
    { name: 'client enable', args: ['<client-id>'], summary: 'allow new tokens again', flags: STORE_FLAGS },
    {
      name: 'client remove',
      args: ['<client-id>'],
      summary: 'delete the client and revoke its tokens',
      flags: STORE_FLAGS,
    },
  ],
  common: STORE_FLAGS,
  footer:
    'A client gets tokens from POST /auth/token (grant_type=client_credentials) with its id and secret.',
};

const add: Handler = async (context, parsed) => {
  const scopes = (parsed.values.scope as string[] | undefined) ?? [];
  if (scopes.length === 0) {
    throw new UsageError('client add: give at least one --scope (see keycard client add --help)');
  }
  return withKeycard(context, 'client add', parsed, async ({ keycard }) => {
    const { client, secret } = await keycard.clients.create({
      name: parsed.positionals[0] as string,
      scopes,
    });
    print(context.stdout, `client_id:     ${client.id}`);
    print(context.stdout, `client_secret: ${secret}`);
    print(context.stdout, `scopes:        ${client.scopes.join(' ')}`);
    print(context.stderr, 'Store the secret now: it is shown only once and kept only as a hash.');
    return EXIT_OK;
  });
};

const list: Handler = (context, parsed) =>
  withKeycard(context, 'client list', parsed, async ({ keycard }) => {
    await keycard.clients.finalizeRotations();
    const clients = (await keycard.clients.list({ limit: 1000 })).map(toPublicClient);
    if (parsed.values.json) {
      print(context.stdout, JSON.stringify(clients, null, 2));
      return EXIT_OK;
    }
    if (clients.length === 0) {
      print(context.stdout, 'no clients yet; create one with: keycard client add <name> --scope <scope>');
      return EXIT_OK;
    }
    for (const client of clients) {
      const status = client.disabled
        ? 'disabled'
        : client.previous_secret_expires_at
          ? `rotating until ${client.previous_secret_expires_at}`
          : 'active';
      print(context.stdout, `${client.client_id}  ${client.name}  [${client.scopes.join(' ')}]  ${status}`);
    }
    return EXIT_OK;
  });

const rotateSecret: Handler = async (context, parsed) => {
  const overlap = stringFlag(parsed, 'overlap');
  if (overlap !== undefined && !/^[1-9][0-9]{0,8}[smhd]$/.test(overlap)) {
    throw new UsageError("client rotate-secret: --overlap must be a duration such as '1h' or '30m'");
  }
  return withKeycard(context, 'client rotate-secret', parsed, async ({ keycard }) => {
    const { client, secret } = await keycard.clients.rotateSecret(parsed.positionals[0] as string, {
      overlap: overlap as Duration | undefined,
    });
    print(context.stdout, `client_secret: ${secret}`);
    print(
      context.stdout,
      `the previous secret works until ${toPublicClient(client).previous_secret_expires_at}`,
    );
    return EXIT_OK;
  });
};

const setDisabled =
  (action: 'disable' | 'enable'): Handler =>
  (context, parsed) =>
    withKeycard(context, `client ${action}`, parsed, async ({ keycard }) => {
      const id = parsed.positionals[0] as string;
      if (action === 'disable') {
        await keycard.clients.disable(id);
        print(context.stdout, `disabled ${id}; its tokens are revoked`);
      } else {
        await keycard.clients.enable(id);
        print(context.stdout, `enabled ${id}`);
      }
      return EXIT_OK;
    });

const remove: Handler = (context, parsed) =>
  withKeycard(context, 'client remove', parsed, async ({ keycard }) => {
    const id = parsed.positionals[0] as string;
    if (!(await keycard.clients.remove(id))) throw new Error(`no client with id ${id}`);
    print(context.stdout, `removed ${id}; its tokens are revoked`);
    return EXIT_OK;
  });

export function clientCommand(context: CLIContext, args: string[]): Promise<number> {
  return runCommand(
    context,
    CLIENT_COMMANDS,
    {
      add,
      list,
      'rotate-secret': rotateSecret,
      disable: setDisabled('disable'),
      enable: setDisabled('enable'),
      remove,
    },
    args,
  );
}
