/**
 * Floor for logins: node:http + one argon2.verify (Argon2id at OWASP parameters, the argon2 package keycard
 * uses, on the libuv thread pool) per POST /login, answering a small JSON. No user lookup, no session.
 */
import { createServer } from 'node:http';
import * as argon2 from 'argon2';
import { OWASP_ARGON2ID } from '../../src/core/passwords/hash.js';
import { BENCH_PASSWORD, listen, readBody } from './common.js';

const stored = await argon2.hash(BENCH_PASSWORD, {
  type: argon2.argon2id,
  memoryCost: OWASP_ARGON2ID.memoryKiB,
  timeCost: OWASP_ARGON2ID.iterations,
  parallelism: OWASP_ARGON2ID.parallelism,
});

const server = createServer(async (request, response) => {
  if (request.method !== 'POST' || request.url !== '/login') {
    response.writeHead(404).end();
    return;
  }
  const body = JSON.parse(await readBody(request)) as { password?: string };
  const ok = await argon2.verify(stored, String(body.password));
  response.writeHead(ok ? 200 : 401, { 'content-type': 'application/json; charset=utf-8' });
  response.end(JSON.stringify({ ok }));
});
listen(server);
