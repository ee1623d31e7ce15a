/**
 * `keycard <command> <subcommand> --help` shows that subcommand's help: its usage line with its
 * arguments, and every flag it accepts — written from the same table the parser reads, so the two cannot
 * disagree. Run in-process (help touches no store and no file).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Subcommand } from '../../src/cli/args.js';
import { CLIENT_COMMANDS } from '../../src/cli/commands/client.js';
import { CONFIG_COMMANDS } from '../../src/cli/commands/config.js';
import { KEYS_COMMANDS } from '../../src/cli/commands/keys.js';
import { MIGRATE_COMMAND } from '../../src/cli/commands/migrate.js';
import { SESSIONS_COMMANDS } from '../../src/cli/commands/sessions.js';
import { TOKEN_COMMANDS } from '../../src/cli/commands/token.js';
import { USER_COMMANDS } from '../../src/cli/commands/user.js';
import type { CommandTable } from '../../src/cli/help.js';
import { HELP } from '../../src/cli/main.js';
import { runInProcess } from './helpers.js';

const TABLES: CommandTable[] = [
  USER_COMMANDS,
  SESSIONS_COMMANDS,
  CLIENT_COMMANDS,
  KEYS_COMMANDS,
  TOKEN_COMMANDS,
  CONFIG_COMMANDS,
];

function expectFlags(help: string, spec: Subcommand): void {
  for (const [name, flag] of Object.entries(spec.flags)) {
    const label = flag.type === 'string' ? `--${name} ${flag.value}` : `--${name}`;
    assert.ok(help.includes(`  ${label}  `), `${spec.name} --help lists ${label}`);
  }
  assert.match(help, /-h, --help\s+show this help/);
}

test("each subcommand's --help (and -h) shows its own usage and every flag it accepts", async () => {
  for (const table of TABLES) {
    for (const spec of table.subcommands) {
      const sub = spec.name.split(' ').slice(1);
      for (const flag of ['--help', '-h']) {
        const result = await runInProcess([table.name, ...sub, flag]);
        assert.equal(result.code, 0, `${spec.name} ${flag}`);
        assert.equal(result.stderr, '');
        const usage = `Usage: keycard ${[spec.name, ...spec.args].join(' ')} [options]\n`;
        assert.ok(result.stdout.startsWith(usage), `${spec.name} ${flag}: ${result.stdout.split('\n')[0]}`);
        expectFlags(result.stdout, spec);
        // Only this subcommand's help: no other subcommand's usage.
        for (const other of table.subcommands) {
          if (other !== spec) assert.equal(result.stdout.includes(`keycard ${other.name} `), false);
        }
      }
      // --help wins over a missing argument and over other flags.
      const withOthers = await runInProcess([table.name, ...sub, '--json', '--help']);
      assert.equal(withOthers.code, spec.flags.json ? 0 : 2, `${spec.name} --json --help`);
    }
  }
  const migrate = await runInProcess(['migrate', '--help']);
  assert.equal(migrate.code, 0);
  assert.ok(migrate.stdout.startsWith('Usage: keycard migrate [options]\n'));
  expectFlags(migrate.stdout, MIGRATE_COMMAND);
});

test("a command's --help lists each subcommand with its arguments; keycard --help names every one", async () => {
  for (const table of TABLES) {
    const result = await runInProcess([table.name, '--help']);
    assert.equal(result.code, 0);
    assert.ok(result.stdout.startsWith(`Usage: keycard ${table.name} <command> [options]\n`));
    for (const spec of table.subcommands) {
      const entry = [spec.name.slice(table.name.length + 1), ...spec.args].join(' ');
      assert.match(result.stdout, new RegExp(`^  ${entry.replace(/[|[\]]/g, '\\$&')}  `, 'm'), entry);
      // The top-level help names it too (`user add|list|…`).
      const sub = spec.name.split(' ')[1] as string;
      const line = HELP.split('\n').find((text) => text.trimStart().startsWith(`${table.name} `));
      assert.ok(line?.split(/\s+/)[2]?.split('|').includes(sub), `keycard --help names ${spec.name}`);
    }
  }
});
