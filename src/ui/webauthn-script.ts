// The browser helper's served bytes (compiled from src/browser/webauthn.ts) and their SRI hash.
import { createHash } from 'node:crypto';
import { WEBAUTHN_SCRIPT } from '../browser/webauthn.generated.js';

export { WEBAUTHN_SCRIPT };

let integrity: string | undefined;

/** The SRI value of the served bytes (`sha512-<base64>`), for the `webauthn_script` node's `integrity` attribute. */
export function scriptIntegrity(): string {
  if (integrity === undefined) {
    integrity = 'sha512-' + createHash('sha512').update(WEBAUTHN_SCRIPT, 'utf8').digest('base64');
  }
  return integrity;
}
