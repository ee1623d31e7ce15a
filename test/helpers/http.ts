/**
 * A small HTTP client for tests over node:http (so any header can be set, Host and Origin included),
 * with a cookie jar that follows Set-Cookie the way a browser would for one host: Max-Age=0 deletes.
 */
import { request as httpRequest, type IncomingHttpHeaders } from 'node:http';

export interface Response {
  status: number;
  headers: IncomingHttpHeaders;
  text: string;
  /** Parsed JSON body (undefined when the body is not JSON). */
  // biome-ignore lint/suspicious/noExplicitAny: tests read arbitrary response bodies
  json: any;
  setCookies: string[];
}

export interface RequestOptions {
  json?: unknown;
  form?: Record<string, string>;
  /** Sent as is, with no Content-Type unless given in headers. */
  body?: string | Buffer;
  headers?: Record<string, string>;
  /** Send no cookies from the jar. */
  noCookies?: boolean;
}

export function request(
  baseURL: string,
  method: string,
  path: string,
  options: RequestOptions = {},
  cookieHeader?: string,
): Promise<Response> {
  const url = new URL(path, baseURL);
  const headers: Record<string, string> = { ...options.headers };
  let body: string | Buffer | undefined = options.body;
  if (options.json !== undefined) {
    body = JSON.stringify(options.json);
    headers['content-type'] ??= 'application/json';
  } else if (options.form !== undefined) {
    body = new URLSearchParams(options.form).toString();
    headers['content-type'] ??= 'application/x-www-form-urlencoded';
  }
  if (cookieHeader && !options.noCookies && headers.cookie === undefined) headers.cookie = cookieHeader;
  return new Promise((resolve, reject) => {
    const req = httpRequest(url, { method, headers, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        let json: unknown;
        try {
          json = JSON.parse(text);
        } catch {
          json = undefined;
        }
        const setCookie = res.headers['set-cookie'];
        resolve({
          status: res.statusCode ?? 0,
          headers: res.headers,
          text,
          json,
          setCookies: setCookie ?? [],
        });
      });
      res.on('error', reject);
    });
    req.on('error', reject);
    if (body !== undefined) req.write(body);
    req.end();
  });
}

/** One browser-like user: a cookie jar and request helpers. */
export class Client {
  readonly cookies = new Map<string, string>();
  constructor(readonly baseURL: string) {}

  cookieHeader(): string | undefined {
    if (this.cookies.size === 0) return undefined;
    return [...this.cookies].map(([name, value]) => `${name}=${value}`).join('; ');
  }

  async request(method: string, path: string, options: RequestOptions = {}): Promise<Response> {
    const response = await request(this.baseURL, method, path, options, this.cookieHeader());
    for (const header of response.setCookies) {
      const [pair = '', ...attributes] = header.split(';');
      const eq = pair.indexOf('=');
      const name = pair.slice(0, eq).trim();
      const value = pair.slice(eq + 1).trim();
      const maxAge = attributes.map((a) => a.trim()).find((a) => a.toLowerCase().startsWith('max-age='));
      if (maxAge !== undefined && Number(maxAge.slice(8)) <= 0) this.cookies.delete(name);
      else this.cookies.set(name, value);
    }
    return response;
  }

  get(path: string, options?: RequestOptions) {
    return this.request('GET', path, options);
  }
  post(path: string, options?: RequestOptions) {
    return this.request('POST', path, options);
  }
  patch(path: string, options?: RequestOptions) {
    return this.request('PATCH', path, options);
  }
  delete(path: string, options?: RequestOptions) {
    return this.request('DELETE', path, options);
  }
}

/** Parses a Set-Cookie header into name, value and lower-cased attributes. */
export function parseSetCookie(header: string): {
  name: string;
  value: string;
  attributes: Map<string, string>;
} {
  const [pair = '', ...rest] = header.split(';');
  const eq = pair.indexOf('=');
  const attributes = new Map<string, string>();
  for (const part of rest) {
    const [key = '', ...value] = part.trim().split('=');
    attributes.set(key.toLowerCase(), value.join('='));
  }
  return { name: pair.slice(0, eq).trim(), value: pair.slice(eq + 1).trim(), attributes };
}
