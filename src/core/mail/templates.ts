/**
 * The mails keycard sends, as templates: each turns what the mail is about (the product's name, the
 * user's name, a link and how long it lasts) into a subject, a plain-text body and an HTML body. An app
 * replaces any of them (`renderMail(kind, context, overrides)`) to speak in its own voice; the defaults
 * are short, plain and say what to do when the mail was not expected.
 *
 * Everything a template puts into HTML is escaped here, and a link must be an http(s) URL, so neither a
 * username nor a crafted link can add markup or a `javascript:` target to a mail.
 */
import { KeycardError } from '../errors.js';
import type { MailMessage } from './message.js';

export const MAIL_KINDS = ['verify_email', 'password_reset', 'invitation', 'password_changed'] as const;
export type MailKind = (typeof MAIL_KINDS)[number];

export interface MailContext {
  /** Who is writing: the product's name (`Acme`), shown in subjects and greetings. */
  appName: string;
  /** The user's name, when the mail is to a user. */
  username?: string;
  /** The link to follow (verification, reset, invitation); an http(s) URL. */
  link?: string;
  /** How long the link works, in minutes. */
  expiresInMinutes?: number;
}

export type MailContent = Omit<MailMessage, 'to'>;
export type MailTemplate = (context: MailContext) => MailContent;

const ESCAPES: Readonly<Record<string, string>> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  "'": '&#39;',
};

/** Text as HTML: the five characters that can open markup or end an attribute, escaped. The pages use it too. */
export function escapeHTML(value: unknown): string {
  return String(value).replace(/[&<>"']/g, (character) => ESCAPES[character] as string);
}

/** A mail's HTML: one paragraph per entry, the link as a button-like anchor, nothing remote to load. */
function html(paragraphs: string[], link?: { href: string; label: string }): string {
  const body = paragraphs.map((text) => `<p>${escapeHTML(text)}</p>`);
  if (link) {
    body.splice(
      1,
      0,
      `<p><a href="${escapeHTML(link.href)}" style="display:inline-block;padding:10px 16px;background:#2563eb;color:#ffffff;text-decoration:none;border-radius:6px">${escapeHTML(link.label)}</a></p>`,
      `<p style="color:#6b7280;font-size:13px">Or open this address: ${escapeHTML(link.href)}</p>`,
    );
  }
  return `<!doctype html><html><body style="font-family:system-ui,sans-serif;line-height:1.5;color:#111827">${body.join('')}</body></html>`;
}

function text(paragraphs: string[], link?: string): string {
  const lines = [...paragraphs];
  if (link) lines.splice(1, 0, link);
  return `${lines.join('\n\n')}\n`;
}

const hello = (context: MailContext) => (context.username ? `Hello ${context.username},` : 'Hello,');
const lasts = (context: MailContext) =>
  context.expiresInMinutes === undefined
    ? ''
    : ` The link works for ${context.expiresInMinutes} minutes, once.`;

function withLink(
  context: MailContext,
  subject: string,
  ask: string,
  label: string,
  unexpected: string,
): MailContent {
  const link = context.link as string;
  const paragraphs = [`${hello(context)} ${ask}${lasts(context)}`, unexpected];
  return { subject, text: text(paragraphs, link), html: html(paragraphs, { href: link, label }) };
}

export const DEFAULT_TEMPLATES: Readonly<Record<MailKind, MailTemplate>> = Object.freeze({
  verify_email: (context) =>
    withLink(
      context,
      `Confirm your email address for ${context.appName}`,
      `Follow this link to confirm that this address is yours on ${context.appName}.`,
      'Confirm my address',
      'If you did not ask for this, ignore this mail: nothing changes.',
    ),
  password_reset: (context) =>
    withLink(
      context,
      `Reset your ${context.appName} password`,
      `Someone asked to reset the password of your ${context.appName} account. Follow this link to choose a new one; it signs you out everywhere.`,
      'Choose a new password',
      'If it was not you, ignore this mail: your password stays as it is.',
    ),
  invitation: (context) =>
    withLink(
      context,
      `You are invited to ${context.appName}`,
      `You are invited to create an account on ${context.appName}. Follow this link to choose your name and password.`,
      'Create my account',
      'If you did not expect this, ignore this mail.',
    ),
  password_changed: (context) => {
    const paragraphs = [
      `${hello(context)} the password of your ${context.appName} account was just changed.`,
      'If that was not you, reset your password now and tell the administrator.',
    ];
    return {
      subject: `Your ${context.appName} password was changed`,
      text: text(paragraphs),
      html: html(paragraphs),
    };
  },
});

/** Kinds whose mail is built around a link, which must then be given. */
const NEEDS_LINK: ReadonlySet<MailKind> = new Set(['verify_email', 'password_reset', 'invitation']);

function checkLink(link: string): void {
  let url: URL;
  try {
    url = new URL(link);
  } catch {
    throw new KeycardError('invalid_configuration', 'a mail link must be an absolute http(s) URL');
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') {
    throw new KeycardError('invalid_configuration', 'a mail link must be an absolute http(s) URL');
  }
}

/** The subject and bodies of a mail of `kind`, from the app's template for it or the default. */
export function renderMail(
  kind: MailKind,
  context: MailContext,
  overrides: Partial<Record<MailKind, MailTemplate>> = {},
): MailContent {
  if (NEEDS_LINK.has(kind)) {
    if (context.link === undefined)
      throw new KeycardError('invalid_configuration', `a ${kind} mail needs a link`);
    checkLink(context.link);
  }
  const template = overrides[kind] ?? DEFAULT_TEMPLATES[kind];
  return template(context);
}
