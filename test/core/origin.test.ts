import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { checkRequestOrigin, type OriginVerdict } from '../../src/core/http/origin.js';
import { requestInfo } from './support.js';

interface Case {
  name: string;
  method?: string;
  site?: string;
  origin?: string;
  host?: string;
  secure?: boolean;
  trusted?: string[];
  expected: OriginVerdict;
}

function verdict(c: Omit<Case, 'name' | 'expected'>): OriginVerdict {
  const request = requestInfo({
    method: c.method ?? 'POST',
    secure: c.secure ?? true,
    headers: { 'Sec-Fetch-Site': c.site, Origin: c.origin, Host: c.host },
  });
  return checkRequestOrigin(request, c.trusted ? new Set(c.trusted) : null);
}

const EVIL = 'https://evil.example';

describe('checkRequestOrigin: safe methods', () => {
  for (const method of ['GET', 'HEAD', 'OPTIONS']) {
    test(`always allows ${method}, even cross-site from a foreign Origin`, () => {
      assert.equal(verdict({ method, site: 'cross-site', origin: EVIL, host: 'app.example' }), 'allowed');
      assert.equal(verdict({ method, origin: 'null', host: 'app.example' }), 'allowed');
    });
  }
});

describe('checkRequestOrigin: unsafe methods', () => {
  const cases: Case[] = [
    // Fetch Metadata
    {
      name: 'allows Sec-Fetch-Site: same-origin',
      site: 'same-origin',
      host: 'app.example',
      expected: 'allowed',
    },
    {
      // The browser's own label decides: a proxy that rewrites Host must not turn it into a refusal.
      name: 'allows Sec-Fetch-Site: same-origin even when the Origin differs from the (rewritten) Host',
      site: 'same-origin',
      origin: 'https://app.example',
      host: 'internal:8080',
      expected: 'allowed',
    },
    {
      name: 'allows Sec-Fetch-Site: none even with an opaque Origin (a user-initiated navigation)',
      site: 'none',
      origin: 'null',
      host: 'app.example',
      expected: 'allowed',
    },
    {
      name: 'refuses an unknown Sec-Fetch-Site value with a foreign Origin',
      site: 'same-origin-ish',
      origin: EVIL,
      host: 'app.example',
      expected: 'cross_site',
    },
    {
      name: 'refuses an empty Sec-Fetch-Site with an opaque Origin',
      site: '',
      origin: 'null',
      host: 'app.example',
      expected: 'cross_site',
    },
    { name: 'allows Sec-Fetch-Site: none (typed URL, bookmark)', site: 'none', expected: 'allowed' },
    {
      name: 'refuses Sec-Fetch-Site: cross-site',
      site: 'cross-site',
      host: 'app.example',
      expected: 'cross_site',
    },
    {
      name: 'refuses Sec-Fetch-Site: same-site (a sibling subdomain)',
      site: 'same-site',
      host: 'app.example',
      expected: 'cross_site',
    },
    {
      name: 'refuses cross-site even when the Origin names our own host',
      site: 'cross-site',
      origin: 'https://app.example',
      host: 'app.example',
      expected: 'cross_site',
    },
    // Neither header: not a browser page
    {
      name: 'allows a request with no Origin and no Sec-Fetch-Site (curl)',
      host: 'app.example',
      expected: 'allowed',
    },
    { name: 'allows a request with no headers at all', expected: 'allowed' },
    // Origin against Host
    {
      name: 'refuses Origin: null (opaque origin)',
      origin: 'null',
      host: 'app.example',
      expected: 'cross_site',
    },
    {
      name: 'allows an Origin matching Host over https',
      origin: 'https://app.example',
      host: 'app.example',
      expected: 'allowed',
    },
    {
      name: 'allows an Origin matching Host over plain http',
      origin: 'http://localhost:3000',
      host: 'localhost:3000',
      secure: false,
      expected: 'allowed',
    },
    {
      name: 'refuses an http Origin when the request is https',
      origin: 'http://app.example',
      host: 'app.example',
      expected: 'cross_site',
    },
    {
      name: 'refuses an https Origin when the request is plain http',
      origin: 'https://app.example',
      host: 'app.example',
      secure: false,
      expected: 'cross_site',
    },
    {
      name: 'refuses an Origin on another port',
      origin: 'https://app.example:8443',
      host: 'app.example',
      expected: 'cross_site',
    },
    {
      name: 'allows an Origin with the same non-default port',
      origin: 'https://app.example:8443',
      host: 'app.example:8443',
      expected: 'allowed',
    },
    {
      name: 'treats the default port as no port',
      origin: 'https://app.example',
      host: 'app.example:443',
      expected: 'allowed',
    },
    {
      name: 'compares the Host case-insensitively',
      origin: 'https://app.example',
      host: 'App.EXAMPLE',
      expected: 'allowed',
    },
    { name: 'refuses an Origin on another host', origin: EVIL, host: 'app.example', expected: 'cross_site' },
    {
      name: 'refuses an Origin whose host ends with ours',
      origin: 'https://app.example.evil.example',
      host: 'app.example',
      expected: 'cross_site',
    },
    {
      name: 'refuses an Origin that is a subdomain of ours',
      origin: 'https://sub.app.example',
      host: 'app.example',
      expected: 'cross_site',
    },
    {
      name: 'refuses an Origin when there is no Host',
      origin: 'https://app.example',
      expected: 'cross_site',
    },
    {
      name: 'refuses an Origin that is not a URL',
      origin: 'not a url',
      host: 'app.example',
      expected: 'cross_site',
    },
    // Trusted origins
    {
      name: 'allows a trusted Origin even when the browser says cross-site',
      site: 'cross-site',
      origin: 'https://front.example',
      host: 'api.example',
      trusted: ['https://front.example'],
      expected: 'allowed',
    },
    {
      name: 'allows a trusted Origin when the browser says same-site',
      site: 'same-site',
      origin: 'https://front.example',
      host: 'api.example',
      trusted: ['https://front.example'],
      expected: 'allowed',
    },
    {
      name: 'allows a trusted Origin without Fetch Metadata',
      origin: 'https://front.example',
      host: 'api.example',
      trusted: ['https://front.example'],
      expected: 'allowed',
    },
    {
      name: 'refuses an untrusted Origin although others are trusted',
      site: 'cross-site',
      origin: EVIL,
      host: 'api.example',
      trusted: ['https://front.example'],
      expected: 'cross_site',
    },
    {
      name: 'refuses a trusted host under the wrong scheme',
      site: 'cross-site',
      origin: 'http://front.example',
      host: 'api.example',
      trusted: ['https://front.example'],
      expected: 'cross_site',
    },
  ];
  for (const { name, expected, ...request } of cases) {
    for (const method of ['POST', 'PUT', 'PATCH', 'DELETE']) {
      test(`${name} (${method})`, () => {
        assert.equal(verdict({ ...request, method }), expected);
      });
    }
  }
});
