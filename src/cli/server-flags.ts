/**
 * The flags of the server's settings, from the settings table the configuration is loaded with: what
 * `keycard serve` and `keycard config check` both accept, so that the check reads exactly what serve does.
 */
import { SERVER_SETTINGS, type SettingSpec, settingDefault } from 'keycard/server';
import type { Flag, OptionSpec } from './args.js';

/** Each setting's flag, for the parser: a value or on/off, repeatable for a list. */
export const SERVER_FLAG_OPTIONS: OptionSpec = Object.fromEntries(
  Object.values(SERVER_SETTINGS).map((spec: SettingSpec) => [
    spec.flag,
    spec.value ? { type: 'string', ...(spec.list ? { multiple: true } : {}) } : { type: 'boolean' },
  ]),
);

/** The same flags as a subcommand's, for its help: each with its variable and default. */
export const SERVER_FLAGS: Record<string, Flag> = Object.fromEntries(
  Object.values(SERVER_SETTINGS).map((spec: SettingSpec) => [
    spec.flag,
    {
      type: spec.value ? 'string' : 'boolean',
      ...(spec.list ? { multiple: true } : {}),
      ...(spec.value ? { value: spec.value } : {}),
      help: `${spec.env}; default ${settingDefault(spec)}`,
    },
  ]),
);
