// Error ids and their HTTP mapping: the `{ error: { id, code, status, reason, message } }` bodies Kratos sends.

import { STATUS_CODES } from 'node:http';

/** Stable ids of the errors the routes answer with (the `error.id` of a Kratos error body). */
export type ErrorId =
  | 'not_found'
  | 'self_service_flow_expired'
  | 'security_csrf_violation'
  | 'session_inactive'
  | 'session_already_available'
  | 'session_refresh_required'
  | 'self_service_flow_return_to_forbidden'
  | 'bad_request'
  | 'payload_too_large'
  | 'unsupported_media_type'
  | 'forbidden'
  | 'conflict'
  | 'internal_server_error'
  | 'hook_failed'
  | 'hook_timeout'
  | 'session_verified_address_required'
  | 'security_identity_mismatch';

/** A Kratos error body. */
export interface ErrorBody {
  error: {
    id: ErrorId;
    code: number;
    status: string;
    reason: string;
    message: string;
    details?: Record<string, unknown>;
  };
  [extra: string]: unknown;
}

/** An error a route answers with directly (not a flow validation error). */
export class HttpError extends Error {
  constructor(
    readonly code: number,
    readonly id: ErrorId,
    readonly reason: string,
    /** Extra top-level fields of the body (`use_flow_id`, `redirect_browser_to`). */
    readonly extra: Record<string, unknown> = {},
    /** `error.details` (Kratos puts `continue_with` there, for one). */
    readonly details?: Record<string, unknown>,
  ) {
    super(reason);
    this.name = 'HttpError';
  }

  /** The JSON body, as Kratos shapes it. */
  toJSON(): ErrorBody {
    return {
      error: {
        id: this.id,
        code: this.code,
        status: STATUS_CODES[this.code] ?? 'Error',
        reason: this.reason,
        message: shortMessages[this.id],
        ...(this.details ? { details: this.details } : {}),
      },
      ...this.extra,
    };
  }
}

const shortMessages: Record<ErrorId, string> = {
  not_found: 'The requested resource could not be found',
  self_service_flow_expired: 'self-service flow expired',
  security_csrf_violation: 'the request was rejected to protect you from Cross-Site-Request-Forgery',
  session_inactive: 'request does not have a valid authentication session',
  session_already_available: 'A valid session was detected and thus registration or login is not possible.',
  session_refresh_required: 'The login session is too old and thus not allowed to update these fields.',
  self_service_flow_return_to_forbidden: 'the return_to address is not allowed',
  bad_request: 'The request was malformed or contained invalid parameters',
  payload_too_large: 'The request body is too large',
  unsupported_media_type: 'The request content type is not supported',
  forbidden: 'The requested action was forbidden',
  conflict: 'The resource was changed by another request',
  internal_server_error: 'An internal server error occurred, please contact the system administrator',
  hook_failed: 'A hook of the application failed',
  hook_timeout: 'A hook of the application did not answer in time',
  session_verified_address_required: 'identity has no verified address',
  security_identity_mismatch: 'The requested action was forbidden',
};

export const notFound = (reason = 'The requested flow could not be found.') => new HttpError(404, 'not_found', reason);
export const badRequest = (reason: string) => new HttpError(400, 'bad_request', reason);
export const csrfViolation = () =>
  new HttpError(
    403,
    'security_csrf_violation',
    'Please retry the flow and optionally clear your cookies. The request was rejected to protect you from Cross-Site-Request-Forgery (CSRF) which could cause account takeover, leaking personal information, and other serious security issues.',
  );
export const sessionInactive = () =>
  new HttpError(401, 'session_inactive', 'No valid session credentials found in the request.');
/** A flow of another identity's session (Kratos's `security_identity_mismatch`). */
export const identityMismatch = () =>
  new HttpError(
    403,
    'security_identity_mismatch',
    'The request was made for another identity and has been blocked for security reasons.',
  );
export const sessionAlreadyAvailable = () =>
  new HttpError(400, 'session_already_available', 'A valid session was detected and thus this flow is not possible.');
