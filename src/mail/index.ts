/** keycard/mail: the SMTP mailer. The message and template types live in `keycard`. */
export { type SMTPMailerOptions, smtpMailer } from './smtp.js';
