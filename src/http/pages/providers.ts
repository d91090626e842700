import type { FastifyInstance, FastifyReply } from 'fastify';

import type { AppContext } from '../../app/context.js';
import type { CredentialVerifier, Principal } from '../../auth/principal.js';
import type { AIProviderKind } from '../../db/schema.js';
import { issuerURL } from '../../issuer/identity-tokens.js';
import { can } from '../../model/permissions.js';
import { listProjects, type Project } from '../../model/projects.js';
import { federationUnavailableReason } from '../../providers/availability.js';
import { trustValues } from '../../providers/federation-display.js';
import { federationSchemas, isFederatedKind, providerKinds, providerKindSchema } from '../../providers/kinds.js';
import { createProvider, deleteProvider, findProvider, listProviders, updateProvider, type ProviderInput, type ProviderView } from '../../providers/providers.js';
import { html, type SafeHTML } from '../../web/html.js';
import { field } from '../../web/layout.js';
import { Conflict, InvalidRequest, NotFound } from '../errors.js';
import { requirePermission } from '../guards.js';
import { formField, requireCSRF, requirePageSession, sendPage } from './page.js';

type Params = { Params: { organizationId: string } };
type Page = { principal: Principal; csrfToken: string };

/** Labels and hints of the federation fields, by setting name. */
const federationFieldText: Record<string, { label: string; hint?: string }> = {
  identity_provider_id: { label: 'Workload identity provider ID', hint: 'From OpenAI: Organization settings → Security → Workload Identity Provider.' },
  service_account_id: { label: 'Service account ID' },
  audience: { label: 'Audience', hint: 'The audience you set at the provider; leave empty for the default.' },
  token_url: { label: 'Token endpoint', hint: 'Leave empty for the provider\'s public endpoint.' },
  federation_rule_id: { label: 'Federation rule ID', hint: 'fdrl_… from the Claude Console.' },
  organization_id: { label: 'Anthropic organization ID' },
  workspace_id: { label: 'Workspace ID', hint: 'Only when the rule covers more than one workspace.' },
  project_number: { label: 'Google Cloud project number' },
  pool_id: { label: 'Workload identity pool ID' },
  provider_id: { label: 'Pool provider ID' },
  service_account_email: { label: 'Service account email', hint: 'Gatehouse impersonates it; grant it Vertex AI User.' },
  sts_url: { label: 'STS endpoint', hint: 'Leave empty for https://sts.googleapis.com/v1/token.' },
  iam_credentials_url: { label: 'IAM Credentials endpoint', hint: 'Leave empty for https://iamcredentials.googleapis.com.' },
  tenant_id: { label: 'Directory (tenant) ID' },
  client_id: { label: 'Application (client) ID', hint: 'Of the app registration or user-assigned managed identity.' },
  scope: { label: 'Scope', hint: 'Leave empty for https://cognitiveservices.azure.com/.default.' },
  authority_url: { label: 'Authority', hint: 'Leave empty for https://login.microsoftonline.com.' },
};

function federationFieldNames(kind: AIProviderKind): string[] {
  return isFederatedKind(kind) ? Object.keys(federationSchemas[kind].shape) : [];
}

function scopeLabel(provider: ProviderView, projects: Project[]): string {
  if (!provider.projectId) return 'Organization';
  return `Project ${projects.find((project) => project.id === provider.projectId)?.name ?? provider.projectId}`;
}

function trustList(context: AppContext, provider: ProviderView): SafeHTML | string {
  const trust = trustValues(context, provider);
  if (!trust) return '';
  return html`<dl class="trust">
  <dt>Issuer</dt><dd><code>${trust.issuer}</code></dd>
  <dt>Subject</dt><dd><code>${trust.subject}</code></dd>
  <dt>Audience</dt><dd><code>${trust.audience}</code></dd>
  <dt>JWKS</dt><dd><code>${trust.jwksURL}</code></dd>
</dl>`;
}

/** Registers Settings → AI providers: list, add with a stored key or federation, and delete. */
export function registerProviderPages(app: FastifyInstance, context: AppContext, verifier: CredentialVerifier): void {
  const render = async (
    reply: FastifyReply,
    page: Page,
    organizationId: string,
    options: { status?: number; kind?: AIProviderKind; values?: Record<string, string>; errors?: Record<string, string>; notice?: string } = {},
  ) => {
    const providers = await listProviders(context, organizationId);
    const projects = await listProjects(context.store.db, organizationId);
    const kind = options.kind ?? 'openai';
    const values = options.values ?? {};
    const errors = options.errors ?? {};
    const manageOrganization = can(page.principal.organizations, 'providers.manage', organizationId);
    const manageProjects = can(page.principal.organizations, 'providers.manage_project', organizationId);
    const federationReason = federationUnavailableReason(context, { kind, projectId: null });
    const formError = Object.entries(errors).find(([name]) => name === 'auth_method' || name === 'project_id' || name === 'kind')?.[1];

    const replaceKeyForm = (provider: ProviderView) => html`<form class="inline" method="post" action="/orgs/${organizationId}/settings/providers/${provider.id}/key">
        <input type="hidden" name="csrf_token" value="${page.csrfToken}">
        <label class="visually-hidden" for="key-${provider.id}">New API key for ${provider.name}</label>
        <input id="key-${provider.id}" name="api_key" type="password" autocomplete="off">
        <button type="submit" class="secondary" aria-label="Replace the key of ${provider.name}">Replace key</button></form>`;

    const table = providers.length === 0
      ? html`<p>No AI providers yet. The gateway serves only models that a provider below lists.</p>`
      : html`<table>
  <thead><tr><th scope="col">Name</th><th scope="col">Provider</th><th scope="col">Scope</th><th scope="col">Models</th><th scope="col">Credential</th><th scope="col"><span class="visually-hidden">Actions</span></th></tr></thead>
  <tbody>${providers.map((provider) => {
    const mayDelete = provider.projectId ? manageProjects : manageOrganization;
    return html`<tr data-provider-id="${provider.id}">
    <td>${provider.name}</td><td>${providerKinds[provider.kind].label}</td><td>${scopeLabel(provider, projects)}</td><td><code>${provider.models.join(', ')}</code></td>
    <td>${provider.authMethod === 'api_key' ? html`API key <code>${provider.keyHint ?? ''}</code>${mayDelete ? replaceKeyForm(provider) : ''}` : html`Workload identity federation ${trustList(context, provider)}`}</td>
    <td>${mayDelete
      ? html`<form method="post" action="/orgs/${organizationId}/settings/providers/${provider.id}/delete">
        <input type="hidden" name="csrf_token" value="${page.csrfToken}">
        <button type="submit" class="secondary" aria-label="Delete ${provider.name}">Delete</button></form>`
      : ''}</td>
  </tr>`;
  })}</tbody>
</table>`;

    const kindLinks = html`<p>${(Object.keys(providerKinds) as AIProviderKind[]).map(
      (entry) => html`<a href="/orgs/${organizationId}/settings/providers?kind=${entry}"${entry === kind ? html` aria-current="page"` : ''}>${providerKinds[entry].label}</a> `,
    )}</p>`;

    const form = !manageOrganization && !manageProjects
      ? html`<p>Your permission group may use these providers but not change them.</p>`
      : html`<h2>Add ${providerKinds[kind].label}</h2>
${kindLinks}
${formError ? html`<p class="notice error" role="alert">${formError}</p>` : ''}
<form method="post" action="/orgs/${organizationId}/settings/providers" novalidate>
  <input type="hidden" name="csrf_token" value="${page.csrfToken}">
  <input type="hidden" name="kind" value="${kind}">
  ${field({ name: 'name', label: 'Name', value: values.name ?? '', error: errors.name, required: true, hint: 'Shown to admins, for example "OpenAI production".' })}
  <div class="field"><label for="field-project_id">Scope</label>
  <select id="field-project_id" name="project_id">
    ${manageOrganization ? html`<option value="">Whole organization</option>` : ''}
    ${projects.map((project) => html`<option value="${project.id}"${values.project_id === project.id ? html` selected` : ''}>Project ${project.name}</option>`)}
  </select>
  <p class="hint">A project's provider overrides the organization's for the models it serves.</p></div>
  ${field({ name: 'base_url', label: 'Base URL', type: 'url', value: values.base_url ?? '', error: errors.base_url, hint: providerKinds[kind].baseURLHint })}
  ${field({ name: 'models', label: 'Models', value: values.models ?? providerKinds[kind].defaultModels.join(', '), error: errors.models, hint: 'Comma-separated model names; a trailing * matches any suffix.' })}
  <fieldset><legend>Credential</legend>
    <label><input type="radio" name="auth_method" value="api_key"${values.auth_method !== 'wif' ? html` checked` : ''}> API key</label>
    ${isFederatedKind(kind) ? html`<label><input type="radio" name="auth_method" value="wif"${values.auth_method === 'wif' ? html` checked` : ''}> Workload identity federation (no stored key)</label>` : ''}
  </fieldset>
  ${field({ name: 'api_key', label: 'API key', type: 'password', error: errors.api_key, autocomplete: 'off', hint: 'Stored encrypted; only its last four characters are shown again.' })}
  ${isFederatedKind(kind)
    ? html`<h3>Workload identity federation</h3>
  ${federationReason
    ? html`<p class="hint">${federationReason}</p>`
    : html`<p class="hint">At the provider, register the issuer <code>${issuerURL(context)}</code> (it publishes its keys at <code>${issuerURL(context)}/jwks.json</code>). The subject to enter appears in the list above once the provider is saved.</p>`}
  ${federationFieldNames(kind).map((name) =>
    field({ name: `federation.${name}`, label: federationFieldText[name]?.label ?? name, value: values[`federation.${name}`] ?? '', error: errors[`federation.${name}`], ...(federationFieldText[name]?.hint ? { hint: federationFieldText[name]!.hint! } : {}) }),
  )}`
    : ''}
  <button type="submit">Add provider</button>
</form>`;

    return sendPage(reply, {
      status: options.status ?? 200,
      title: 'AI providers',
      csrfToken: page.csrfToken,
      principal: page.principal,
      organizationId,
      content: html`${options.notice ? html`<p class="notice" role="status">${options.notice}</p>` : ''}
<p>Gatehouse calls these providers for the gateway (<code>POST /v1/chat/completions</code>, <code>POST /v1/messages</code>). Their keys never leave Gatehouse.</p>
${table}
${form}`,
    });
  };

  app.get<Params>('/orgs/:organizationId/settings/providers', async (request, reply) => {
    const page = await requirePageSession(context, verifier, request, reply);
    if (!page) return reply;
    const { organizationId } = request.params;
    requirePermission(page.principal, organizationId, 'providers.read');

    const kind = providerKindSchema.safeParse((request.query as Record<string, unknown>).kind);
    return render(reply, page, organizationId, kind.success ? { kind: kind.data } : {});
  });

  app.post<Params>('/orgs/:organizationId/settings/providers', async (request, reply) => {
    const page = await requirePageSession(context, verifier, request, reply);
    if (!page) return reply;
    requireCSRF(context, request, reply, page.principal);
    const { organizationId } = request.params;
    requirePermission(page.principal, organizationId, 'providers.read');

    const parsedKind = providerKindSchema.safeParse(formField(request, 'kind'));
    if (!parsedKind.success) throw new InvalidRequest('Choose a provider kind.');
    const kind = parsedKind.data;
    const values: Record<string, string> = {};
    for (const name of ['name', 'project_id', 'base_url', 'models', 'auth_method', ...federationFieldNames(kind).map((entry) => `federation.${entry}`)]) {
      values[name] = formField(request, name);
    }
    const projectId = values.project_id || null;
    requirePermission(page.principal, organizationId, projectId ? 'providers.manage_project' : 'providers.manage');

    const authMethod = values.auth_method === 'wif' ? 'wif' : 'api_key';
    const federation = Object.fromEntries(federationFieldNames(kind).map((name) => [name, values[`federation.${name}`] ?? '']));
    const input: ProviderInput = {
      kind,
      name: (values.name ?? '').trim(),
      project_id: projectId,
      base_url: values.base_url ?? '',
      models: (values.models ?? '').split(/[,\s]+/).filter(Boolean),
      auth_method: authMethod,
      ...(authMethod === 'api_key' ? { api_key: formField(request, 'api_key').trim() } : { federation }),
    };
    if (input.name.length < 1 || input.name.length > 100) {
      return render(reply, page, organizationId, { status: 400, kind, values, errors: { name: 'Enter a name of 1 to 100 characters.' } });
    }
    const badModel = input.models?.find((model) => !/^[A-Za-z0-9._:/@-]+\*?$|^\*$/.test(model) || model.length > 200);
    if (badModel !== undefined) {
      return render(reply, page, organizationId, { status: 400, kind, values, errors: { models: `"${badModel}" is not a model name; use letters, digits and . _ : / @ -, optionally ending in *.` } });
    }

    try {
      const created = await createProvider(context, organizationId, input);
      request.log.info({ event: 'provider.created', organizationId, providerId: created.id, kind, authMethod }, 'AI provider created');
      return render(reply, page, organizationId, { status: 201, kind, notice: `Provider "${created.name}" added.` });
    } catch (error) {
      if ((error instanceof InvalidRequest || error instanceof Conflict) && error.field) {
        request.log.info({ event: 'provider.rejected', organizationId, field: error.field, detail: error.detail }, 'provider not saved');
        return render(reply, page, organizationId, { status: error.status, kind, values, errors: { [error.field]: error.description } });
      }
      throw error;
    }
  });

  app.post<{ Params: { organizationId: string; providerId: string } }>('/orgs/:organizationId/settings/providers/:providerId/key', async (request, reply) => {
    const page = await requirePageSession(context, verifier, request, reply);
    if (!page) return reply;
    requireCSRF(context, request, reply, page.principal);
    const { organizationId, providerId } = request.params;
    requirePermission(page.principal, organizationId, 'providers.read');
    const provider = await findProvider(context, organizationId, providerId);
    if (!provider) throw new NotFound('Provider not found.');
    requirePermission(page.principal, organizationId, provider.projectId ? 'providers.manage_project' : 'providers.manage');
    if (provider.authMethod !== 'api_key') throw new InvalidRequest('This provider uses workload identity federation and stores no key.');

    const apiKey = formField(request, 'api_key').trim();
    if (apiKey === '') return render(reply, page, organizationId, { status: 400, errors: { auth_method: `Enter the new API key for "${provider.name}".` } });
    try {
      await updateProvider(context, organizationId, providerId, {
        kind: provider.kind,
        name: provider.name,
        project_id: provider.projectId,
        base_url: provider.baseURL,
        models: provider.models,
        auth_method: 'api_key',
        api_key: apiKey,
      });
    } catch (error) {
      if (error instanceof InvalidRequest && error.field === 'api_key') {
        return render(reply, page, organizationId, { status: 400, errors: { auth_method: `${error.description} The key of "${provider.name}" was not changed.` } });
      }
      throw error;
    }
    request.log.info({ event: 'provider.key_replaced', organizationId, providerId }, 'AI provider key replaced');
    return render(reply, page, organizationId, { notice: `The key of "${provider.name}" was replaced.` });
  });

  app.post<{ Params: { organizationId: string; providerId: string } }>('/orgs/:organizationId/settings/providers/:providerId/delete', async (request, reply) => {
    const page = await requirePageSession(context, verifier, request, reply);
    if (!page) return reply;
    requireCSRF(context, request, reply, page.principal);
    const { organizationId, providerId } = request.params;
    requirePermission(page.principal, organizationId, 'providers.read');
    const provider = await findProvider(context, organizationId, providerId);
    if (!provider) throw new NotFound('Provider not found.');
    requirePermission(page.principal, organizationId, provider.projectId ? 'providers.manage_project' : 'providers.manage');

    await deleteProvider(context, organizationId, providerId);
    request.log.info({ event: 'provider.deleted', organizationId, providerId }, 'AI provider deleted');
    return render(reply, page, organizationId, { notice: `Provider "${provider.name}" deleted.` });
  });
}
