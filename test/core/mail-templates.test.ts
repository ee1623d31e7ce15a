/**
 * The mail templates: every kind renders a subject, a text and an HTML body; what goes into HTML is
 * escaped; a link must be http(s); an app's template replaces the default for its kind only.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { checkMessage, isMailAddress, KeycardError, MAIL_KINDS, renderMail } from 'keycard';

const LINK = 'https://auth.example.com/verify#token=t0k3n';

test('every kind renders one-line subject, text and HTML that carry the link', () => {
  for (const kind of MAIL_KINDS) {
    const mail = renderMail(kind, { appName: 'Acme', username: 'ada', link: LINK, expiresInMinutes: 30 });
    assert.ok(mail.subject.includes('Acme') && !/[\r\n]/.test(mail.subject), kind);
    assert.doesNotThrow(() => checkMessage({ to: 'ada@example.com', ...mail }), kind);
    if (kind !== 'password_changed') {
      assert.ok(mail.text.includes(LINK), `${kind}: text has the link`);
      assert.ok(mail.html.includes(`href="${LINK}"`), `${kind}: HTML links it`);
      assert.ok(mail.text.includes('30 minutes'), `${kind}: says how long it lasts`);
    }
  }
});

test('names and links are escaped in HTML; a link must be an absolute http(s) URL', () => {
  const mail = renderMail('password_reset', {
    appName: 'Acme & <Co>',
    username: '<img src=x onerror=alert(1)>',
    link: 'https://auth.example.com/reset?a=1&b="2"',
  });
  assert.doesNotMatch(mail.html, /<img/);
  assert.match(mail.html, /&lt;img src=x onerror=alert\(1\)&gt;/);
  assert.match(mail.html, /Acme &amp; &lt;Co&gt;/);
  assert.match(mail.html, /href="https:\/\/auth\.example\.com\/reset\?a=1&amp;b=&quot;2&quot;"/);
  for (const link of ['javascript:alert(1)', 'data:text/html,hi', '/relative/path', 'not a url']) {
    assert.throws(
      () => renderMail('verify_email', { appName: 'Acme', link }),
      (error: unknown) => error instanceof KeycardError && error.code === 'invalid_configuration',
      link,
    );
  }
  assert.throws(() => renderMail('invitation', { appName: 'Acme' }), /needs a link/);
});

test("an app's template replaces only its kind", () => {
  const overrides = {
    verify_email: () => ({ subject: 'Bitte bestätigen', text: 'Text', html: '<p>HTML</p>' }),
  };
  assert.equal(
    renderMail('verify_email', { appName: 'Acme', link: LINK }, overrides).subject,
    'Bitte bestätigen',
  );
  assert.equal(
    renderMail('password_reset', { appName: 'Acme', link: LINK }, overrides).subject,
    'Reset your Acme password',
  );
});

test('plain addresses only', () => {
  for (const good of ['ada@example.com', 'a.b+tag@sub.example.co.uk', 'ü@exämple.de'])
    assert.ok(isMailAddress(good), good);
  for (const bad of [
    '',
    'ada',
    'ada@',
    '@example.com',
    'ada@example',
    'a b@example.com',
    'Ada <ada@example.com>',
    'a@example.com,b@example.com',
    'a@example.com\n',
    `${'a'.repeat(250)}@example.com`,
  ]) {
    assert.ok(!isMailAddress(bad), JSON.stringify(bad));
  }
});
