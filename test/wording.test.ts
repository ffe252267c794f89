// The texts this library sends speak of passkeys, with Kratos's ids and context keys (Ory Elements translates by id).

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { defaultIdentitySchema } from '../src/schema.js';
import { messages } from '../src/ui/messages.js';
import { initFlow, makeApp } from './helpers/app.js';

/** Every message and label of the catalogue, built with sample arguments. */
function everyText(): { name: string; id: number; text: string }[] {
  const samples: Record<string, unknown[]> = {
    removePasskey: [{ display_name: 'Chrome on Linux', added_at: '2026-01-01T00:00:00Z', added_at_unix: 0 }],
    traitLabel: ['E-Mail', 'traits.email'],
    identifierLabel: [],
    recoverySuccessful: [new Date(Date.now() + 3_600_000)],
    generic: ['a reason'],
    required: ['email'],
    minLength: [3, 1],
    maxLength: [3, 5],
    wrongType: [['string'], 'number'],
    duplicateIdentifier: ['ada@example.com'],
    invalidPasskeyName: [64],
  };
  return Object.entries(messages).map(([name, make]) => {
    const args = samples[name] ?? (name.endsWith('Expired') ? [new Date(Date.now() - 60_000)] : []);
    const message = (make as (...a: unknown[]) => { id: number; text: string })(...args);
    return { name, id: message.id, text: message.text };
  });
}

describe('passkey wording', () => {
  it('no text speaks of passwords or security keys', () => {
    const texts = everyText();
    assert.ok(texts.length >= 40, `only ${texts.length} messages built`);
    for (const { name, text } of texts) {
      assert.doesNotMatch(text, /password|security key|social sign in/i, `${name}: ${text}`);
    }
  });

  it('4000015 keeps its id and says "passkey"', () => {
    const message = messages.noPasskeyUser();
    assert.equal(message.id, 4000015);
    assert.equal(message.text, 'This account does not exist or has no passkey set up.');
  });

  it('1060001 asks for a new passkey in whole minutes, with Kratos’s context keys', () => {
    const until = new Date(Date.now() + 60 * 60_000 - 200);
    const message = messages.recoverySuccessful(until);
    assert.equal(message.id, 1060001);
    assert.equal(message.type, 'success');
    assert.equal(
      message.text,
      'You successfully recovered your account. Please add a new passkey within the next 60 minutes.',
    );
    assert.equal(message.context?.privileged_session_expires_at, until.toISOString());
    assert.equal(message.context?.privileged_session_expires_at_unix, Math.floor(until.getTime() / 1000));
    assert.match(messages.recoverySuccessful(new Date(Date.now() + 90 * 60_000)).text, /within the next 90 minutes\.$/);
    assert.match(messages.recoverySuccessful(new Date(Date.now() + 20_000)).text, /within the next 1 minute\.$/);
  });
});

describe('the login identifier’s label', () => {
  const identifierLabel = async (app: ReturnType<typeof makeApp>) => {
    const flow = await initFlow(app.agent(), 'login');
    return flow.ui.nodes.find((n) => n.attributes.name === 'identifier')?.meta.label;
  };

  it('is the display-name trait’s title ("E-Mail" in the default schema), under Kratos’s id 1070004', async () => {
    assert.deepEqual(await identifierLabel(makeApp()), { id: 1070004, text: 'E-Mail', type: 'info' });
  });

  it('is Kratos’s "ID" when the display-name trait has no title', async () => {
    const schema = structuredClone(defaultIdentitySchema) as {
      properties: { traits: { properties: { email: { title?: string } } } };
    };
    delete schema.properties.traits.properties.email.title;
    assert.deepEqual(await identifierLabel(makeApp({ identitySchema: schema })), {
      id: 1070004,
      text: 'ID',
      type: 'info',
    });
  });
});
