import { addSeconds, type AppContext } from '../../app/context.js';
import { constantTimeEqual, sha256Hex } from '../../crypto/tokens.js';
import { isUniqueViolation } from '../../db/errors.js';
import type { SAMLConnection } from '../../db/schema.js';
import { SignInFailed } from '../../http/errors.js';
import { normalizeEmail } from '../../model/email.js';
import { connectionServesDomain } from '../domains.js';
import { inspectAssertion, inspectResponse, SAMLStatusProblem, type AssertionFacts } from './response-checks.js';
import { acceptedAudiences, acsURL, samlFor } from './service-provider.js';
import { XMLProblem } from './xml.js';

/**
 * Largest accepted SAMLResponse form value: 140,000 base64 characters, about 100 KB of XML, checked
 * before decoding. Verification time grows faster than the size (bench/saml-acs.ts measured 0.4 s
 * for a forged 349 KB response), and real responses with long group lists stay far below this.
 */
export const MAX_SAML_RESPONSE_LENGTH = 140_000;

const ROLE_RANK: Record<string, number> = { owners: 3, engineers: 2, viewers: 1 };

/** A validated SAML sign-in, ready to be mapped to a user. */
export interface SAMLSignIn {
  connection: SAMLConnection;
  assertionId: string;
  nameId: string;
  email: string;
  name: string | null;
  groupId: string;
  /** True when an IdP group mapping chose groupId. */
  groupFromIdP: boolean;
  idpInitiated: boolean;
  /** Set when the sign-in was started by "Link my account": attach the NameID to this user. */
  linkUserId: string | null;
}

/**
 * Validates a SAMLResponse posted to a connection's ACS URL, in this order:
 *
 * 1. the connection is enabled, and the size is checked before parsing;
 * 2. structure and the IdP's status, before any cryptography;
 * 3. the signing policy, then InResponseTo (single use, bound to this connection and browser) or
 *    the IdP-initiated switch;
 * 4. node-saml's signature, decryption and time checks, then Gatehouse's own assertion checks;
 * 5. the replay store last, so that only a fully valid assertion uses up its ID.
 *
 * Throws SignInFailed with a message for the person and a detail for the log.
 */
export async function validateSAMLResponse(
  context: AppContext,
  input: { connection: SAMLConnection | undefined; samlResponse: string; browserToken: string | undefined },
): Promise<SAMLSignIn> {
  const { connection } = input;
  if (!connection) throw new SignInFailed('unknown_connection', 'This SAML connection does not exist.');
  if (!connection.enabled) throw new SignInFailed('connection_disabled', 'This SAML connection is turned off. Ask your administrator.');

  if (input.samlResponse.length === 0) throw new SignInFailed('invalid_response', 'The identity provider sent no SAMLResponse.');
  if (input.samlResponse.length > MAX_SAML_RESPONSE_LENGTH) throw new SignInFailed('invalid_response', 'The SAMLResponse is too large.');
  if (!/^[A-Za-z0-9+/=\r\n]+$/.test(input.samlResponse)) throw new SignInFailed('invalid_response', 'The SAMLResponse is not base64.');
  const xml = Buffer.from(input.samlResponse, 'base64').toString('utf8');

  const acs = acsURL(context, connection);
  const allowSHA1 = connection.allow_sha1 === 1;
  const policy = connection.signature_policy;
  let facts;
  try {
    facts = inspectResponse(xml, { idpEntityId: connection.idp_entity_id, acsURL: acs, allowSHA1 });
  } catch (error) {
    if (error instanceof SAMLStatusProblem) {
      const reason = error.statusMessage ? `: ${error.statusMessage}` : '';
      throw new SignInFailed('idp_error', `Your identity provider could not sign you in (${error.subStatusCode ?? error.statusCode}${reason}).`, error.message);
    }
    throw rejected(error);
  }

  if ((policy === 'response' || policy === 'both') && !facts.responseSigned) {
    throw new SignInFailed('invalid_response', 'This connection requires a signed SAML Response, and the response is not signed.', 'policy: response signature missing');
  }
  if ((policy === 'assertion' || policy === 'both') && !facts.encrypted && !facts.assertionSigned) {
    throw new SignInFailed('invalid_response', 'This connection requires a signed assertion, and the assertion is not signed.', 'policy: assertion signature missing');
  }

  let linkUserId: string | null = null;
  if (facts.inResponseTo) {
    const request = await consumeRequest(context, connection, facts.inResponseTo, input.browserToken);
    linkUserId = request.intent === 'link' ? request.link_user_id : null;
  } else if (!connection.allow_idp_initiated) {
    throw new SignInFailed('idp_initiated_disabled', 'Sign-in started at the identity provider is turned off for this connection. Start at the Gatehouse sign-in page.', 'no InResponseTo');
  }

  let assertionXML: string;
  try {
    const saml = samlFor(context, connection, {
      // Every signature present must verify, also those the policy does not require.
      requireResponseSignature: policy !== 'assertion' || facts.responseSigned,
      requireAssertionSignature: policy !== 'response' || facts.assertionSigned,
    });
    const { profile } = await saml.validatePostResponseAsync({ SAMLResponse: input.samlResponse });
    const xmlOfAssertion = profile?.getAssertionXml?.();
    if (!xmlOfAssertion) throw new Error('node-saml returned no assertion');
    assertionXML = xmlOfAssertion;
  } catch (error) {
    throw new SignInFailed('invalid_response', 'The SAML response could not be verified. Ask your administrator to check the connection’s certificate and settings.', `node-saml: ${(error as Error).message}`);
  }

  let assertion: AssertionFacts;
  try {
    assertion = inspectAssertion(assertionXML, {
      idpEntityId: connection.idp_entity_id,
      acsURL: acs,
      audiences: acceptedAudiences(context, connection),
      inResponseTo: facts.inResponseTo,
      now: context.clock(),
      skewSeconds: connection.clock_skew_seconds,
      allowSHA1,
    });
  } catch (error) {
    throw rejected(error);
  }

  const email = readEmail(connection, assertion);
  if (!(await connectionServesDomain(context, { kind: 'saml', id: connection.id }, email.domain))) {
    throw new SignInFailed('invalid_claims', `This connection does not serve ${email.domain}.`, `asserted domain ${email.domain}`);
  }

  await rememberAssertion(context, connection, assertion);

  const first = assertion.attributes.get(connection.attribute_first_name)?.[0] ?? '';
  const last = assertion.attributes.get(connection.attribute_last_name)?.[0] ?? '';
  const name = `${first} ${last}`.trim().slice(0, 200) || null;
  return {
    connection,
    assertionId: assertion.id,
    nameId: assertion.nameId,
    email: email.email,
    name,
    ...(await groupFor(context, connection, assertion)),
    idpInitiated: facts.inResponseTo === undefined,
    linkUserId,
  };
}

async function consumeRequest(
  context: AppContext,
  connection: SAMLConnection,
  requestId: string,
  browserToken: string | undefined,
): Promise<{ intent: 'sign_in' | 'link'; link_user_id: string | null }> {
  const request = await context.store.db
    .deleteFrom('saml_requests')
    .where('id', '=', requestId)
    .where('connection_id', '=', connection.id)
    .returningAll()
    .executeTakeFirst();
  if (!request) {
    throw new SignInFailed('invalid_response', 'This SAML response does not belong to a sign-in started here, or it was already used. Start signing in again.', 'unknown InResponseTo');
  }
  if (request.expires_at <= context.clock().toISOString()) {
    throw new SignInFailed('invalid_response', 'This sign-in took too long. Start signing in again.', 'expired InResponseTo');
  }
  if (!browserToken || !constantTimeEqual(sha256Hex(browserToken), request.browser_hash)) {
    throw new SignInFailed('invalid_response', 'This sign-in was started in another browser. Start signing in again here.', 'browser binding mismatch');
  }
  return request;
}

/**
 * Uses up a confirmation of an IdP-initiated sign-in, so that resubmitting the confirmation form
 * cannot create a second session. It shares the replay table under a `confirm:` prefix.
 */
export async function consumeConfirmation(context: AppContext, connectionId: string, assertionId: string, expiresAt: Date): Promise<boolean> {
  try {
    await context.store.db
      .insertInto('saml_used_assertions')
      .values({ connection_id: connectionId, assertion_id: `confirm:${assertionId}`, expires_at: expiresAt.toISOString() })
      .execute();
    return true;
  } catch (error) {
    if (isUniqueViolation(error)) return false;
    throw error;
  }
}

/**
 * Keeps the assertion ID until the assertion expires (plus the skew), so a second use fails on any
 * node. `serve` purges expired entries in the background (src/app/purge.ts).
 */
async function rememberAssertion(context: AppContext, connection: SAMLConnection, assertion: AssertionFacts): Promise<void> {
  try {
    await context.store.db
      .insertInto('saml_used_assertions')
      .values({
        connection_id: connection.id,
        assertion_id: assertion.id,
        expires_at: addSeconds(assertion.notOnOrAfter, connection.clock_skew_seconds),
      })
      .execute();
  } catch (error) {
    if (isUniqueViolation(error)) throw new SignInFailed('invalid_response', 'This SAML assertion was already used. Start signing in again.', `replayed assertion ${assertion.id}`);
    throw error;
  }
}

function readEmail(connection: SAMLConnection, assertion: AssertionFacts) {
  const candidates = [...(assertion.attributes.get(connection.attribute_email) ?? [])];
  if (candidates.length === 0 && /@/.test(assertion.nameId)) candidates.push(assertion.nameId);
  if (candidates.length !== 1) {
    throw new SignInFailed('invalid_claims', `Your identity provider must send exactly one email address in the "${connection.attribute_email}" attribute.`, `email values: ${candidates.length}`);
  }
  const email = normalizeEmail(candidates[0]!);
  if (!email) throw new SignInFailed('invalid_claims', 'Your identity provider sent an invalid email address.');
  return email;
}

async function groupFor(context: AppContext, connection: SAMLConnection, assertion: AssertionFacts): Promise<{ groupId: string; groupFromIdP: boolean }> {
  const mappings = JSON.parse(connection.group_mappings) as Record<string, string>;
  const groups = connection.attribute_groups ? assertion.attributes.get(connection.attribute_groups) ?? [] : [];
  const candidates = groups.map((group) => mappings[group]).filter((id): id is string => typeof id === 'string');
  if (candidates.length === 0) return { groupId: connection.default_group_id, groupFromIdP: false };
  const rows = await context.store.db.selectFrom('permission_groups').select(['id', 'role']).where('id', 'in', candidates).execute();
  rows.sort((a, b) => (ROLE_RANK[b.role] ?? 0) - (ROLE_RANK[a.role] ?? 0));
  return rows[0] ? { groupId: rows[0].id, groupFromIdP: true } : { groupId: connection.default_group_id, groupFromIdP: false };
}

function rejected(error: unknown): SignInFailed {
  if (error instanceof XMLProblem) {
    return new SignInFailed('invalid_response', `The SAML response was rejected: ${error.message}`, error.message);
  }
  throw error;
}
