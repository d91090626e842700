/**
 * The server child of the ACS benchmark: Gatehouse with one Okta-preset SAML connection, and the
 * in-process timing loop of validateSAMLResponse.
 */
import { randomBytes } from 'node:crypto';

import type { App } from '../../src/app/create-app.js';
import { createOrganization } from '../../src/model/organizations.js';
import { validateSAMLResponse } from '../../src/sso/saml/acs.js';
import { createSAMLConnection, findSAMLConnection } from '../../src/sso/saml/connections.js';
import { acsURL, spEntityId } from '../../src/sso/saml/service-provider.js';
import type { SPCredentials } from '../../src/sso/saml/sp-credentials.js';
import { testIdPKeys } from '../../test/support/saml-idp.js';
import type { DatabaseKind } from './database.js';
import { serveGatehouse } from './gatehouse-server.js';

const OKTA_ENTITY_ID = `http://www.okta.com/exk${randomBytes(8).toString('hex')}`;

/** Message the server child sends once Gatehouse listens and the connection exists. */
export interface ServerReady {
  type: 'ready';
  url: string;
  connectionId: string;
  idp: SPCredentials;
  idpEntityId: string;
  acsURL: string;
  audience: string;
}

/** Reply to a 'time' request: the duration of each timed call, and the CPU time per call. */
export interface TimingMessage {
  type: 'timing';
  milliseconds: number[];
  cpuMicrosecondsPerCall: number;
}

/** Reply to 'used-assertions': the number of assertion IDs in the connection's replay store. */
export interface UsedAssertionsMessage {
  type: 'used-assertions';
  count: number;
}

/** Requests from the parent that this server child adds to 'stop' and 'cpu'. */
export type SAMLServerRequest = 'used-assertions' | { type: 'time'; responses: string[]; warmup: number };

/**
 * Starts Gatehouse on 127.0.0.1 with one Enterprise organization and one Okta-preset SAML
 * connection for example.com that allows IdP-initiated sign-in, signed by a key pair made here.
 * Sends the parent what it needs to sign responses. Shuts down and drops the database when the
 * parent sends 'stop' or goes away.
 */
export async function serveSAMLConnection(kind: DatabaseKind): Promise<void> {
  let app: App | undefined;
  let connectionId = '';

  async function countUsedAssertions(): Promise<number> {
    const row = await app!.context.store.db
      .selectFrom('saml_used_assertions')
      .select((eb) => eb.fn.countAll<string | number>().as('count'))
      .where('connection_id', '=', connectionId)
      .executeTakeFirstOrThrow();
    return Number(row.count);
  }

  /**
   * Calls validateSAMLResponse once per response, one call at a time. Returns the duration of each
   * call after the first `warmup` in milliseconds, and the process's CPU time per call over those
   * calls (user + system, all threads, so garbage collection is included).
   * The connection row is read once, outside the timed calls, whereas the ACS handler reads it per
   * request. Each call includes the domain lookup and the replay store (delete expired IDs, insert this ID).
   */
  async function timeValidation(responses: string[], warmup: number): Promise<{ milliseconds: number[]; cpuMicrosecondsPerCall: number }> {
    const { context } = app!;
    const connection = await findSAMLConnection(context, connectionId);
    if (!connection) throw new Error(`connection ${connectionId} not found`);
    const milliseconds: number[] = [];
    let cpuStart = process.cpuUsage();
    for (const [index, samlResponse] of responses.entries()) {
      if (index === warmup) cpuStart = process.cpuUsage();
      const start = process.hrtime.bigint();
      const signIn = await validateSAMLResponse(context, { connection, samlResponse, browserToken: undefined });
      const elapsed = process.hrtime.bigint() - start;
      if (!signIn.idpInitiated || !signIn.email.endsWith('@example.com')) {
        throw new Error(`unexpected sign-in from timing response ${index}: ${JSON.stringify({ ...signIn, connection: undefined })}`);
      }
      if (index >= warmup) milliseconds.push(Number(elapsed) / 1e6);
    }
    const cpu = process.cpuUsage(cpuStart);
    return { milliseconds, cpuMicrosecondsPerCall: (cpu.user + cpu.system) / milliseconds.length };
  }

  await serveGatehouse<SAMLServerRequest, TimingMessage | UsedAssertionsMessage>(kind, {
    async setUp(started, config): Promise<ServerReady> {
      app = started;
      const { context } = app;
      const { organization } = await createOrganization(context.store.db, { name: 'Bench Org', plan: 'enterprise', now: context.clock() });
      const idp = await testIdPKeys('Bench Okta');
      const connection = await createSAMLConnection(context, organization.id, {
        name: 'Bench Okta',
        preset: 'okta',
        domains: 'example.com',
        metadataXML: '',
        metadataURL: '',
        entityId: OKTA_ENTITY_ID,
        ssoURL: 'https://bench.okta.example/app/sso/saml',
        ssoBinding: 'redirect',
        certificates: idp.certificatePem,
        signaturePolicy: '',
        allowSHA1: false,
        allowIdPInitiated: true,
        signRequests: false,
        extraAudiences: '',
        clockSkewSeconds: '',
        attributeEmail: '',
        attributeFirstName: '',
        attributeLastName: '',
        attributeGroups: '',
        groupMappings: '',
      });
      if (connection.signature_policy !== 'both') throw new Error(`the okta preset gave signature policy ${connection.signature_policy}, expected both`);
      connectionId = connection.id;
      return {
        type: 'ready',
        url: config.publicUrl,
        connectionId,
        idp,
        idpEntityId: connection.idp_entity_id,
        acsURL: acsURL(context, connection),
        audience: spEntityId(context, connection),
      };
    },

    reply(request) {
      if (request === 'used-assertions') return countUsedAssertions().then((count): UsedAssertionsMessage => ({ type: 'used-assertions', count }));
      if (typeof request === 'object' && request.type === 'time') {
        return timeValidation(request.responses, request.warmup).then((timing): TimingMessage => ({ type: 'timing', ...timing }));
      }
      return undefined;
    },
  });
}
