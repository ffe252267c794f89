// A real SMTP server in the test process (smtp-server from npm), every message parsed with mailparser: tests read
// the codes out of mail that went over the wire, as a user would out of their inbox. Nothing here is a mock of the
// courier: the app's own courier (nodemailer) connects to this server on 127.0.0.1.

import type { AddressInfo } from 'node:net';
import { type ParsedMail, simpleParser } from 'mailparser';
import { SMTPServer } from 'smtp-server';

/** One delivered message: the SMTP envelope and the parsed mail. */
export interface Mail {
  /** Envelope recipients (RCPT TO), lower-cased. */
  to: string[];
  /** Envelope sender (MAIL FROM). */
  from: string;
  subject: string;
  /** The plain-text body. */
  text: string;
  parsed: ParsedMail;
  receivedAt: number;
}

export interface Inbox {
  /** `smtp://127.0.0.1:<port>`, for nodemailer.createTransport. */
  url: string;
  port: number;
  /** Every message received, in order. */
  mails: Mail[];
  /** Messages for `to`, in order. */
  mailsTo(to: string): Mail[];
  /**
   * The next message to `to` that this inbox has not handed out yet (each one is returned once), waiting for it
   * up to `timeout` ms (default 5000). `match` narrows which messages count (e.g. by subject).
   */
  waitForMail(to: string, options?: { timeout?: number; match?: (mail: Mail) => boolean }): Promise<Mail>;
  /** Fails when any message to `to` arrives within `ms` (or has already arrived and not been handed out). */
  expectNoMail(to: string, ms: number): Promise<void>;
  close(): Promise<void>;
}

/** The 6-digit code in a mail's text body (links left out: a flow id may hold six digits); throws unless one. */
export function codeFrom(mail: Mail): string {
  const codes = mail.text.replace(/https?:\/\/\S+/g, ' ').match(/\b\d{6}\b/g) ?? [];
  const distinct = [...new Set(codes)];
  if (distinct.length !== 1) {
    throw new Error(`expected one 6-digit code in the mail "${mail.subject}", found ${JSON.stringify(distinct)}`);
  }
  return distinct[0]!;
}

/** The first http(s) URL in a mail's text body that contains `contains`. */
export function linkFrom(mail: Mail, contains = ''): string {
  const link = (mail.text.match(/https?:\/\/[^\s<>"]+/g) ?? []).find((url) => url.includes(contains));
  if (!link) throw new Error(`no link containing "${contains}" in the mail "${mail.subject}"`);
  return link;
}

/** Start an SMTP server on 127.0.0.1 at a free port: no auth required, no TLS (plain SMTP over loopback). */
export async function startSmtp(): Promise<Inbox> {
  const mails: Mail[] = [];
  const handedOut = new Set<Mail>();
  const waiters = new Set<() => void>();
  const errors: unknown[] = [];

  const server = new SMTPServer({
    authOptional: true,
    secure: false,
    hideSTARTTLS: true,
    disabledCommands: ['STARTTLS'],
    logger: false,
    size: 1024 * 1024,
    onData(stream, session, callback) {
      simpleParser(stream).then(
        (parsed) => {
          mails.push({
            to: session.envelope.rcptTo.map((r) => r.address.toLowerCase()),
            from: session.envelope.mailFrom ? session.envelope.mailFrom.address : '',
            subject: parsed.subject ?? '',
            text: parsed.text ?? '',
            parsed,
            receivedAt: Date.now(),
          });
          for (const wake of waiters) wake();
          callback();
        },
        (error: Error) => {
          errors.push(error);
          callback(error);
        },
      );
    },
  });
  server.on('error', (error) => errors.push(error));

  await new Promise<void>((resolve, reject) => {
    server.server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.server.address() as AddressInfo;

  const mailsTo = (to: string) => mails.filter((m) => m.to.includes(to.toLowerCase()));
  const pending = (to: string, match: (mail: Mail) => boolean) =>
    mailsTo(to).find((m) => !handedOut.has(m) && match(m));

  return {
    url: `smtp://127.0.0.1:${port}`,
    port,
    mails,
    mailsTo,
    waitForMail(to, { timeout = 5000, match = () => true } = {}) {
      return new Promise<Mail>((resolve, reject) => {
        const check = () => {
          const mail = pending(to, match);
          if (!mail) return false;
          handedOut.add(mail);
          finish();
          resolve(mail);
          return true;
        };
        const timer = setTimeout(() => {
          finish();
          const seen = mails.map((m) => `${m.to.join(',')}: ${m.subject}`);
          reject(new Error(`no mail to ${to} within ${timeout} ms (errors: ${errors.length}; received: ${seen})`));
        }, timeout);
        const finish = () => {
          clearTimeout(timer);
          waiters.delete(wake);
        };
        const wake = () => void check();
        waiters.add(wake);
        check();
      });
    },
    async expectNoMail(to, ms) {
      await new Promise((resolve) => setTimeout(resolve, ms));
      const unexpected = mailsTo(to).filter((m) => !handedOut.has(m));
      if (unexpected.length > 0) {
        throw new Error(`expected no mail to ${to}, got: ${unexpected.map((m) => m.subject).join('; ')}`);
      }
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
      }),
  };
}
