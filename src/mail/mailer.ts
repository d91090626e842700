import { createTransport, type Transporter } from 'nodemailer';

import type { AppContext } from '../app/context.js';

/** A plain-text message to one recipient. */
export interface MailMessage {
  to: string;
  subject: string;
  text: string;
}

/** Delivery route of sign-in mail: SMTP, the log (development only), or none. */
export type Delivery = 'smtp' | 'development_log' | 'disabled';

const SMTP_TIMEOUT_MS = 10_000;
const transports = new WeakMap<AppContext, Transporter>();

/** Returns how sign-in mail is delivered under the current configuration. */
export function mailDelivery(context: AppContext): Delivery {
  if (context.config.mail.smtpUrl) return 'smtp';
  return context.config.env === 'development' ? 'development_log' : 'disabled';
}

/**
 * Sends a message over the configured SMTP server. Without one, development mode writes the
 * message to the log with a warning, so codes can be tried locally; production refuses.
 */
export async function sendMail(context: AppContext, message: MailMessage): Promise<void> {
  const delivery = mailDelivery(context);
  if (delivery === 'disabled') throw new Error('no SMTP server is configured');
  if (delivery === 'development_log') {
    // NOTE: the whole message, code included, goes to the log. Development mode only.
    context.logger.warn(
      { event: 'mail.development_log', to: message.to, subject: message.subject, body: message.text },
      'GATEHOUSE_SMTP_URL is not set, so this email was written to the log instead of being sent (development mode only)',
    );
    return;
  }
  await transportFor(context).sendMail({ from: context.config.mail.from, to: message.to, subject: message.subject, text: message.text });
}

function transportFor(context: AppContext): Transporter {
  let transport = transports.get(context);
  if (!transport) {
    const url = new URL(context.config.mail.smtpUrl!);
    const secure = url.protocol === 'smtps:';
    const defaultPort = secure ? 465 : 587;
    // NOTE: smtp:// upgrades with STARTTLS only when the server offers it, as nodemailer does by
    // default; use smtps:// for a server across an untrusted network.
    transport = createTransport({
      host: url.hostname.replace(/^\[|\]$/g, ''),
      port: url.port ? Number(url.port) : defaultPort,
      secure,
      auth: url.username ? { user: decodeURIComponent(url.username), pass: decodeURIComponent(url.password) } : undefined,
      connectionTimeout: SMTP_TIMEOUT_MS,
      greetingTimeout: SMTP_TIMEOUT_MS,
      socketTimeout: SMTP_TIMEOUT_MS,
    });
    transports.set(context, transport);
  }
  return transport;
}
