import { ProtocolError } from '../http/errors.js';

/*
 * OAuth 2.0 errors, each named after the code it sends: RFC 6749 section 5.2 (token endpoint),
 * RFC 7591 section 3.2.2 (registration), RFC 8707 section 2 (resource) and RFC 6750 section 3.1
 * (resource server). They leave through handleError like every other ProtocolError.
 */

/** 400 invalid_grant: the code or refresh token is unknown, expired, used, revoked or not this client's. */
export class InvalidGrant extends ProtocolError {
  constructor(detail: string) {
    super(400, 'invalid_grant', 'The authorization code or refresh token is invalid, expired or revoked.', { detail });
  }
}

/**
 * 401 invalid_client: client authentication failed. When the client tried HTTP Basic, the response
 * carries a Basic challenge (RFC 6749 section 5.2).
 */
export class InvalidClient extends ProtocolError {
  constructor(detail: string, options: { basic?: boolean } = {}) {
    super(401, 'invalid_client', 'Client authentication failed.', {
      detail,
      ...(options.basic ? { challenge: 'Basic realm="gatehouse"' } : {}),
    });
  }
}

/** 400 unauthorized_client: the client may not use this grant type. */
export class UnauthorizedClient extends ProtocolError {
  constructor(description: string) {
    super(400, 'unauthorized_client', description);
  }
}

/** 400 unsupported_grant_type. */
export class UnsupportedGrantType extends ProtocolError {
  constructor(grantType: string) {
    super(400, 'unsupported_grant_type', `The grant type "${grantType.slice(0, 60)}" is not supported. Use authorization_code or refresh_token.`);
  }
}

/** 400 invalid_scope: a requested scope is unknown or wider than the grant. */
export class InvalidScope extends ProtocolError {
  constructor(description: string) {
    super(400, 'invalid_scope', description);
  }
}

/** 400 invalid_target (RFC 8707): the resource is not one this server issues tokens for. */
export class InvalidTarget extends ProtocolError {
  constructor(description: string) {
    super(400, 'invalid_target', description);
  }
}

/** 400 invalid_redirect_uri (RFC 7591): a registered redirect URI is not allowed. */
export class InvalidRedirectURI extends ProtocolError {
  constructor(description: string) {
    super(400, 'invalid_redirect_uri', description);
  }
}

/** 400 invalid_client_metadata (RFC 7591): another registration member is invalid. */
export class InvalidClientMetadata extends ProtocolError {
  constructor(description: string) {
    super(400, 'invalid_client_metadata', description);
  }
}

/** 401 invalid_token at the MCP endpoint, with the RFC 9728 challenge that starts discovery. */
export class ResourceInvalidToken extends ProtocolError {
  constructor(challenge: string, detail: string) {
    super(401, 'invalid_token', 'The access token or API key is invalid, expired or revoked.', { detail, challenge });
  }
}

/** 401 at the MCP endpoint for a request without credentials (RFC 6750 section 3.1: no error code). */
export class ResourceMissingCredential extends ProtocolError {
  constructor(challenge: string) {
    super(401, 'missing_credential', 'Authentication required. Send an API key or an OAuth access token as "Authorization: Bearer <token>".', { challenge });
  }
}

/** 403 insufficient_scope at the MCP endpoint; the challenge names the scopes held and the scopes needed. */
export class InsufficientScope extends ProtocolError {
  constructor(challenge: string, detail: string) {
    super(403, 'insufficient_scope', 'The access token does not carry the scope this request needs.', { detail, challenge });
  }
}
