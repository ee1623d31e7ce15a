// config.schema.json, the JSON Schema of `keycard serve`'s config file, generated from the settings table
// (src/server/settings.ts) and published in the package (`keycard/config.schema.json`). A test fails when
// the committed file is stale (test/server/config-schema.test.ts).
//
// Usage: node --import tsx --conditions=source scripts/config-schema.ts   rewrite config.schema.json
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { configSchemaDocument } from '../src/server/index.js';

export const SCHEMA_FILE = fileURLToPath(new URL('../config.schema.json', import.meta.url));

/** The file's text: the schema, two-space indented, as Biome formats JSON. */
export function schemaText(): string {
  return `${JSON.stringify(configSchemaDocument(), null, 2)}\n`;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const current = (() => {
    try {
      return readFileSync(SCHEMA_FILE, 'utf8');
    } catch {
      return '';
    }
  })();
  if (current !== schemaText()) {
    writeFileSync(SCHEMA_FILE, schemaText());
    console.log('config.schema.json updated');
  }
}
