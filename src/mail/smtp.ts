/**
 * `smtpMailer`: mail through an SMTP server named by URL, with nodemailer (a dependency; pure JavaScript).
 *
 *   smtp://user:password@mail.example.com:587   STARTTLS when the server offers it (required: `?starttls=required`)
 *   smtps://user:password@mail.example.com:465  TLS from the first byte
 *
 * Percent-encode a user or password that holds `@`, `:` or `/`. Connection, greeting and socket
 * timeouts are bounded (`timeoutMs`, default 10 s) so a mail server that hangs fails a request instead of
 * holding it; a failure is a `mail_unavailable` KeycardError whose message names the server without its
 * password, with the transport's error as `cause` for the log.
 */
import { checkMessage, KeycardError, type Mailer, type MailMessage } from 'keycard';
import { redactURL } from 'keycard/stores';

export interface SMTPMailerOptions {
  /** `smtp://` or `smtps://` URL, with the credentials in its user info. */
  url: string;
  /** The sender: `keycard@example.com` or `"Acme" <no-reply@acme.example>`. */
  from: string;
  /** Bound on connecting, the greeting and each read or write; default 10 000 ms. */
  timeoutMs?: number;
}

interface Transport {
  sendMail(message: Record<string, unknown>): Promise<unknown>;
  close(): void;
}

interface Target {
  host: string;
  port: number;
  secure: boolean;
  requireTLS: boolean;
  auth: { user: string; pass: string } | undefined;
}

function parseSMTPURL(url: string): Target {
  const shown = redactURL(url);
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new KeycardError(
      'invalid_configuration',
      // Not shown: what does not parse cannot be trusted to hide its password.
      'the SMTP URL is not a URL: expected smtp://user:password@host:port',
    );
  }
  if (parsed.protocol !== 'smtp:' && parsed.protocol !== 'smtps:') {
    throw new KeycardError(
      'invalid_configuration',
      `the SMTP URL ${shown} must start with smtp:// or smtps://`,
    );
  }
  if (!parsed.hostname) throw new KeycardError('invalid_configuration', `the SMTP URL ${shown} has no host`);
  const secure = parsed.protocol === 'smtps:';
  for (const name of parsed.searchParams.keys()) {
    if (name !== 'starttls') {
      throw new KeycardError(
        'invalid_configuration',
        `the SMTP URL ${shown}: unknown option '${name}'; known: starttls`,
      );
    }
  }
  const starttls = parsed.searchParams.get('starttls');
  if (starttls !== null && starttls !== 'required') {
    throw new KeycardError('invalid_configuration', `the SMTP URL ${shown}: starttls may only be 'required'`);
  }
  const user = decodeURIComponent(parsed.username);
  return {
    host: parsed.hostname.replace(/^\[|\]$/g, ''),
    port: parsed.port ? Number(parsed.port) : secure ? 465 : 587,
    secure,
    requireTLS: starttls === 'required',
    auth: user ? { user, pass: decodeURIComponent(parsed.password) } : undefined,
  };
}

export function smtpMailer(options: SMTPMailerOptions): Mailer {
  const target = parseSMTPURL(options.url);
  if (typeof options.from !== 'string' || options.from.trim() === '' || /[\r\n]/.test(options.from)) {
    throw new KeycardError(
      'invalid_configuration',
      'the mail sender (from) must be one line, such as no-reply@example.com',
    );
  }
  const timeout = options.timeoutMs ?? 10_000;
  const server = `${target.secure ? 'smtps' : 'smtp'}://${target.host}:${target.port}`;
  let transport: Promise<Transport> | undefined;
  const open = async (): Promise<Transport> => {
    const nodemailer = (await import('nodemailer')).default;
    return nodemailer.createTransport({
      host: target.host,
      port: target.port,
      secure: target.secure,
      requireTLS: target.requireTLS,
      ...(target.auth ? { auth: target.auth } : {}),
      connectionTimeout: timeout,
      greetingTimeout: timeout,
      socketTimeout: timeout,
      disableFileAccess: true,
      disableUrlAccess: true,
    }) as unknown as Transport;
  };
  return {
    async send(message: MailMessage): Promise<void> {
      const checked = checkMessage(message);
      transport ??= open();
      try {
        await (await transport).sendMail({ from: options.from, ...checked });
      } catch (error) {
        const reason = (error as { code?: string; responseCode?: number }).responseCode
          ? `the server answered ${(error as { responseCode: number }).responseCode}`
          : ((error as { code?: string }).code ?? 'it failed');
        throw new KeycardError('mail_unavailable', `mail could not be sent through ${server}: ${reason}`, {
          cause: error,
        });
      }
    },
    async close(): Promise<void> {
      const opened = transport;
      transport = undefined;
      if (opened) (await opened).close();
    },
  };
}
