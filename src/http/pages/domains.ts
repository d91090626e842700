import type { FastifyInstance, FastifyReply } from 'fastify';

import type { AppContext } from '../../app/context.js';
import type { CredentialVerifier, Principal } from '../../auth/principal.js';
import { listDomainMappings, setDomainMapping } from '../../domains/mappings.js';
import { claimDomain, listDomains, verificationRecord, verifyDomain } from '../../domains/verified-domains.js';
import { planIncludes } from '../../model/plans.js';
import { setRequireSSO } from '../../sso/enforcement.js';
import { html } from '../../web/html.js';
import { field } from '../../web/layout.js';
import { Conflict, InvalidRequest, PlanRequired } from '../errors.js';
import { requirePermission } from '../guards.js';
import { formField, requireCSRF, requirePageSession, sendPage } from './page.js';

type Params = { Params: { organizationId: string } };

const ROLE_LABEL = { owners: 'Owners', engineers: 'Engineers', viewers: 'Viewers' } as const;

const STATUS_TEXT = { pending: 'Waiting for the DNS record', verified: 'Verified', failed: 'Verification lost' } as const;

/** Registers Settings → Domains: claim an email domain and prove it with a DNS TXT record. */
export function registerDomainPages(app: FastifyInstance, context: AppContext, verifier: CredentialVerifier): void {
  const render = async (
    reply: FastifyReply,
    page: { principal: Principal; csrfToken: string },
    organizationId: string,
    options: { status?: number; domain?: string; error?: string; notice?: string } = {},
  ) => {
    const domains = await listDomains(context, organizationId);
    const mappings = await listDomainMappings(context, organizationId);
    const membership = page.principal.organizations.find((entry) => entry.organizationId === organizationId);
    const mappingsAllowed = membership ? planIncludes(membership.plan, 'domain_mappings') : false;
    const organization = await context.store.db.selectFrom('organizations').select('require_sso').where('id', '=', organizationId).executeTakeFirst();
    const requireSSO = organization?.require_sso === 1;
    const base = `/orgs/${organizationId}/settings/domains`;
    return sendPage(reply, {
      status: options.status ?? 200,
      title: 'Domains',
      csrfToken: page.csrfToken,
      principal: page.principal,
      organizationId,
      content: html`${options.notice ? html`<p class="notice" role="status">${options.notice}</p>` : ''}
<p>Prove that your organization owns an email domain by publishing a DNS TXT record. Gatehouse rechecks
verified domains regularly; a domain whose record disappears stops counting as verified.</p>
${domains.length === 0
  ? html`<p>No domains yet.</p>`
  : html`<table>
  <thead><tr><th scope="col">Domain</th><th scope="col">Status</th><th scope="col">TXT record to publish</th><th scope="col">New members join</th><th scope="col"><span class="visually-hidden">Actions</span></th></tr></thead>
  <tbody>${domains.map((domain) => {
    const record = verificationRecord(domain);
    return html`<tr>
    <td>${domain.domain}</td>
    <td>${STATUS_TEXT[domain.status]}${domain.last_error ? html`<p class="hint">${domain.last_error}</p>` : ''}</td>
    <td>Name <code>${record.name}</code><br>Value <code>${record.value}</code></td>
    <td>${domain.status !== 'verified'
      ? 'After verification'
      : mappingsAllowed
        ? html`<form class="inline" method="post" action="${base}/mapping"><input type="hidden" name="csrf_token" value="${page.csrfToken}"><input type="hidden" name="domain" value="${domain.domain}">
          <label class="inline" for="mapping-${domain.domain}">Group for ${domain.domain}</label>
          <select id="mapping-${domain.domain}" name="role">${(['', 'owners', 'engineers', 'viewers'] as const).map((role) => html`<option value="${role}"${(mappings.get(domain.domain) ?? '') === role ? html` selected` : ''}>${role ? ROLE_LABEL[role] : 'No mapping'}</option>`)}</select>
          <button type="submit" class="secondary">Save</button></form>`
        : 'Domain mappings need the Enterprise plan.'}</td>
    <td><form class="inline" method="post" action="${base}/verify"><input type="hidden" name="csrf_token" value="${page.csrfToken}"><input type="hidden" name="domain" value="${domain.domain}"><button type="submit" class="secondary" aria-label="Check ${domain.domain} now">Check now</button></form></td>
  </tr>`;
  })}</tbody>
</table>`}
<p class="hint">A mapping to Owners gives every new person from the domain full control of the organization.</p>
<h2>Require single sign-on</h2>
<p>${requireSSO
  ? html`<strong>On.</strong> Members with an email in a verified domain can sign in only through this organization's SSO. Google sign-in and email codes send them there.`
  : html`<strong>Off.</strong> Members can also sign in with Google or an email code. Turning this on ends their sessions that did not come through SSO.`}</p>
<form method="post" action="${base}/require-sso">
  <input type="hidden" name="csrf_token" value="${page.csrfToken}">
  <input type="hidden" name="enabled" value="${requireSSO ? '0' : '1'}">
  <button type="submit" class="${requireSSO ? 'secondary' : ''}">${requireSSO ? 'Stop requiring SSO' : 'Require SSO'}</button>
</form>
<h2>Claim a domain</h2>
<form method="post" action="${base}" novalidate>
  <input type="hidden" name="csrf_token" value="${page.csrfToken}">
  ${field({ name: 'domain', label: 'Email domain', value: options.domain ?? '', error: options.error, required: true, hint: 'For example example.com. Public mail providers such as gmail.com cannot be claimed.' })}
  <button type="submit">Claim domain</button>
</form>`,
    });
  };

  app.get<Params>('/orgs/:organizationId/settings/domains', async (request, reply) => {
    const page = await requirePageSession(context, verifier, request, reply);
    if (!page) return reply;
    requirePermission(page.principal, request.params.organizationId, 'organization.manage');
    return render(reply, page, request.params.organizationId);
  });

  app.post<Params>('/orgs/:organizationId/settings/domains', async (request, reply) => {
    const page = await requirePageSession(context, verifier, request, reply);
    if (!page) return reply;
    requireCSRF(context, request, reply, page.principal);
    const { organizationId } = request.params;
    requirePermission(page.principal, organizationId, 'organization.manage');

    const input = formField(request, 'domain');
    try {
      const claimed = await claimDomain(context, organizationId, input);
      return render(reply, page, organizationId, { status: 201, notice: `Publish the TXT record shown for ${claimed.domain}, then choose "Check now".` });
    } catch (error) {
      if (!(error instanceof InvalidRequest) && !(error instanceof Conflict)) throw error;
      request.log.info({ event: 'domain.rejected', organizationId, reason: error.code }, 'domain claim rejected');
      return render(reply, page, organizationId, { status: error.status, domain: input, error: error.description });
    }
  });

  app.post<Params>('/orgs/:organizationId/settings/domains/mapping', async (request, reply) => {
    const page = await requirePageSession(context, verifier, request, reply);
    if (!page) return reply;
    requireCSRF(context, request, reply, page.principal);
    const { organizationId } = request.params;
    requirePermission(page.principal, organizationId, 'organization.manage');

    const domain = formField(request, 'domain');
    const role = formField(request, 'role');
    if (role !== '' && role !== 'owners' && role !== 'engineers' && role !== 'viewers') throw new InvalidRequest('Choose Owners, Engineers, Viewers or no mapping.');
    try {
      await setDomainMapping(context, organizationId, domain, role === '' ? null : role);
    } catch (error) {
      if (!(error instanceof InvalidRequest) && !(error instanceof PlanRequired)) throw error;
      request.log.info({ event: 'domain_mapping.rejected', organizationId, reason: error.code }, 'domain mapping rejected');
      return render(reply, page, organizationId, { status: error.status, notice: error.description });
    }
    const notice = role === '' ? `New members from ${domain} join through their sign-in connection's default group.` : `New members from ${domain} join ${ROLE_LABEL[role]}.`;
    return render(reply, page, organizationId, { notice });
  });

  app.post<Params>('/orgs/:organizationId/settings/domains/verify', async (request, reply) => {
    const page = await requirePageSession(context, verifier, request, reply);
    if (!page) return reply;
    requireCSRF(context, request, reply, page.principal);
    const { organizationId } = request.params;
    requirePermission(page.principal, organizationId, 'organization.manage');

    const checked = await verifyDomain(context, organizationId, formField(request, 'domain'));
    const notice = checked.status === 'verified' ? `${checked.domain} is verified.` : `${checked.domain} is not verified yet: ${checked.last_error ?? ''}`;
    return render(reply, page, organizationId, { notice });
  });

  app.post<Params>('/orgs/:organizationId/settings/domains/require-sso', async (request, reply) => {
    const page = await requirePageSession(context, verifier, request, reply);
    if (!page) return reply;
    requireCSRF(context, request, reply, page.principal);
    const { organizationId } = request.params;
    requirePermission(page.principal, organizationId, 'organization.manage');

    const enabled = formField(request, 'enabled');
    if (enabled !== '0' && enabled !== '1') throw new InvalidRequest('enabled must be 0 or 1.', { field: 'enabled' });
    const sessionId = page.principal.credential.method === 'session' ? page.principal.credential.sessionId : '';
    const session = await context.store.db.selectFrom('sessions').select('connection_id').where('id', '=', sessionId).executeTakeFirst();

    let ended: number;
    try {
      ended = await setRequireSSO(context, {
        organizationId,
        enabled: enabled === '1',
        actor: { userId: page.principal.user.id, email: page.principal.user.email, sessionConnectionId: session?.connection_id ?? null },
      });
    } catch (error) {
      if (!(error instanceof InvalidRequest) && !(error instanceof Conflict)) throw error;
      request.log.info({ event: 'sso_enforcement.rejected', organizationId, reason: error.code }, 'SSO enforcement change rejected');
      return render(reply, page, organizationId, { status: error.status, notice: error.description });
    }
    const notice = enabled === '1'
      ? `SSO is now required. ${ended} ${ended === 1 ? 'session' : 'sessions'} that did not come through SSO ended.`
      : 'SSO is no longer required.';
    return render(reply, page, organizationId, { notice });
  });
}
