/**
 * The adapters' error handling an app relies on: `keycardErrors()` for Express recognises the body
 * parser's failures, Fastify's recognises Fastify's client errors and leaves the app's own alone, and
 * `asyncHandler` hands a rejection to `next` (Express 4 would drop it; Express 5, installed here, would
 * not — so it is checked as a function, where its absence shows).
 */
import assert from 'node:assert/strict';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import express, { type NextFunction, type Request, type Response } from 'express';
import Fastify from 'fastify';
import {
  asyncHandler,
  keycardErrors as expressErrors,
  fromBodyParserError,
} from '../../src/adapters/express/index.js';
import { keycardErrors as fastifyErrors, fromFastifyError } from '../../src/adapters/fastify/index.js';
import { KeycardError } from '../../src/index.js';
import { request } from '../helpers/http.js';

describe('asyncHandler', () => {
  /** Runs the wrapped handler; what it passed to `next` once its promise settled (a macrotask later). */
  const call = async (handler: Parameters<typeof asyncHandler>[0]): Promise<unknown[]> => {
    const calls: unknown[] = [];
    asyncHandler(handler)(
      {} as Request,
      {} as Response,
      ((error?: unknown) => calls.push(error)) as NextFunction,
    );
    await new Promise((resolve) => setImmediate(resolve));
    return calls;
  };

  // guards: Express 4 crashes or hangs on a rejected async handler; the wrapper hands it to next
  test('a rejection goes to next(error)', async () => {
    const error = new KeycardError('invalid_credentials', 'wrong username or password');
    assert.deepEqual(
      await call(async () => {
        throw error;
      }),
      [error],
    );
  });

  test('a synchronous throw goes to next(error), and a rejection without a reason still fails', async () => {
    const error = new Error('boom');
    assert.deepEqual(
      await call(() => {
        throw error;
      }),
      [error],
    );
    const [reasonless] = await call(() => Promise.reject(undefined));
    assert.ok(reasonless instanceof Error);
  });

  test('a handler that answers is left alone: next is not called', async () => {
    assert.deepEqual(await call(async () => 'answered'), []);
  });
});

describe('fromBodyParserError', () => {
  test('maps every client failure of body-parser to a keycard code; leaves server faults alone', () => {
    const cases: [string, number, string | null][] = [
      ['entity.parse.failed', 400, 'invalid_request'],
      ['querystring.parse.rangeError', 400, 'invalid_request'],
      ['entity.too.large', 413, 'payload_too_large'],
      ['parameters.too.many', 413, 'payload_too_large'],
      ['charset.unsupported', 415, 'unsupported_media_type'],
      ['encoding.unsupported', 415, 'unsupported_media_type'],
      ['request.size.invalid', 400, 'invalid_request'],
      ['request.aborted', 400, 'invalid_request'],
      ['some.future.type', 400, 'invalid_request'],
      ['entity.verify.failed', 403, null],
      ['stream.not.readable', 500, null],
      ['stream.encoding.set', 500, null],
    ];
    for (const [type, status, code] of cases) {
      const error = Object.assign(new Error('Unexpected token } in JSON at position 7: {"password":"x'), {
        type,
        status,
        expose: true,
      });
      const mapped = fromBodyParserError(error);
      assert.equal(mapped?.code ?? null, code, type);
      if (mapped) assert.doesNotMatch(mapped.message, /password|Unexpected/, `${type}: ours, not theirs`);
    }
    assert.equal(fromBodyParserError(new Error('not a body error')), null);
    assert.equal(fromBodyParserError(Object.assign(new Error('x'), { status: 404 })), null);
    assert.equal(fromBodyParserError(null), null);
  });
});

describe('keycardErrors with express.json() and express.urlencoded()', () => {
  let url: string;
  let close: () => Promise<void>;
  before(async () => {
    const app = express();
    app.use(express.json({ limit: 100 }));
    app.use(express.urlencoded({ extended: false, parameterLimit: 3 }));
    app.post('/echo', (req, res) => {
      res.json({ body: req.body });
    });
    app.get('/own', () => {
      throw Object.assign(new Error('the app’s own'), { status: 418 });
    });
    app.use(expressErrors());
    app.use((error: Error, _req: Request, res: Response, _next: NextFunction) => {
      res.status(599).json({ passedOn: error.message });
    });
    const server = app.listen(0, '127.0.0.1');
    await new Promise((resolve) => server.once('listening', resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    close = () => new Promise<void>((resolve) => server.close(() => resolve()));
  });
  after(() => close?.());

  test('each body failure is JSON with its status; other errors go on to the next handler', async () => {
    const cases: [string, Parameters<typeof request>[3], number, string][] = [
      [
        'malformed JSON',
        { body: '{"a":', headers: { 'content-type': 'application/json' } },
        400,
        'invalid_request',
      ],
      ['a JSON body over the limit', { json: { a: 'x'.repeat(200) } }, 413, 'payload_too_large'],
      [
        'an unsupported charset',
        { body: '{}', headers: { 'content-type': 'application/json; charset=latin9' } },
        415,
        'unsupported_media_type',
      ],
      [
        'an unsupported Content-Encoding',
        { body: '{}', headers: { 'content-type': 'application/json', 'content-encoding': 'x-unknown' } },
        415,
        'unsupported_media_type',
      ],
      ['too many form fields', { form: { a: '1', b: '2', c: '3', d: '4' } }, 413, 'payload_too_large'],
    ];
    for (const [name, options, status, code] of cases) {
      const response = await request(url, 'POST', '/echo', options);
      assert.equal(response.status, status, `${name}: ${response.text}`);
      assert.equal(response.json?.error?.code, code, name);
      assert.equal(response.headers['cache-control'], 'no-store', name);
    }
    const own = await request(url, 'GET', '/own');
    assert.deepEqual([own.status, own.json], [599, { passedOn: 'the app’s own' }]);
  });
});

describe('keycardErrors for Fastify', () => {
  test('maps Fastify’s client errors; the app’s own errors and server faults go on', () => {
    const fastifyError = (code: string, statusCode: number, extra: object = {}) =>
      Object.assign(new Error(`${code} message`), { code, statusCode, ...extra });
    const cases: [unknown, string | null][] = [
      [fastifyError('FST_ERR_CTP_INVALID_JSON_BODY', 400), 'invalid_request'],
      [fastifyError('FST_ERR_CTP_EMPTY_JSON_BODY', 400), 'invalid_request'],
      [fastifyError('FST_ERR_CTP_BODY_TOO_LARGE', 413), 'payload_too_large'],
      [fastifyError('FST_ERR_CTP_INVALID_MEDIA_TYPE', 415), 'unsupported_media_type'],
      [fastifyError('FST_ERR_CTP_INVALID_CONTENT_LENGTH', 400), 'invalid_request'],
      [fastifyError('FST_ERR_VALIDATION', 400, { validation: [] }), 'invalid_request'],
      [Object.assign(new SyntaxError('Unexpected token'), { statusCode: 400 }), 'invalid_request'],
      [Object.assign(new Error('no such order'), { statusCode: 404 }), null],
      [Object.assign(new Error('not yours'), { statusCode: 403 }), null],
      [new Error('a bug'), null],
      [fastifyError('FST_ERR_SOMETHING', 500), null],
    ];
    for (const [error, code] of cases) {
      assert.equal(fromFastifyError(error)?.code ?? null, code, String(error));
    }
    assert.match(
      fromFastifyError(fastifyError('FST_ERR_CTP_BODY_TOO_LARGE', 413), 1024)?.message ?? '',
      /1024/,
    );
  });

  test('over HTTP: malformed JSON, an oversized body and a validation failure are keycard JSON', async () => {
    const app = Fastify({ bodyLimit: 100 });
    app.setErrorHandler(fastifyErrors());
    app.post('/echo', async (request) => ({ body: request.body }));
    app.post(
      '/typed',
      { schema: { body: { type: 'object', required: ['name'], properties: { name: { type: 'string' } } } } },
      async () => ({ ok: true }),
    );
    app.get('/own', async () => {
      throw Object.assign(new Error('the app’s own'), { statusCode: 409 });
    });
    const url = await app.listen({ port: 0, host: '127.0.0.1' });
    try {
      const json = { 'content-type': 'application/json' };
      const malformed = await request(url, 'POST', '/echo', { body: '{"a":', headers: json });
      assert.deepEqual([malformed.status, malformed.json.error.code], [400, 'invalid_request']);
      const large = await request(url, 'POST', '/echo', { json: { a: 'x'.repeat(200) } });
      assert.deepEqual([large.status, large.json.error.code], [413, 'payload_too_large']);
      assert.match(large.json.error.message, /100 bytes/);
      const invalid = await request(url, 'POST', '/typed', { json: { other: 1 } });
      assert.deepEqual([invalid.status, invalid.json.error.code], [400, 'invalid_request']);
      assert.match(invalid.json.error.message, /name/);
      const own = await request(url, 'GET', '/own');
      assert.equal(own.status, 409);
      assert.equal(own.json.message, 'the app’s own', 'Fastify’s default handler answered');
    } finally {
      await app.close();
    }
  });
});
