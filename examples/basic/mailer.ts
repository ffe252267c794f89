// The example's courier: recovery and verification codes by mail, through nodemailer (any SMTP server).
//
// The passkeys router calls `courier.send({ template, to, model })` with Kratos's template names and data; this
// file turns that into a mail. nodemailer is the app's dependency, not the library's.
import nodemailer from 'nodemailer';
import type { Courier, CourierMessage } from '../../src/index.js';

/** A courier that sends every message through the SMTP server at `smtpUrl` (`smtp://user:pass@host:587`). */
export function nodemailerCourier(smtpUrl: string, from = 'Passkeys Example <no-reply@localhost>'): Courier {
  const transport = nodemailer.createTransport(smtpUrl);
  return {
    async send(message) {
      await transport.sendMail({ from, to: message.to, ...compose(message) });
    },
  };
}

/** Subject and plain-text body for each of Kratos's templates, from the template data (`model`). */
export function compose({ template, model }: CourierMessage): { subject: string; text: string } {
  const expires = `It expires in ${model.expiresInMinutes} minutes.`;
  const notYou = 'If you did not ask for this, ignore this mail.';
  switch (template) {
    case 'recovery_code_valid':
      return {
        subject: 'Your account recovery code',
        text: `Enter this code to get back into your account and add a new passkey:\n\n${model.recoveryCode}\n\n${expires}\n${notYou}\n`,
      };
    case 'recovery_code_invalid':
      return {
        subject: 'Account recovery',
        text: `Someone asked to recover an account with this address, but there is no account for it.\n${notYou}\n`,
      };
    case 'verification_code_valid':
      return {
        subject: 'Verify your email address',
        text: `Enter this code to verify your address:\n\n${model.verificationCode}\n\nor open this link:\n${model.verificationUrl}\n\n${expires}\n${notYou}\n`,
      };
    case 'verification_code_invalid':
      return {
        subject: 'Address verification',
        text: `Someone asked to verify this address, but there is no account for it.\n${notYou}\n`,
      };
  }
}
