// The courier contract: how recovery and verification codes reach users (the app's mailer), and a development one.

import createDebug from 'debug';
import type { JsonValue } from './store/types.js';

/** Kratos's template names for the mails the `code` method sends. */
export type CourierTemplate =
  | 'recovery_code_valid'
  | 'recovery_code_invalid'
  | 'verification_code_valid'
  | 'verification_code_invalid';

/** Template data, as Kratos gives it to its templates (camelCase). Which fields are set depends on the template. */
export interface CourierModel {
  /** The recipient address (as the user typed it, trimmed). */
  to: string;
  /** `recovery_code_valid`: the 6-digit code. */
  recoveryCode?: string;
  /** `verification_code_valid`: the 6-digit code. */
  verificationCode?: string;
  /** `verification_code_valid`: a link that submits the code (`GET /self-service/verification?flow=&code=`). */
  verificationUrl?: string;
  /** `*_valid`: the identity the code is for (its Kratos JSON: id, traits, addresses, ...). */
  identity?: Record<string, unknown>;
  /** The flow's `request_url`. */
  requestUrl: string;
  /** `transient_payload` of the submit that caused the message, if any. */
  transientPayload?: { [key: string]: JsonValue };
  /** Minutes until the code expires (`lifespans.code`). */
  expiresInMinutes: number;
}

/** One message for the courier to deliver. */
export interface CourierMessage {
  template: CourierTemplate;
  /** The recipient address. */
  to: string;
  model: CourierModel;
}

/**
 * The app's mailer. `send` is called after the answer is on its way (never delaying it, so that known and unknown
 * addresses answer alike); a rejection is logged (without the code or address) and otherwise ignored.
 *
 * @example
 * const transport = nodemailer.createTransport(process.env.SMTP_URL);
 * const courier: Courier = {
 *   send: ({ to, template, model }) =>
 *     transport.sendMail({ from: 'auth@example.com', to, subject: 'Your code', text: `Code: ${model.recoveryCode ?? model.verificationCode}` }),
 * };
 */
export interface Courier {
  send(message: CourierMessage): Promise<unknown> | unknown;
}

const log = createDebug('express-passkeys:courier');

/**
 * A courier for development: prints each message (with its code and link) to stderr. Never use it in production:
 * the codes end up in your logs. Under `NODE_ENV=production` it refuses to print and logs a warning instead.
 *
 * @example
 * app.use('/auth', passkeys({ rp, store: new MemoryStore(), courier: consoleCourier() }));
 */
export function consoleCourier(options: { write?: (line: string) => void } = {}): Courier {
  const write = options.write ?? ((line: string) => process.stderr.write(`${line}\n`));
  return {
    send: function consoleCourierSend(message: CourierMessage) {
      if (process.env.NODE_ENV === 'production') {
        log('consoleCourier is for development; it does not print messages under NODE_ENV=production');
        console.warn(
          'express-passkeys: consoleCourier() does not print codes under NODE_ENV=production. Pass a real `courier`.',
        );
        return;
      }
      const { model } = message;
      const code = model.recoveryCode ?? model.verificationCode;
      const lines = [`[express-passkeys consoleCourier] ${message.template} to ${message.to}`];
      if (code) lines.push(`  code: ${code}`);
      if (model.verificationUrl) lines.push(`  link: ${model.verificationUrl}`);
      lines.push(`  expires in ${model.expiresInMinutes} minutes`);
      write(lines.join('\n'));
    },
  };
}
