/**
 * Traces (issue 19): with an OpenTelemetry SDK registered (an in-memory exporter), a login and a refresh
 * on the real server make one `keycard.request` span each, the parent of that request's store spans,
 * with the documented attributes and nothing secret or personal in any of them. Without a provider,
 * keycard makes no span and does not wrap its store.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { context, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import {
  BasicTracerProvider,
  InMemorySpanExporter,
  type ReadableSpan,
  SimpleSpanProcessor,
} from '@opentelemetry/sdk-trace-base';
import { createKeycard } from '../../src/index.js';
import { MemoryStore } from '../../src/stores/memory/index.js';
import { request } from '../helpers/http.js';
import { startTestServer, type TestServer } from '../helpers/server.js';

const USERNAME = 'tracing-user-okapi';
const PASSWORD = 'tracing-password-77';

describe('server: spans of a login and a refresh', () => {
  const exporter = new InMemorySpanExporter();
  let server: TestServer;
  let userId: string;
  const secrets: string[] = [PASSWORD, USERNAME];

  before(async () => {
    context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
    trace.setGlobalTracerProvider(
      new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] }),
    );
    server = await startTestServer({ flags: { preset: 'api' } });
    userId = (await server.keycard.users.create({ username: USERNAME, password: PASSWORD })).id;
    secrets.push(userId);
  });
  after(async () => {
    await server?.close();
    trace.disable();
    context.disable();
  });

  /** A password login; its tokens and login id join the secrets no span may carry. */
  async function login(): Promise<{ access_token: string; refresh_token: string }> {
    const response = await request(server.url, 'POST', '/auth/login', {
      json: { username: USERNAME, password: PASSWORD },
    });
    assert.equal(response.status, 200, response.text);
    secrets.push(response.json.access_token, response.json.refresh_token, response.json.session.id);
    return response.json;
  }

  /** The request span whose outcome is `outcome`, and the store spans whose parent it is. */
  function requestTree(outcome: string): { root: ReadableSpan; children: ReadableSpan[] } {
    const spans = exporter.getFinishedSpans();
    const roots = spans.filter(
      (span) => span.name === 'keycard.request' && span.attributes['keycard.outcome'] === outcome,
    );
    assert.equal(roots.length, 1, `one ${outcome} request span`);
    const root = roots[0] as ReadableSpan;
    const children = spans.filter(
      (span) =>
        span.parentSpanContext?.spanId === root.spanContext().spanId &&
        span.spanContext().traceId === root.spanContext().traceId,
    );
    return { root, children };
  }

  test('a login: the request span is the parent of its store spans', async () => {
    exporter.reset();
    await login();
    secrets.push('127.0.0.1');
    const { root, children } = requestTree('login');
    assert.deepEqual(root.attributes, {
      'keycard.strategy': 'jwt',
      'http.request.method': 'POST',
      'http.route': '/auth/login',
      'keycard.outcome': 'login',
    });
    const operations = children.map((span) => span.attributes['keycard.store.operation']);
    for (const operation of ['getUserByUsername', 'createLogin']) {
      assert.ok(operations.includes(operation), `${operation} in ${operations.join(' ')}`);
    }
    const read = children.find((span) => span.name === 'keycard.store getUserByUsername') as ReadableSpan;
    assert.deepEqual(read.attributes, {
      'keycard.store': 'sqlite',
      'keycard.store.capability': 'users',
      'keycard.store.operation': 'getUserByUsername',
      'db.system': 'sqlite',
    });
  });

  test('a refresh: its store spans (the rotation) are the request span’s children', async () => {
    const tokens = await login();
    exporter.reset();
    const refreshed = await request(server.url, 'POST', '/auth/refresh', {
      json: { refresh_token: tokens.refresh_token },
    });
    assert.equal(refreshed.status, 200, refreshed.text);
    secrets.push(refreshed.json.access_token, refreshed.json.refresh_token);
    const { root, children } = requestTree('refreshed');
    assert.equal(root.attributes['http.route'], '/auth/refresh');
    const operations = children.map((span) => span.attributes['keycard.store.operation']);
    assert.ok(operations.includes('advanceRefresh'), operations.join(' '));
    for (const child of children)
      assert.equal(child.attributes['keycard.store.capability'] !== undefined, true);
  });

  test('a route handler’s own store calls are children too (GET /auth/sessions)', async () => {
    const tokens = await login();
    exporter.reset();
    const sessions = await request(server.url, 'GET', '/auth/sessions', {
      headers: { authorization: `Bearer ${tokens.access_token}` },
    });
    assert.equal(sessions.status, 200, sessions.text);
    const { root, children } = requestTree('authenticated');
    assert.equal(root.attributes['http.route'], '/auth/sessions');
    assert.ok(children.some((span) => span.attributes['keycard.store.operation'] === 'listUserLogins'));
  });

  test('a refused login and a refused refresh say so, with the error code only', async () => {
    exporter.reset();
    await request(server.url, 'POST', '/auth/login', { json: { username: USERNAME, password: 'wrong' } });
    await request(server.url, 'POST', '/auth/refresh', { json: { refresh_token: 'nope' } });
    assert.ok(requestTree('login_failed').root);
    const refused = requestTree('refresh_failed').root;
    assert.equal(refused.attributes['keycard.error_code'], 'token_invalid');
  });

  test('no span name or attribute carries a token, a password, a username, an id or an address', () => {
    const spans = exporter.getFinishedSpans();
    assert.ok(spans.length > 0);
    for (const span of spans) {
      const text = [span.name, ...Object.values(span.attributes).map(String)].join(' ');
      for (const secret of secrets) assert.ok(!text.includes(secret), `${span.name} carries a secret`);
    }
  });
});

describe('tracing off', () => {
  test('without a registered provider keycard wraps nothing and makes no span', () => {
    const store = new MemoryStore();
    const keycard = createKeycard({ store, environment: 'development' });
    assert.equal(keycard.tracing, false);
    assert.equal(keycard.store, store, 'the store is the one given, not a wrapper');
  });
});
