/**
 * Checks real answers against an OpenAPI document: every (method, route, status) answered must be
 * described, with the media type it was sent in, and a JSON body must match the documented schema (ajv,
 * JSON Schema 2020-12: independent of the TypeBox schemas the document was generated from). What was
 * seen is kept, so a test can also ask which documented answers no request produced.
 */
import Ajv2020 from 'ajv/dist/2020.js';
import { Client, type RequestOptions, type Response } from './http.js';

// biome-ignore lint/suspicious/noExplicitAny: the document is plain JSON
type Document = Record<string, any>;

interface Template {
  path: string;
  pattern: RegExp;
  literals: number;
}

/** JSON pointer escaping (RFC 6901). */
const pointer = (segment: string) => segment.replaceAll('~', '~0').replaceAll('/', '~1');

export class OpenAPIWalk {
  /** `METHOD /path/{param}` → statuses answered. */
  readonly seen = new Map<string, Set<number>>();
  /** What did not match the document, one line each. */
  readonly problems: string[] = [];
  private readonly templates: Template[];
  private readonly ajv = new Ajv2020.default({ strict: false, validateFormats: false, allErrors: true });

  constructor(readonly document: Document) {
    this.ajv.addSchema(document, 'openapi');
    this.templates = Object.keys(document.paths)
      .map((path) => ({
        path,
        pattern: new RegExp(`^${path.replace(/\{[^}]+\}/g, '[^/]+')}$`),
        literals: path.split('/').filter((segment) => !segment.startsWith('{')).length,
      }))
      // /auth/sessions/{id}/revoke before a template with fewer fixed segments
      .sort((a, b) => b.literals - a.literals);
  }

  /** The documented operations, as `METHOD /path/{param}`. */
  operations(): string[] {
    return Object.entries(this.document.paths).flatMap(([path, item]) =>
      Object.keys(item as object).map((method) => `${method.toUpperCase()} ${path}`),
    );
  }

  /** The documented statuses of each operation. */
  documented(): Map<string, number[]> {
    const out = new Map<string, number[]>();
    for (const [path, item] of Object.entries(this.document.paths)) {
      for (const [method, operation] of Object.entries(item as Record<string, Document>)) {
        out.set(`${method.toUpperCase()} ${path}`, Object.keys(operation.responses).map(Number));
      }
    }
    return out;
  }

  record(method: string, url: string, response: Response): void {
    const path = url.split('?')[0] as string;
    const verb = method === 'HEAD' ? 'get' : method.toLowerCase();
    const template = this.templates.find(
      (candidate) => candidate.pattern.test(path) && this.document.paths[candidate.path][verb],
    );
    if (!template) {
      // Not a route: only keycard's 404 (or 400/414 for a malformed URL) is expected.
      if (![400, 404, 414].includes(response.status)) {
        this.problems.push(`${method} ${path}: ${response.status} from no documented route`);
      }
      return;
    }
    const key = `${verb.toUpperCase()} ${template.path}`;
    const statuses = this.seen.get(key) ?? new Set<number>();
    this.seen.set(key, statuses.add(response.status));
    const answer = this.document.paths[template.path][verb].responses[String(response.status)];
    if (!answer) {
      this.problems.push(`${key}: ${response.status} is not described (${response.text.slice(0, 120)})`);
      return;
    }
    const type = String(response.headers['content-type'] ?? '').split(';')[0] as string;
    if (response.status === 303 || response.status === 304 || method === 'HEAD') return;
    if (!answer.content?.[type]) {
      this.problems.push(`${key}: ${response.status} answered ${type || 'no body'}, not described`);
      return;
    }
    if (type !== 'application/json') return;
    const ref = [
      'paths',
      template.path,
      verb,
      'responses',
      String(response.status),
      'content',
      type,
      'schema',
    ];
    const validate = this.ajv.getSchema(`openapi#/${ref.map(pointer).join('/')}`);
    if (!validate) {
      this.problems.push(`${key}: ${response.status} has no JSON schema`);
    } else if (!validate(response.json)) {
      this.problems.push(
        `${key}: ${response.status} body does not match: ${this.ajv.errorsText(validate.errors)} in ${response.text.slice(0, 200)}`,
      );
    }
  }

  /** A client whose every answer is recorded. */
  client(baseURL: string): Client {
    const client = new Client(baseURL);
    const send = client.request.bind(client);
    client.request = async (method: string, path: string, options?: RequestOptions) => {
      const response = await send(method, path, options);
      this.record(method, path, response);
      return response;
    };
    return client;
  }

  /** `METHOD /path status` of every documented answer no request produced. */
  unseen(): string[] {
    const out: string[] = [];
    for (const [operation, statuses] of this.documented()) {
      const seen = this.seen.get(operation) ?? new Set();
      for (const status of statuses) if (!seen.has(status)) out.push(`${operation} ${status}`);
    }
    return out;
  }
}
