// The one place that knows WebAuthn and talks to @simplewebauthn/server; the rest of the library imports from here.

export { answersCeremony, type VerifiedAuthentication, verifyAuthentication } from './assertion.js';
export { ALGORITHMS, creationOptions, randomId, requestOptions } from './ceremony-options.js';
export { allowedOrigins, CeremonyError, describeError } from './checks.js';
export { coseAlgorithmFitsKey, publicKeyProblem } from './keys.js';
export {
  canonicalCredentialId,
  credentialIdsNamedBy,
  MAX_CREDENTIAL_ID_BYTES,
  parseCredential,
} from './parse.js';
export {
  type VerifiedRegistration,
  verifyRegistration,
  verifyRegistrationWithSimpleWebAuthn,
} from './registration.js';
