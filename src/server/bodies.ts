/**
 * The request bodies the API reads: JSON and `application/x-www-form-urlencoded` (what the pages' forms
 * send). Every other type — text/plain included, which Fastify would otherwise accept as a string — gets
 * 415 unsupported_media_type (docs/server.md).
 */
import type { FastifyInstance } from 'fastify';
import { KeycardError } from 'keycard';

/**
 * Parses a JSON body. `__proto__` is refused outright: a body is data, and a key that can re-parent an
 * object when some later code merges it has no legitimate use here.
 */
function parseJSON(body: string): unknown {
  if (body.trim() === '') throw new KeycardError('invalid_request', 'the JSON body is empty');
  let forbidden = false;
  let value: unknown;
  try {
    value = JSON.parse(body, (key, item) => {
      if (key === '__proto__') forbidden = true;
      return item;
    });
  } catch {
    throw new KeycardError('invalid_request', 'the body is not valid JSON');
  }
  if (forbidden) throw new KeycardError('invalid_request', 'the JSON body has a forbidden key (__proto__)');
  return value;
}

/** Parses `application/x-www-form-urlencoded` into a null-prototype object; a repeated field is an error. */
function parseForm(body: string): Record<string, string> {
  const fields = Object.create(null) as Record<string, string>;
  for (const [name, value] of new URLSearchParams(body)) {
    if (name in fields)
      throw new KeycardError('invalid_request', `the form field ${name} appears twice`, { field: name });
    fields[name] = value;
  }
  return fields;
}

export function registerBodyParsers(app: FastifyInstance): void {
  const bodyParser =
    (parse: (body: string) => unknown) =>
    (_request: unknown, body: string | Buffer, done: (error: Error | null, value?: unknown) => void) => {
      try {
        done(null, parse(body as string));
      } catch (error) {
        done(error as Error, undefined);
      }
    };
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('application/json', { parseAs: 'string' }, bodyParser(parseJSON));
  app.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'string' }, bodyParser(parseForm));
}
