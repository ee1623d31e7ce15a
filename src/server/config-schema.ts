/**
 * The configuration's schema, built from the settings table (settings.ts): the JSON Schema of the config
 * file (published as config.schema.json; scripts/config-schema.ts writes it), what a bad value of each
 * setting is told is expected, and how a flag's or environment variable's text becomes the JSON value
 * the schema checks.
 */
import { CloneType, type TObject, type TSchema, Type } from '@sinclair/typebox';
import { SETTINGS, type SettingSpec } from './settings.js';

/**
 * The config file: every setting optional, described by its help, and nothing else — a misspelt key is an
 * error, not a setting silently left at its default. `$schema` is allowed so that editors can find this
 * schema (`"$schema": "./node_modules/keycard/config.schema.json"`).
 */
export function configFileSchema(): TObject {
  const properties: Record<string, TSchema> = {
    $schema: Type.Optional(Type.String({ description: 'the JSON Schema of this file (ignored by keycard)' })),
  };
  for (const [key, spec] of Object.entries(SETTINGS) as [string, SettingSpec][]) {
    properties[key] = Type.Optional(
      CloneType(spec.schema, {
        description: spec.help,
        ...(spec.default === undefined ? {} : { default: spec.default }),
      }),
    );
  }
  return Type.Object(properties, {
    title: 'keycard serve configuration file',
    description:
      'Settings of keycard serve (docs/configuration.md); flags and environment variables override them.',
    additionalProperties: false,
  });
}

/** The published document: JSON Schema draft 2020-12, which TypeBox's output is. */
export function configSchemaDocument(): Record<string, unknown> {
  return {
    $schema: 'https://json-schema.org/draft/2020-12/schema',
    ...JSON.parse(JSON.stringify(configFileSchema())),
  };
}

/** What a value of `schema` is, in words: `a whole number from 0 to 65535`, `one of a, b`. */
export function expectedText(spec: SettingSpec, got: unknown): string {
  if (spec.expected) return spec.expected;
  const schema = spec.schema as TSchema & {
    type?: string;
    anyOf?: { const?: unknown }[];
    minimum?: number;
    maximum?: number;
  };
  if (schema.type === 'integer') return `a whole number from ${schema.minimum} to ${schema.maximum}`;
  if (schema.type === 'boolean') return 'true or false';
  if (schema.type === 'array') return 'a non-empty list of non-empty strings';
  if (schema.anyOf?.every((choice) => typeof choice.const === 'string')) {
    const names = schema.anyOf.map((choice) => choice.const).join(', ');
    return typeof got === 'string' ? `one of ${names} (got '${got}')` : `one of ${names}`;
  }
  return 'a non-empty string';
}

const TRUE = ['true', '1'];
const FALSE = ['false', '0'];

/** `a,b, c` → ['a', 'b', 'c']; a repeated flag's values each split the same way. */
function list(text: string | string[]): string[] {
  return (Array.isArray(text) ? text : [text])
    .flatMap((entry) => entry.split(','))
    .map((entry) => entry.trim())
    .filter(Boolean);
}

/**
 * A flag's or environment variable's value as the JSON the schema checks: digits become a number, true/1
 * and false/0 a boolean, a list setting's text a list. Anything else stays text, for the schema to refuse
 * (`--port abc`: expected a whole number).
 */
export function fromText(spec: SettingSpec, text: unknown): unknown {
  if (typeof text !== 'string' && !(Array.isArray(text) && text.every((entry) => typeof entry === 'string')))
    return text;
  const schema = spec.schema as TSchema & { type?: string; anyOf?: { type?: string }[] };
  const types = schema.anyOf ? schema.anyOf.map((choice) => choice.type) : [schema.type];
  const word = Array.isArray(text) ? undefined : text;
  if (types.includes('boolean') && word !== undefined) {
    if (TRUE.includes(word)) return true;
    if (FALSE.includes(word)) return false;
  }
  if (types.includes('integer') && word !== undefined && /^\d+$/.test(word)) return Number(word);
  if (types.includes('array')) return list(text);
  return text;
}
