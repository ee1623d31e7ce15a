import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { isLocalhost, isSafeMethod } from '../../src/core/http/request.js';

describe('isSafeMethod', () => {
  for (const method of ['GET', 'HEAD', 'OPTIONS']) {
    test(`treats ${method} as safe`, () => assert.equal(isSafeMethod(method), true));
  }
  for (const method of ['POST', 'PUT', 'PATCH', 'DELETE', 'TRACE', 'CONNECT', 'PROPFIND', '']) {
    test(`treats ${JSON.stringify(method)} as unsafe`, () => assert.equal(isSafeMethod(method), false));
  }
});

describe('isLocalhost', () => {
  const local = [
    'localhost',
    'LOCALHOST',
    'localhost:3000',
    'app.localhost',
    'app.localhost:8080',
    '127.0.0.1',
    '127.0.0.1:3000',
    '127.1.2.3',
    '[::1]',
    '[::1]:3000',
  ];
  for (const host of local) {
    test(`treats ${host} as localhost`, () => assert.equal(isLocalhost(host), true));
  }
  const remote = [
    undefined,
    '',
    'example.com',
    'localhost.example.com',
    'mylocalhost',
    '128.0.0.1',
    '10.0.0.1',
    '[::2]',
    '127.0.0.1.example.com',
  ];
  for (const host of remote) {
    test(`does not treat ${JSON.stringify(host)} as localhost`, () => assert.equal(isLocalhost(host), false));
  }
});
