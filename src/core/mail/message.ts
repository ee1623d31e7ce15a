/**
 * Mail, as the core sees it: a message (one recipient, a subject, a plain-text and an HTML body) and a
 * `Mailer` that delivers it. How it travels is the mailer's business: `keycard/mail`'s `smtpMailer`, or an
 * app's own (an email API, a queue) — any object with `send`. The core checks every message before it
 * leaves: a recipient or subject that could smuggle a header (CR, LF) never reaches a transport.
 */
import { KeycardError } from '../errors.js';

export interface MailMessage {
  /** One address (`ada@example.com`); never a list, never a display name. */
  to: string;
  subject: string;
  text: string;
  html: string;
}

export interface Mailer {
  /** Resolves once the message is accepted for delivery; rejects with `mail_unavailable` otherwise. */
  send(message: MailMessage): Promise<void>;
  /** Closes pooled connections, if the mailer keeps any. */
  close?(): Promise<void>;
}

/** RFC 5321's limit on a forward path (254 characters of address). */
export const MAX_ADDRESS_LENGTH = 254;
const MAX_SUBJECT_LENGTH = 200;

/**
 * A plain address: one `@`, a local part and a domain with a dot, no spaces, no control characters, no
 * brackets or commas (which would make it a list or a display name). Deliberately narrower than RFC 5322:
 * what users type, not every historical form.
 */
const ADDRESS = /^[^\s@<>()[\]\\,;:"\p{Cc}]+@[^\s@<>()[\]\\,;:"\p{Cc}]+\.[^\s@<>()[\]\\,;:"\p{Cc}]+$/u;

export function isMailAddress(value: string): boolean {
  return value.length <= MAX_ADDRESS_LENGTH && ADDRESS.test(value);
}

/** The message as it may leave, or an `invalid_request` naming what is wrong. */
export function checkMessage(message: MailMessage): MailMessage {
  if (typeof message.to !== 'string' || !isMailAddress(message.to)) {
    throw new KeycardError('invalid_request', 'the recipient is not a single plain email address', {
      field: 'to',
    });
  }
  if (
    typeof message.subject !== 'string' ||
    message.subject === '' ||
    message.subject.length > MAX_SUBJECT_LENGTH ||
    /\p{Cc}/u.test(message.subject)
  ) {
    throw new KeycardError(
      'invalid_request',
      `a mail subject is one line of 1 to ${MAX_SUBJECT_LENGTH} characters`,
      { field: 'subject' },
    );
  }
  for (const part of ['text', 'html'] as const) {
    if (typeof message[part] !== 'string' || message[part] === '') {
      throw new KeycardError('invalid_request', `a mail needs a ${part} body`, { field: part });
    }
  }
  return { to: message.to, subject: message.subject, text: message.text, html: message.html };
}
