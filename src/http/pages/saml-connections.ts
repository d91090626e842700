import type { FastifyInstance, FastifyReply } from 'fastify';

import type { AppContext } from '../../app/context.js';
import type { CredentialVerifier, Principal } from '../../auth/principal.js';
import { planIncludes } from '../../model/plans.js';
import {
  createSAMLConnection,
  deleteSAMLConnection,
  describeCertificates,
  findSAMLConnection,
  replaceSAMLCertificates,
  listSAMLConnections,
  setSAMLConnectionEnabled,
  type SAMLConnectionInput,
} from '../../sso/saml/connections.js';
import { samlPresets } from '../../sso/saml/presets.js';
import { acsURL, spEntityId } from '../../sso/saml/service-provider.js';
import { html } from '../../web/html.js';
import { field } from '../../web/layout.js';
import { Conflict, InvalidRequest, NotFound, PlanRequired } from '../errors.js';
import { requirePermission } from '../guards.js';
import { contentSecurityPolicy } from '../security-headers.js';
import { formField, requireCSRF, requirePageSession, sendPage } from './page.js';
import { startSAMLSignIn } from './saml.js';

type Params = { Params: { organizationId: string } };
type ConnectionParams = { Params: { organizationId: string; connectionId: string } };
type Values = Record<string, string>;

const TEXT_FIELDS = [
  'name', 'preset', 'domains', 'metadata_url', 'metadata_xml', 'entity_id', 'sso_url', 'sso_binding', 'certificates',
  'signature_policy', 'extra_audiences', 'clock_skew_seconds', 'attribute_email', 'attribute_first_name',
  'attribute_last_name', 'attribute_groups', 'group_mappings',
] as const;

/** Registers Settings → SAML: list connections with what to paste into the IdP, add, turn on or off, delete. */
export function registerSAMLConnectionPages(app: FastifyInstance, context: AppContext, verifier: CredentialVerifier): void {
  const linkCSP = contentSecurityPolicy(context.config.allowLoopbackFetch ? ['https:', 'http://127.0.0.1:*', 'http://localhost:*'] : ['https:']);
  const render = async (
    reply: FastifyReply,
    page: { principal: Principal; csrfToken: string },
    organizationId: string,
    options: { status?: number; values?: Values; errors?: Record<string, string>; notice?: string; certificateErrors?: Record<string, string> } = {},
  ) => {
    const connections = await listSAMLConnections(context, organizationId);
    const linkedRows = await context.store.db.selectFrom('saml_identities').select('connection_id').where('user_id', '=', page.principal.user.id).execute();
    const linked = new Set(linkedRows.map((row) => row.connection_id));
    const membership = page.principal.organizations.find((entry) => entry.organizationId === organizationId);
    const planAllows = membership ? planIncludes(membership.plan, 'saml_sso') : false;
    const values = options.values ?? { preset: 'okta', clock_skew_seconds: '180' };
    const errors = options.errors ?? {};
    const base = `/orgs/${organizationId}/settings/saml`;
    const button = (id: string, action: string, label: string, ariaLabel: string) => html`<form class="inline" method="post" action="${base}/${id}/${action}">
      <input type="hidden" name="csrf_token" value="${page.csrfToken}"><button type="submit" class="secondary" aria-label="${ariaLabel}">${label}</button></form>`;

    return sendPage(reply, {
      status: options.status ?? 200,
      title: 'SAML connections',
      csp: linkCSP,
      csrfToken: page.csrfToken,
      principal: page.principal,
      organizationId,
      content: html`${options.notice ? html`<p class="notice" role="status">${options.notice}</p>` : ''}
${connections.map(
  ({ connection, domains }) => html`<section aria-labelledby="saml-${connection.id}">
  <h2 id="saml-${connection.id}">${connection.name} <small>(${samlPresets[connection.preset as keyof typeof samlPresets]?.label ?? connection.preset}, ${connection.enabled ? 'on' : 'off'})</small></h2>
  <p>${samlPresets[connection.preset as keyof typeof samlPresets]?.guidance ?? ''}</p>
  <dl>
    <dt>SP entity ID (Audience)</dt><dd><code>${spEntityId(context, connection)}</code></dd>
    <dt>ACS URL (Reply URL)</dt><dd><code>${acsURL(context, connection)}</code></dd>
    <dt>SP metadata URL</dt><dd><a href="/saml/${connection.id}/metadata"><code>${spEntityId(context, connection)}</code></a></dd>
    <dt>IdP entity ID</dt><dd><code>${connection.idp_entity_id}</code></dd>
    <dt>IdP SSO URL</dt><dd><code>${connection.sso_url}</code> (${connection.sso_binding === 'post' ? 'HTTP-POST' : 'HTTP-Redirect'})</dd>
    <dt>Domains</dt><dd>${domains.join(', ')}</dd>
    <dt>Signature required on</dt><dd>${{ assertion: 'the assertion', response: 'the response', both: 'the response and the assertion' }[connection.signature_policy]}</dd>
    <dt>IdP-initiated sign-in</dt><dd>${connection.allow_idp_initiated ? 'allowed, with a confirmation page' : 'off'}</dd>
    <dt>Trusted IdP certificates</dt><dd>${describeCertificates(connection, context.clock()).map(
      (certificate) => html`<div>${certificate.subject}${certificate.notAfter ? html`, valid until ${certificate.notAfter.slice(0, 10)}, SHA-256 <code>${certificate.fingerprint256}</code>` : ''}</div>`,
    )}</dd>
  </dl>
  <form method="post" action="${base}/${connection.id}/certificates" novalidate>
    <input type="hidden" name="csrf_token" value="${page.csrfToken}">
    ${field({ name: 'certificates', id: `certificates-${connection.id}`, label: `Replace the trusted certificates of ${connection.name}`, value: '', error: options.certificateErrors?.[connection.id], multiline: true, hint: 'For a rollover, paste the current and the new certificate; later, only the new one.' })}
    <button type="submit" class="secondary">Replace certificates</button>
  </form>
  ${linked.has(connection.id) ? html`<p>Your account is linked to this connection.</p>` : button(connection.id, 'link', 'Link my account', `Link my account to ${connection.name}`)}
  ${connection.enabled ? button(connection.id, 'disable', 'Turn off', `Turn off ${connection.name}`) : button(connection.id, 'enable', 'Turn on', `Turn on ${connection.name}`)}
  ${button(connection.id, 'delete', 'Delete', `Delete ${connection.name}`)}
</section>`,
)}
<h2>Add a SAML connection</h2>
<p class="hint">After you add the connection, this page shows the SP entity ID, ACS URL and SP metadata URL to enter at your identity provider, with steps for the preset you chose.</p>
${planAllows
  ? html`<form method="post" action="${base}" novalidate>
  <input type="hidden" name="csrf_token" value="${page.csrfToken}">
  ${field({ name: 'name', label: 'Name', value: values.name, error: errors.name, required: true })}
  <div class="field${errors.preset ? ' has-error' : ''}"><label for="field-preset">Identity provider</label>
    <select id="field-preset" name="preset">${Object.values(samlPresets).map((preset) => html`<option value="${preset.id}"${values.preset === preset.id ? html` selected` : ''}>${preset.label}</option>`)}</select>
    ${errors.preset ? html`<p class="error" id="field-preset-error" role="alert">${errors.preset}</p>` : ''}</div>
  ${field({ name: 'domains', label: 'Email domains', value: values.domains, error: errors.domains, required: true, multiline: true, hint: 'Separate with commas or new lines.' })}
  <h3>Identity provider details</h3>
  <p class="hint">Give the metadata URL, or paste the metadata XML, or fill in the three fields below it. Values you type override the metadata.</p>
  ${field({ name: 'metadata_url', label: 'Metadata URL', type: 'url', value: values.metadata_url, error: errors.metadata_url, hint: 'Fetched once, when you save. https and public addresses only (development mode also allows http on 127.0.0.1 and localhost).' })}
  ${field({ name: 'metadata_xml', label: 'Metadata XML', value: values.metadata_xml, error: errors.metadata_xml, multiline: true })}
  ${field({ name: 'entity_id', label: 'IdP entity ID (Issuer)', value: values.entity_id, error: errors.entity_id })}
  ${field({ name: 'sso_url', label: 'IdP single sign-on URL', type: 'url', value: values.sso_url, error: errors.sso_url })}
  <div class="field"><label for="field-sso_binding">Request binding</label>
    <select id="field-sso_binding" name="sso_binding"><option value="">From metadata (else HTTP-Redirect)</option><option value="redirect"${values.sso_binding === 'redirect' ? html` selected` : ''}>HTTP-Redirect</option><option value="post"${values.sso_binding === 'post' ? html` selected` : ''}>HTTP-POST</option></select></div>
  ${field({ name: 'certificates', label: 'IdP signing certificates', value: values.certificates, error: errors.certificates, multiline: true, hint: 'PEM, with or without BEGIN/END lines. Paste several to trust them all during a rollover.' })}
  <h3>Security</h3>
  <div class="field"><label for="field-signature_policy">Signature required on</label>
    <select id="field-signature_policy" name="signature_policy"><option value="">The preset’s default</option><option value="assertion"${values.signature_policy === 'assertion' ? html` selected` : ''}>The assertion</option><option value="response"${values.signature_policy === 'response' ? html` selected` : ''}>The response</option><option value="both"${values.signature_policy === 'both' ? html` selected` : ''}>Both</option></select>
    ${errors.signature_policy ? html`<p class="error" role="alert">${errors.signature_policy}</p>` : ''}</div>
  <div class="field"><input type="checkbox" id="field-allow_idp_initiated" name="allow_idp_initiated" value="1"${values.allow_idp_initiated ? html` checked` : ''}> <label for="field-allow_idp_initiated" class="inline">Allow sign-in started at the identity provider (asks the person to confirm)</label></div>
  <div class="field"><input type="checkbox" id="field-sign_requests" name="sign_requests" value="1"${values.sign_requests ? html` checked` : ''}> <label for="field-sign_requests" class="inline">Sign AuthnRequests</label></div>
  <div class="field"><input type="checkbox" id="field-allow_sha1" name="allow_sha1" value="1"${values.allow_sha1 ? html` checked` : ''}> <label for="field-allow_sha1" class="inline">Accept SHA-1 signatures (legacy identity providers only)</label></div>
  ${field({ name: 'clock_skew_seconds', label: 'Allowed clock skew (seconds)', value: values.clock_skew_seconds, error: errors.clock_skew_seconds })}
  ${field({ name: 'extra_audiences', label: 'Extra accepted audiences', value: values.extra_audiences, error: errors.extra_audiences, hint: 'Only if your IdP sends an audience other than the SP entity ID, such as spn:<application id>.' })}
  <h3>Attributes</h3>
  <p class="hint">Leave empty to use the preset’s attribute names.</p>
  ${field({ name: 'attribute_email', label: 'Email attribute', value: values.attribute_email, error: errors.attribute_email })}
  ${field({ name: 'attribute_first_name', label: 'First name attribute', value: values.attribute_first_name })}
  ${field({ name: 'attribute_last_name', label: 'Last name attribute', value: values.attribute_last_name })}
  ${field({ name: 'attribute_groups', label: 'Groups attribute', value: values.attribute_groups })}
  ${field({ name: 'group_mappings', label: 'Group mappings', value: values.group_mappings, error: errors.group_mappings, multiline: true, hint: 'One per line: IdP group = Owners, Engineers or Viewers. New members without a mapped group join Engineers.' })}
  <button type="submit">Add SAML connection</button>
</form>`
  : html`<p class="notice error" role="alert">SAML single sign-on needs the Enterprise plan. Ask your operator to change the plan with <code>gatehouse admin set-plan</code>.</p>`}`,
    });
  };

  app.get<Params>('/orgs/:organizationId/settings/saml', async (request, reply) => {
    const page = await requirePageSession(context, verifier, request, reply);
    if (!page) return reply;
    requirePermission(page.principal, request.params.organizationId, 'connections.manage');
    const linked = (request.query as Record<string, unknown>).linked === '1';
    return render(reply, page, request.params.organizationId, linked ? { notice: 'Your account is linked. You can now sign in through this connection.' } : {});
  });

  // "Link my account" signs in at the IdP once while signed in here, so that the IdP identity leads
  // to this account. Its form's response redirects to the IdP, which is why the page's CSP allows it.
  app.post<ConnectionParams>('/orgs/:organizationId/settings/saml/:connectionId/link', async (request, reply) => {
    const page = await requirePageSession(context, verifier, request, reply);
    if (!page) return reply;
    requireCSRF(context, request, reply, page.principal);
    const { organizationId, connectionId } = request.params;
    requirePermission(page.principal, organizationId, 'connections.manage');

    const connection = await findSAMLConnection(context, connectionId);
    if (!connection || connection.organization_id !== organizationId) throw new NotFound('SAML connection not found.');
    return startSAMLSignIn(context, reply, connection, { userId: page.principal.user.id });
  });

  app.post<Params>('/orgs/:organizationId/settings/saml', async (request, reply) => {
    const page = await requirePageSession(context, verifier, request, reply);
    if (!page) return reply;
    requireCSRF(context, request, reply, page.principal);
    const { organizationId } = request.params;
    requirePermission(page.principal, organizationId, 'connections.manage');

    const values: Values = {};
    for (const name of TEXT_FIELDS) values[name] = formField(request, name);
    for (const name of ['allow_idp_initiated', 'sign_requests', 'allow_sha1']) values[name] = formField(request, name) === '1' ? '1' : '';
    const input: SAMLConnectionInput = {
      name: values.name!, preset: values.preset!, domains: values.domains!, metadataURL: values.metadata_url!, metadataXML: values.metadata_xml!,
      entityId: values.entity_id!, ssoURL: values.sso_url!, ssoBinding: values.sso_binding!, certificates: values.certificates!,
      signaturePolicy: values.signature_policy!, allowSHA1: values.allow_sha1 === '1', allowIdPInitiated: values.allow_idp_initiated === '1',
      signRequests: values.sign_requests === '1', extraAudiences: values.extra_audiences!, clockSkewSeconds: values.clock_skew_seconds!,
      attributeEmail: values.attribute_email!, attributeFirstName: values.attribute_first_name!, attributeLastName: values.attribute_last_name!,
      attributeGroups: values.attribute_groups!, groupMappings: values.group_mappings!,
    };

    try {
      const created = await createSAMLConnection(context, organizationId, input);
      return render(reply, page, organizationId, { status: 201, notice: `SAML connection "${created.name}" added. Enter the values below at your identity provider.` });
    } catch (error) {
      if (error instanceof PlanRequired) return render(reply, page, organizationId, { status: 403, values });
      if ((error instanceof InvalidRequest || error instanceof Conflict) && error.field) {
        request.log.info({ event: 'saml_connection.rejected', organizationId, field: error.field, detail: error.detail }, 'SAML connection not saved');
        return render(reply, page, organizationId, { status: error.status, values, errors: { [error.field]: error.description } });
      }
      throw error;
    }
  });

  app.post<ConnectionParams>('/orgs/:organizationId/settings/saml/:connectionId/certificates', async (request, reply) => {
    const page = await requirePageSession(context, verifier, request, reply);
    if (!page) return reply;
    requireCSRF(context, request, reply, page.principal);
    const { organizationId, connectionId } = request.params;
    requirePermission(page.principal, organizationId, 'connections.manage');

    try {
      if (!(await replaceSAMLCertificates(context, organizationId, connectionId, formField(request, 'certificates')))) throw new NotFound('SAML connection not found.');
    } catch (error) {
      if (!(error instanceof InvalidRequest)) throw error;
      return render(reply, page, organizationId, { status: 400, certificateErrors: { [connectionId]: error.description } });
    }
    return render(reply, page, organizationId, { notice: 'Certificates replaced. Responses signed with any of them are accepted.' });
  });

  for (const action of ['enable', 'disable', 'delete'] as const) {
    app.post<ConnectionParams>(`/orgs/:organizationId/settings/saml/:connectionId/${action}`, async (request, reply) => {
      const page = await requirePageSession(context, verifier, request, reply);
      if (!page) return reply;
      requireCSRF(context, request, reply, page.principal);
      const { organizationId, connectionId } = request.params;
      requirePermission(page.principal, organizationId, 'connections.manage');

      const done = action === 'delete'
        ? await deleteSAMLConnection(context, organizationId, connectionId)
        : await setSAMLConnectionEnabled(context, organizationId, connectionId, action === 'enable');
      if (!done) throw new NotFound('SAML connection not found.');
      const notice = { enable: 'Connection turned on.', disable: 'Connection turned off. It rejects every sign-in until you turn it on.', delete: 'Connection deleted.' }[action];
      return render(reply, page, organizationId, { notice });
    });
  }
}
