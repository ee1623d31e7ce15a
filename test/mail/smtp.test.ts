/**
 * keycard/mail's smtpMailer against a real SMTP server in this process (the `smtp-server` package), each
 * delivered message read back with `mailparser`: what arrives, authentication with the URL's credentials,
 * failures as `mail_unavailable` without the password, header injection refused before any connection,
 * and simultaneous sends.
 */
import assert from 'node:assert/strict';
import { createServer, type Server, type Socket } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { KeycardError, type MailMessage, renderMail } from 'keycard';
import { smtpMailer } from 'keycard/mail';
import type { ParsedMail } from 'mailparser';
import { type Inbox, startInbox, SMTP_USER as USER } from '../helpers/inbox.js';

function resetMail(to: string): MailMessage {
  return {
    to,
    ...renderMail('password_reset', {
      appName: 'Acme',
      username: 'ada',
      link: 'https://auth.example.com/reset#token=abc123',
      expiresInMinutes: 30,
    }),
  };
}

async function refusal(promise: Promise<unknown>): Promise<KeycardError> {
  try {
    await promise;
  } catch (error) {
    assert.ok(error instanceof KeycardError, String(error));
    return error;
  }
  assert.fail('expected a refusal');
}

describe('smtpMailer', () => {
  let inbox: Inbox;
  before(async () => {
    inbox = await startInbox();
  });
  after(async () => {
    await inbox.close();
  });

  test('delivers text and HTML, from the sender, to the one recipient, the link intact', async () => {
    const mailer = smtpMailer({ url: inbox.url, from: '"Acme" <no-reply@acme.example>' });
    await mailer.send(resetMail('ada@example.com'));
    await mailer.close?.();
    const message = inbox.messages.at(-1) as ParsedMail;
    assert.equal(message.subject, 'Reset your Acme password');
    assert.deepEqual(inbox.envelopes.at(-1), { from: 'no-reply@acme.example', to: ['ada@example.com'] });
    assert.equal(message.from?.value[0]?.name, 'Acme');
    assert.match(message.text ?? '', /^Hello ada, .*30 minutes/m);
    assert.ok((message.text ?? '').includes('https://auth.example.com/reset#token=abc123'));
    const href = /<a href="([^"]+)"/.exec(String(message.html))?.[1];
    assert.equal(href, 'https://auth.example.com/reset#token=abc123');
  });

  test('twenty simultaneous sends all arrive, each to its own recipient', async () => {
    const mailer = smtpMailer({ url: inbox.url, from: 'no-reply@acme.example' });
    const before = inbox.messages.length;
    const recipients = Array.from({ length: 20 }, (_, i) => `user${i}@example.com`);
    await Promise.all(recipients.map((to) => mailer.send(resetMail(to))));
    await mailer.close?.();
    const delivered = inbox.envelopes.slice(before).flatMap((envelope) => envelope.to);
    assert.deepEqual(delivered.sort(), [...recipients].sort());
  });

  test('a wrong password is mail_unavailable, naming the server but never the password', async () => {
    const url = `smtp://${USER}:wrong-password-value@127.0.0.1:${inbox.port}`;
    const error = await refusal(
      smtpMailer({ url, from: 'a@example.com' }).send(resetMail('ada@example.com')),
    );
    assert.equal(error.code, 'mail_unavailable');
    assert.match(error.message, new RegExp(`smtp://127\\.0\\.0\\.1:${inbox.port}`));
    assert.doesNotMatch(error.message, /wrong-password-value/);
    assert.ok(error.cause, 'the transport error is kept for the log');
  });

  test('a closed port, and a server that never greets, are mail_unavailable instead of a hang', async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const closedPort = (closed.address() as { port: number }).port;
    await new Promise<void>((resolve) => closed.close(() => resolve()));
    const refused = await refusal(
      smtpMailer({ url: `smtp://127.0.0.1:${closedPort}`, from: 'a@example.com' }).send(
        resetMail('ada@example.com'),
      ),
    );
    assert.equal(refused.code, 'mail_unavailable');

    const sockets: Socket[] = [];
    const silent: Server = createServer((socket) => sockets.push(socket)); // accepts, says nothing
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    const silentPort = (silent.address() as { port: number }).port;
    try {
      const mailer = smtpMailer({
        url: `smtp://127.0.0.1:${silentPort}`,
        from: 'a@example.com',
        timeoutMs: 300,
      });
      const hung = await refusal(mailer.send(resetMail('ada@example.com')));
      assert.equal(hung.code, 'mail_unavailable');
    } finally {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => silent.close(() => resolve()));
    }
  });

  test('a recipient or subject that could add a header is refused before any connection', async () => {
    const mailer = smtpMailer({ url: inbox.url, from: 'no-reply@acme.example' });
    const connections = inbox.connections;
    const bad: [string, Partial<MailMessage>][] = [
      ['CRLF in the recipient', { to: 'ada@example.com\r\nBcc: eve@example.com' }],
      ['a list', { to: 'ada@example.com, eve@example.com' }],
      ['a display name', { to: 'Ada <ada@example.com>' }],
      ['no domain', { to: 'ada@' }],
      ['too long', { to: `${'a'.repeat(250)}@example.com` }],
      ['CRLF in the subject', { subject: 'Hello\r\nBcc: eve@example.com' }],
      ['an empty subject', { subject: '' }],
      ['no HTML', { html: '' }],
    ];
    for (const [what, change] of bad) {
      const error = await refusal(mailer.send({ ...resetMail('ada@example.com'), ...change }));
      assert.equal(error.code, 'invalid_request', what);
    }
    assert.equal(inbox.connections, connections, 'nothing reached the server');
    await mailer.close?.();
  });

  test('a bad URL or sender is a configuration error that never shows the password', () => {
    const cases: [string, string, RegExp][] = [
      ['http://u:hunter22@mail.example.com', 'a@example.com', /must start with smtp:\/\/ or smtps:\/\//],
      ['not a url hunter22', 'a@example.com', /is not a URL/],
      ['smtp://u:hunter22@mail.example.com?tls=off', 'a@example.com', /unknown option 'tls'/],
      [
        'smtp://u:hunter22@mail.example.com?starttls=maybe',
        'a@example.com',
        /starttls may only be 'required'/,
      ],
      ['smtp://u:hunter22@mail.example.com', 'a@example.com\r\nBcc: eve@example.com', /sender/],
    ];
    for (const [url, from, message] of cases) {
      assert.throws(
        () => smtpMailer({ url, from }),
        (error: unknown) =>
          error instanceof KeycardError &&
          error.code === 'invalid_configuration' &&
          message.test(error.message) &&
          !error.message.includes('hunter22'),
        url,
      );
    }
  });
});
