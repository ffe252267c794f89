// The SMTP test helper and the example's nodemailer courier, against each other: what the end-to-end tests rely on
// when they read codes out of mail (and when they claim that nothing was sent) must itself be able to fail.

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { compose, nodemailerCourier } from '../examples/basic/mailer.js';
import type { CourierMessage, CourierTemplate } from '../src/index.js';
import { codeFrom, type Inbox, linkFrom, startSmtp } from './helpers/smtp.js';

const model = (extra: Partial<CourierMessage['model']> = {}): CourierMessage['model'] => ({
  to: 'someone@example.com',
  requestUrl: 'http://localhost:3000/auth/self-service/recovery/browser',
  expiresInMinutes: 60,
  ...extra,
});

describe('test/helpers/smtp.ts with the example courier (examples/basic/mailer.ts)', () => {
  let inbox: Inbox;
  before(async () => {
    inbox = await startSmtp();
  });
  after(async () => {
    await inbox.close();
  });

  it('delivers a recovery code over SMTP; codeFrom reads it from the parsed text body', async () => {
    const courier = nodemailerCourier(inbox.url);
    await courier.send({
      template: 'recovery_code_valid',
      to: 'Ada@Example.com',
      model: model({ to: 'Ada@Example.com', recoveryCode: '043210' }),
    });
    const mail = await inbox.waitForMail('ada@example.com', { timeout: 2000 });
    assert.deepEqual(mail.to, ['ada@example.com']);
    assert.equal(mail.subject, 'Your account recovery code');
    assert.equal(codeFrom(mail), '043210', 'leading zeros kept');
    assert.match(mail.text, /expires in 60 minutes/);
    assert.equal(mail.parsed.from?.value[0]?.address, 'no-reply@localhost');
    // Handed out once: the same mail is not returned again.
    await assert.rejects(inbox.waitForMail('ada@example.com', { timeout: 100 }), /no mail to ada@example.com/);
  });

  it('a verification mail carries the code and the link', async () => {
    // A flow id with six digits in a row must not be taken for the code.
    const url = 'http://localhost:3000/auth/self-service/verification?flow=4a084998-b2c1&code=123456';
    await nodemailerCourier(inbox.url).send({
      template: 'verification_code_valid',
      to: 'grace@example.com',
      model: model({ to: 'grace@example.com', verificationCode: '123456', verificationUrl: url }),
    });
    const mail = await inbox.waitForMail('grace@example.com');
    assert.equal(codeFrom(mail), '123456');
    assert.equal(linkFrom(mail, '/self-service/verification'), url);
  });

  it('expectNoMail fails when a message arrives, and passes when none does', async () => {
    await inbox.expectNoMail('nobody@example.com', 100);
    const sending = nodemailerCourier(inbox.url).send({
      template: 'recovery_code_invalid',
      to: 'nobody@example.com',
      model: model({ to: 'nobody@example.com' }),
    });
    await assert.rejects(inbox.expectNoMail('nobody@example.com', 300), /expected no mail to nobody@example.com/);
    await sending;
  });

  it('codeFrom refuses a mail without exactly one code', () => {
    for (const template of ['recovery_code_invalid', 'verification_code_invalid'] as CourierTemplate[]) {
      const { text } = compose({ template, to: 'x@example.com', model: model() });
      assert.throws(() => codeFrom({ to: [], from: '', subject: template, text, parsed: {} as never, receivedAt: 0 }));
    }
  });
});
