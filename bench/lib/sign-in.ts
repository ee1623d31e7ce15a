/**
 * How the driver signs in to a benchmark server and checks that its authenticated GET really is
 * authenticated: a login (POST with the bench user's credentials) yields a cookie or a Bearer token; the GET
 * with it must answer 200 with the user, and without it 401.
 */
import { BENCH_PASSWORD } from '../servers/common.js';
import type { ServerProcess } from './process.js';

export type Credential = 'cookie' | 'bearer' | 'none';

export interface Login {
  path: string;
  credential: Credential;
}

/** Signs in and returns the headers that carry the credential. */
export async function signIn(server: ServerProcess, login: Login): Promise<Record<string, string>> {
  if (login.credential === 'none') return {};
  const response = await fetch(server.url(login.path), {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ username: 'alice', password: BENCH_PASSWORD }),
  });
  const body = (await response.json()) as { access_token?: string };
  if (response.status !== 200) throw new Error(`${server.name}: login answered ${response.status}`);
  if (login.credential === 'bearer') {
    if (!body.access_token) throw new Error(`${server.name}: the login returned no access_token`);
    return { authorization: `Bearer ${body.access_token}` };
  }
  const cookie = response.headers.getSetCookie()[0];
  if (!cookie) throw new Error(`${server.name}: the login set no cookie`);
  return { cookie: cookie.slice(0, cookie.indexOf(';')) };
}

/** The GET answers the user with the credential and refuses without it (unless the variant has no auth). */
export async function checkAuthenticated(
  server: ServerProcess,
  path: string,
  headers: Record<string, string>,
  login: Login,
): Promise<void> {
  const response = await fetch(server.url(path), { headers });
  const body = (await response.json()) as { user?: { username?: string } };
  if (response.status !== 200 || body.user?.username !== 'alice') {
    throw new Error(`${server.name}: GET ${path} answered ${response.status} ${JSON.stringify(body)}`);
  }
  if (login.credential === 'none') return;
  const anonymous = await fetch(server.url(path));
  await anonymous.arrayBuffer();
  if (anonymous.status !== 401) {
    throw new Error(`${server.name}: GET ${path} without a credential answered ${anonymous.status}, not 401`);
  }
}
