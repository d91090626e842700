/**
 * Errors that reach a client. Each class is named after the code it sends; `description` is safe to
 * show, `detail` is for the log only. Anything else thrown becomes a generic server_error.
 */
export class ProtocolError extends Error {
  readonly status: number;
  readonly code: string;
  readonly description: string;
  readonly detail: string | undefined;
  /** `WWW-Authenticate` value to send in place of the default challenge, such as an RFC 9728 one. */
  readonly challenge: string | undefined;

  constructor(status: number, code: string, description: string, options: { detail?: string; cause?: unknown; challenge?: string } = {}) {
    super(description, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.status = status;
    this.code = code;
    this.description = description;
    this.detail = options.detail;
    this.challenge = options.challenge;
  }
}

/** 400: a parameter is missing, malformed or not allowed. */
export class InvalidRequest extends ProtocolError {
  constructor(description: string, options: { detail?: string; field?: string } = {}) {
    super(400, 'invalid_request', description, options);
    this.field = options.field;
  }
  readonly field: string | undefined;
}

/** 401 without an RFC 6750 error code: the request carried no credential at all (RFC 6750 section 3.1). */
export class MissingCredential extends ProtocolError {
  constructor() {
    super(401, 'missing_credential', 'Authentication required. Send an API key as "Authorization: Bearer <key>" or sign in.');
  }
}

/** 401 invalid_token: a credential was presented but is malformed, unknown, expired or revoked. */
export class InvalidToken extends ProtocolError {
  constructor(detail: string) {
    super(401, 'invalid_token', 'The credential is invalid, expired or revoked.', { detail });
  }
}

/** 403: the caller is authenticated but may not do this. */
export class Forbidden extends ProtocolError {
  constructor(description = 'You do not have permission to do this.', detail?: string) {
    super(403, 'forbidden', description, detail === undefined ? {} : { detail });
  }
}

/** 403: the organization's plan does not include the feature. */
export class PlanRequired extends ProtocolError {
  constructor(description: string) {
    super(403, 'plan_required', description);
  }
}

/** 404: the resource does not exist or is not visible to the caller. */
export class NotFound extends ProtocolError {
  constructor(description = 'Not found.') {
    super(404, 'not_found', description);
  }
}

/** 409: the request conflicts with existing state, for example a domain already in use. */
export class Conflict extends ProtocolError {
  constructor(description: string, options: { field?: string } = {}) {
    super(409, 'conflict', description);
    this.field = options.field;
  }
  readonly field: string | undefined;
}

/** A browser sign-in that failed; shown on the sign-in page with a safe message. */
export class SignInFailed extends ProtocolError {
  constructor(code: string, description: string, detail?: string) {
    super(400, code, description, detail === undefined ? {} : { detail });
  }
}

/** 410: a setup or sign-in link that is unknown, already used or expired. */
export class InvalidLink extends ProtocolError {
  constructor(problem: 'unknown' | 'used' | 'expired') {
    const text = {
      unknown: 'This link is not valid. Check that you copied all of it.',
      used: 'This link has already been used. Ask your operator for a new one (gatehouse admin).',
      expired: 'This link has expired. Ask your operator for a new one (gatehouse admin).',
    }[problem];
    super(410, 'invalid_link', text, { detail: problem });
  }
}

/** 502: the identity provider could not be reached or returned something unusable. */
export class ProviderUnavailable extends ProtocolError {
  constructor(detail: string) {
    super(502, 'temporarily_unavailable', 'Your identity provider could not be reached. Try again in a few minutes.', { detail });
  }
}

/**
 * 403: the person's organization requires single sign-on for their domain, so this sign-in method
 * is rejected. The sign-in pages handle it by sending the browser to the organization's SSO.
 */
export class SSORequired extends ProtocolError {
  constructor(
    readonly organizationId: string,
    readonly domain: string,
  ) {
    super(403, 'sso_required', `Your organization requires single sign-on for ${domain}. Sign in through your organization’s identity provider.`);
  }
}

/** 429: too many attempts, for example wrong sign-in codes. */
export class TooManyAttempts extends ProtocolError {
  constructor(description: string) {
    super(429, 'too_many_attempts', description);
  }
}
