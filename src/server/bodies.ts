/**
 * The request bodies the API reads: JSON and `application/x-www-form-urlencoded` (what the pages' forms
 * send). Every other type — text/plain included, which Fastify would otherwise accept as a string — gets
 * 415 unsupported_media_type (docs/server.md).
 */
import type { FastifyInstance } from 'fastify';
import { parseForm, parseJSON } from '../api/input.js';

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
