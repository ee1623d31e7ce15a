/**
 * A real SMTP server in the test process (`smtp-server`), which keeps every delivered message read back
 * with `mailparser`: what keycard's mail tests send through, and follow links from.
 */
import { type ParsedMail, simpleParser } from 'mailparser';
import { SMTPServer } from 'smtp-server';

export const SMTP_USER = 'mailer';
export const SMTP_PASSWORD = 'p@ss:w/rd secret';

export interface Inbox {
  url: string;
  port: number;
  messages: ParsedMail[];
  envelopes: { from: string; to: string[] }[];
  connections: number;
  close(): Promise<void>;
}

export async function startInbox(): Promise<Inbox> {
  const inbox = { messages: [] as ParsedMail[], envelopes: [] as Inbox['envelopes'], connections: 0 };
  const server = new SMTPServer({
    allowInsecureAuth: true,
    disabledCommands: ['STARTTLS'],
    logger: false,
    onConnect(_session, callback) {
      inbox.connections++;
      callback();
    },
    onAuth(auth, _session, callback) {
      if (auth.username === SMTP_USER && auth.password === SMTP_PASSWORD) {
        return callback(null, { user: SMTP_USER });
      }
      return callback(new Error('Invalid username or password'));
    },
    onData(stream, session, callback) {
      simpleParser(stream).then(
        (parsed) => {
          inbox.messages.push(parsed);
          inbox.envelopes.push({
            from: session.envelope.mailFrom ? session.envelope.mailFrom.address : '',
            to: session.envelope.rcptTo.map((rcpt) => rcpt.address),
          });
          callback();
        },
        (error: Error) => callback(error),
      );
    },
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.server.address() as { port: number }).port;
  return Object.assign(inbox, {
    port,
    url: `smtp://${SMTP_USER}:${encodeURIComponent(SMTP_PASSWORD)}@127.0.0.1:${port}`,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  });
}

/** The messages delivered to `address`, oldest first. */
export function mailTo(inbox: Inbox, address: string): ParsedMail[] {
  return inbox.messages.filter((message) => {
    const to = Array.isArray(message.to) ? message.to : message.to ? [message.to] : [];
    return to.some((entry) => entry.value.some((mailbox) => mailbox.address === address));
  });
}

/** The `token` of the first link in a message's text that goes to `path`. */
export function linkToken(message: ParsedMail, path: string): string {
  const link = /https?:\/\/\S+/g;
  for (const match of (message.text ?? '').matchAll(link)) {
    const url = new URL(match[0]);
    if (url.pathname === path) {
      const token = url.searchParams.get('token');
      if (token) return token;
    }
  }
  throw new Error(`no link to ${path} in: ${message.text}`);
}
