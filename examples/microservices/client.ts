/**
 * A service calling in: the billing client gets a client-credentials token from the auth service
 * (`POST /auth/token`, HTTP Basic with its client id and secret, RFC 6749 §4.4) and reads the orders
 * report with it. It needs no keycard package: a token endpoint and a Bearer header are plain HTTP.
 *
 *   CLIENT_ID=kc_… CLIENT_SECRET=kcs_… node --import tsx --conditions=source examples/microservices/client.ts
 *
 * AUTH_URL (default http://localhost:3000), ORDERS_URL (default http://localhost:3002) and SCOPE (default
 * orders:read) are optional. Exit 0 with the report on stdout; 1 when the auth service or the orders
 * service refuses (the reason on stderr); 2 when a setting is missing. Neither the secret nor the token is
 * ever printed.
 */

const authURL = process.env.AUTH_URL ?? 'http://localhost:3000';
const ordersURL = process.env.ORDERS_URL ?? 'http://localhost:3002';
const scope = process.env.SCOPE ?? 'orders:read';
const clientId = process.env.CLIENT_ID;
const clientSecret = process.env.CLIENT_SECRET;

/** Why the program stopped, for stderr, with its exit code. */
class Refused extends Error {
  constructor(
    message: string,
    readonly exitCode = 1,
  ) {
    super(message);
  }
}

/** An error body's code and message, in keycard's shape or RFC 6749 §5.2's. */
function describeError(status: number, body: unknown): string {
  const value = (body ?? {}) as {
    error?: string | { code?: string; message?: string };
    error_description?: string;
  };
  if (typeof value.error === 'string') return `${status} ${value.error}: ${value.error_description ?? ''}`;
  if (value.error) return `${status} ${value.error.code}: ${value.error.message ?? ''}`;
  return `${status}`;
}

async function call(url: string, init: RequestInit): Promise<{ status: number; body: unknown }> {
  let response: Response;
  try {
    response = await fetch(url, init);
  } catch (error) {
    throw new Refused(`cannot reach ${new URL(url).origin}: ${(error as Error).cause ?? error}`);
  }
  const text = await response.text();
  try {
    return { status: response.status, body: JSON.parse(text) };
  } catch {
    return { status: response.status, body: text };
  }
}

async function getToken(
  id: string,
  secret: string,
): Promise<{ token: string; scope: string; expiresIn: number }> {
  // RFC 6749 §2.3.1: each part is form-urlencoded before the two are joined and base64-encoded.
  const basic = Buffer.from(`${encodeURIComponent(id)}:${encodeURIComponent(secret)}`).toString('base64');
  const { status, body } = await call(new URL('/auth/token', authURL).href, {
    method: 'POST',
    headers: { authorization: `Basic ${basic}`, 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ grant_type: 'client_credentials', scope }).toString(),
  });
  const issued = body as { access_token?: string; scope?: string; expires_in?: number };
  if (status !== 200 || typeof issued.access_token !== 'string') {
    throw new Refused(`the auth service refused the client: ${describeError(status, body)}`);
  }
  return { token: issued.access_token, scope: issued.scope ?? '', expiresIn: issued.expires_in ?? 0 };
}

async function main(): Promise<void> {
  if (!clientId || !clientSecret) {
    throw new Refused(
      'set CLIENT_ID and CLIENT_SECRET (from: npx keycard client add billing --scope orders:read)',
      2,
    );
  }
  const { token, scope: granted, expiresIn } = await getToken(clientId, clientSecret);
  console.log(`token for ${clientId}: scope "${granted}", expires in ${expiresIn} s`);
  const { status, body } = await call(new URL('/reports/orders', ordersURL).href, {
    headers: { authorization: `Bearer ${token}` },
  });
  if (status !== 200)
    throw new Refused(`the orders service refused the token: ${describeError(status, body)}`);
  console.log(`report: ${JSON.stringify(body)}`);
}

main().catch((error: unknown) => {
  if (error instanceof Refused) {
    console.error(error.message);
    process.exitCode = error.exitCode;
    return;
  }
  console.error(error);
  process.exitCode = 1;
});
