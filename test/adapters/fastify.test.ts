import Fastify from 'fastify';
import { csrfToken, keycardFastify, requireAuth, requireRole } from '../../src/adapters/fastify/index.js';
import { KeycardError } from '../../src/index.js';
import { describeAdapterScenarios } from './scenarios.js';

describeAdapterScenarios('fastify', async (keycard) => {
  const app = Fastify({ bodyLimit: 16_384 });
  await app.register(keycardFastify, { keycard });
  app.post('/login', async (request) => {
    const result = await keycard.signIn(request.auth, request.body);
    if (!result.ok) throw new KeycardError(result.reason, 'wrong username or password');
    return { user: request.auth.user };
  });
  app.get('/me', { preHandler: requireAuth() }, async (request) => ({
    user: request.auth.user,
    data: { ...request.session },
  }));
  app.post('/data', async (request) => {
    const { key, value } = request.body as { key: string; value: unknown };
    request.session[key] = value;
    return { ok: true };
  });
  app.post('/logout', async (request) => {
    await request.auth.logout();
    return { ok: true };
  });
  app.post('/regenerate', async (request) => {
    await request.session.regenerate();
    return { ok: true };
  });
  app.get('/auth/csrf', csrfToken());
  app.get('/admin', { preHandler: requireRole('admin') }, async () => ({ ok: true }));
  const url = await app.listen({ port: 0, host: '127.0.0.1' });
  return { url, close: () => app.close() };
});
