/**
 * The request core's own cost, in process (no HTTP): create a context, load, check and commit a GET with a
 * valid credential — a session cookie (memory store) and a Bearer jwt (HS256, EdDSA) — CPU µs per
 * request. Point it at two checkouts to compare a change, alternating runs so drift hits both:
 *
 *   node --import tsx bench/request-core.mts /path/to/before   # then the same for /path/to/after
 */
const root = process.argv[2] ?? new URL('..', import.meta.url).pathname;
const { createKeycard, generateJWTKey, createKeySet } = await import(`${root}/src/index.ts`);
const { MemoryStore } = await import(`${root}/src/stores/memory/index.ts`);
const N = 200_000;
function info(headers: Record<string, string>) {
  return { method: 'GET', header: (n: string) => headers[n], secure: false, ip: '127.0.0.1' };
}
// biome-ignore lint/suspicious/noExplicitAny: two checkouts' Keycard types differ
async function measure(name: string, keycard: any, headers: Record<string, string>) {
  const sink = () => {};
  const run = async (n: number) => {
    for (let i = 0; i < n; i++) {
      const c = keycard.createContext(info(headers), sink);
      const p = c.load();
      if (p) await p;
      if (typeof c.check === 'function') c.check();
      if (!c.user) throw new Error('not authenticated');
      const q = c.commit();
      if (q) await q;
    }
  };
  await run(20_000);
  const t0 = process.cpuUsage();
  await run(N);
  const t = process.cpuUsage(t0);
  console.log(`${name}: ${((t.user + t.system) / N).toFixed(2)} µs/request`);
}
// session
{
  const keycard = createKeycard({ store: new MemoryStore(), preset: 'web-app', environment: 'development' });
  const cookies: string[] = [];
  const ctx = keycard.createContext(info({ host: 'localhost' }), (c: string) => cookies.push(c));
  await ctx.load();
  await ctx.login({ id: 'u1', username: 'alice', role: 'user' }, { allowCrossSite: true });
  const cookie = (cookies.at(-1) ?? '').split(';')[0] ?? '';
  await measure('session, memory', keycard, { host: 'localhost', cookie });
}
for (const alg of ['HS256', 'EdDSA']) {
  const key = generateJWTKey(alg);
  const keycard = createKeycard({
    store: new MemoryStore(),
    preset: 'api',
    environment: 'development',
    jwt: { keys: createKeySet([key]) },
  });
  const ctx = keycard.createContext(info({ host: 'localhost' }), () => {});
  await ctx.load();
  await ctx.login({ id: 'u1', username: 'alice', role: 'user' }, { allowCrossSite: true });
  await measure(`jwt ${alg}`, keycard, {
    host: 'localhost',
    authorization: `Bearer ${ctx.tokens.access_token}`,
  });
}
// hybrid: the jwt path plus the revocation monitor's in-memory check (header transport, as the HTTP bench)
{
  const key = generateJWTKey('EdDSA');
  const keycard = createKeycard({
    store: new MemoryStore(),
    strategy: 'hybrid',
    jwt: { keys: createKeySet([key]), transport: 'header' },
    environment: 'development',
  });
  await keycard.revocations?.start?.();
  const ctx = keycard.createContext(info({ host: 'localhost' }), () => {});
  await ctx.load();
  await ctx.login({ id: 'u1', username: 'alice', role: 'user' }, { allowCrossSite: true });
  await measure('hybrid EdDSA', keycard, {
    host: 'localhost',
    authorization: `Bearer ${ctx.tokens.access_token}`,
  });
  await keycard.close?.();
}
