import type { FastifyInstance } from 'fastify';

import type { AppContext } from '../../app/context.js';
import type { CredentialVerifier } from '../../auth/principal.js';
import { anyOrganizationExists } from '../../model/organizations.js';
import { completeSetup } from '../../setup/first-run.js';
import { inspectOneTimeLink } from '../../setup/one-time-links.js';
import { html } from '../../web/html.js';
import { field } from '../../web/layout.js';
import { currentSession, pageCSRFToken } from '../authenticate.js';
import { cookieNames, setCookie } from '../cookies.js';
import { InvalidLink, InvalidRequest } from '../errors.js';
import { formField, requireCSRF, sendPage } from './page.js';

interface SetupValues {
  token: string;
  organization_name: string;
  owner_name: string;
  owner_email: string;
}

/** Registers the start page and the first-run setup form. */
export function registerSetupPages(app: FastifyInstance, context: AppContext, verifier: CredentialVerifier): void {
  app.get('/', async (request, reply) => {
    const principal = await currentSession(context, verifier, request);
    const first = principal?.organizations[0];
    if (principal && first) return reply.redirect(`/orgs/${first.organizationId}/settings`, 303);
    if (principal) {
      return sendPage(reply, {
        title: 'No organization',
        csrfToken: pageCSRFToken(context, request, reply, principal),
        principal,
        content: html`<p>You are signed in as ${principal.user.email}, but you are not a member of any organization.
          Ask an owner to add you, or sign out and sign in with another account.</p>`,
      });
    }
    if (await anyOrganizationExists(context.store.db)) return reply.redirect('/signin', 303);

    return sendPage(reply, {
      title: 'Set up Gatehouse',
      csrfToken: '',
      content: html`<p>No organization exists yet. Open the one-time setup link that <code>gatehouse serve</code> printed
        when it started, or create a new one with <code>gatehouse admin setup-link</code>.</p>`,
    });
  });

  app.get('/setup', async (request, reply) => {
    const token = String((request.query as Record<string, unknown>).token ?? '');
    const link = await inspectOneTimeLink(context, token, 'setup');
    if (!link.ok) throw new InvalidLink(link.problem);
    if (await anyOrganizationExists(context.store.db)) throw new InvalidLink('used');

    const csrfToken = pageCSRFToken(context, request, reply, undefined);
    return sendPage(reply, {
      title: 'Create your organization',
      csrfToken,
      content: setupForm(csrfToken, { token, organization_name: '', owner_name: '', owner_email: '' }),
    });
  });

  app.post('/setup', async (request, reply) => {
    requireCSRF(context, request, reply, undefined);
    const values: SetupValues = {
      token: formField(request, 'token'),
      organization_name: formField(request, 'organization_name'),
      owner_name: formField(request, 'owner_name'),
      owner_email: formField(request, 'owner_email'),
    };

    try {
      const result = await completeSetup(context, {
        token: values.token,
        organizationName: values.organization_name,
        ownerName: values.owner_name,
        ownerEmail: values.owner_email,
      });
      setCookie(reply, cookieNames(context).session, result.sessionToken, context.config.session.maxSeconds);
      return reply.redirect(`/orgs/${result.organizationId}/settings/connections`, 303);
    } catch (error) {
      if (!(error instanceof InvalidRequest) || !error.field) throw error;
      request.log.info({ event: 'setup.rejected', field: error.field }, 'setup form rejected');
      const csrfToken = pageCSRFToken(context, request, reply, undefined);
      return sendPage(reply, {
        status: 400,
        title: 'Create your organization',
        csrfToken,
        content: setupForm(csrfToken, values, { [error.field]: error.description }),
      });
    }
  });
}

function setupForm(csrfToken: string, values: SetupValues, errors: Record<string, string> = {}) {
  return html`<p>This link works once. It creates your organization and makes you its owner.</p>
<form method="post" action="/setup" novalidate>
  <input type="hidden" name="csrf_token" value="${csrfToken}">
  <input type="hidden" name="token" value="${values.token}">
  ${field({ name: 'organization_name', label: 'Organization name', value: values.organization_name, error: errors.organization_name, required: true, autocomplete: 'organization' })}
  ${field({ name: 'owner_name', label: 'Your name', value: values.owner_name, error: errors.owner_name, autocomplete: 'name' })}
  ${field({ name: 'owner_email', label: 'Your work email', type: 'email', value: values.owner_email, error: errors.owner_email, required: true, autocomplete: 'email' })}
  <button type="submit">Create organization</button>
</form>`;
}
