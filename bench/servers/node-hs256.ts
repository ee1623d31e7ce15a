/**
 * Floor: node:http + HS256 verification by raw node:crypto — HMAC-SHA256 over the signing input, a
 * constant-time compare, base64url-decode and JSON.parse the payload, check exp. No header checks, no
 * iss/aud: the least any HS256 check must do.
 */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { createServer } from 'node:http';
import { BENCH_USER, listen } from './common.js';

const secret = randomBytes(32);
const header = Buffer.from(JSON.stringify({ alg: 'HS256', typ: 'JWT' })).toString('base64url');

function sign(claims: object): string {
  const input = `${header}.${Buffer.from(JSON.stringify(claims)).toString('base64url')}`;
  return `${input}.${createHmac('sha256', secret).update(input).digest('base64url')}`;
}

function verify(token: string): Record<string, unknown> | null {
  const dot = token.lastIndexOf('.');
  const first = token.indexOf('.');
  if (first === -1 || dot === first) return null;
  const mac = createHmac('sha256', secret).update(token.slice(0, dot)).digest();
  const presented = Buffer.from(token.slice(dot + 1), 'base64url');
  if (presented.length !== mac.length || !timingSafeEqual(mac, presented)) return null;
  const claims = JSON.parse(Buffer.from(token.slice(first + 1, dot), 'base64url').toString());
  return typeof claims.exp === 'number' && claims.exp > Date.now() / 1000 ? claims : null;
}

function json(response: import('node:http').ServerResponse, status: number, body: unknown): void {
  response.writeHead(status, { 'content-type': 'application/json; charset=utf-8' });
  response.end(JSON.stringify(body));
}

const server = createServer((request, response) => {
  if (request.method === 'POST' && request.url === '/login') {
    const now = Math.floor(Date.now() / 1000);
    const { id, username, role } = BENCH_USER;
    json(response, 200, { access_token: sign({ sub: id, username, role, iat: now, exp: now + 900 }) });
    return;
  }
  if (request.method === 'GET' && request.url === '/me') {
    const authorization = request.headers.authorization ?? '';
    const claims = authorization.startsWith('Bearer ') ? verify(authorization.slice(7)) : null;
    if (!claims) return json(response, 401, { error: 'unauthenticated' });
    json(response, 200, { user: { id: claims.sub, username: claims.username, role: claims.role } });
    return;
  }
  response.writeHead(404).end();
});
listen(server);
