import { z } from 'zod';

import type { AppContext } from '../app/context.js';
import { decryptSecret, encryptSecret } from '../crypto/key-ring.js';
import { newId } from '../crypto/tokens.js';
import { isUniqueViolation } from '../db/errors.js';
import type { AIProviderAuthMethod, AIProviderKind, AIProviderTable } from '../db/schema.js';
import { Conflict, InvalidRequest, NotFound } from '../http/errors.js';
import { findProject } from '../model/projects.js';
import { federationUnavailableReason } from './availability.js';
import { parseEndpointURL } from './endpoint-url.js';
import { federationSchemas, providerKinds, providerKindSchema, type FederatedKind } from './kinds.js';

/** A provider as the API and the page show it. The stored key is never part of it; only its hint is. */
export interface ProviderView {
  id: string;
  organizationId: string;
  projectId: string | null;
  kind: AIProviderKind;
  name: string;
  baseURL: string;
  models: string[];
  authMethod: AIProviderAuthMethod;
  keyHint: string | null;
  federation: Record<string, string> | null;
  createdAt: string;
  updatedAt: string;
}

/** A provider with what the gateway needs to call it. */
export interface ResolvedProvider extends ProviderView {
  /** Decrypted API key; only for `api_key` providers, and only inside the gateway. */
  apiKey: () => string;
}

const modelPattern = z.string().trim().regex(/^[A-Za-z0-9._:/@-]+\*?$|^\*$/, 'must be a model name, optionally ending in *').max(200);

/** Input of create and update, from JSON or from the page's form. */
export const providerInputSchema = z.object({
  kind: providerKindSchema,
  name: z.string().trim().min(1, 'must not be empty').max(100),
  project_id: z.string().min(1).max(64).nullish(),
  base_url: z.string().trim().max(2000).optional(),
  models: z.array(modelPattern).max(100).optional(),
  auth_method: z.enum(['api_key', 'wif']),
  api_key: z.string().max(4096).optional(),
  federation: z.record(z.string(), z.string()).optional(),
});

export type ProviderInput = z.infer<typeof providerInputSchema>;

const API_KEY = /^[\x21-\x7e]{8,4096}$/;

/** Returns the part of a key that may be shown again: its last four characters. */
export function keyHint(key: string): string {
  return `…${key.slice(-4)}`;
}

function associatedData(providerId: string): string {
  return `ai_provider:${providerId}`;
}

/** Returns the `sub` of Gatehouse's identity tokens for one provider binding; stable for its lifetime. */
export function federationSubject(organizationId: string, providerId: string): string {
  return `org:${organizationId}:provider:${providerId}`;
}

function toView(row: AIProviderTable): ProviderView {
  return {
    id: row.id,
    organizationId: row.organization_id,
    projectId: row.project_id,
    kind: row.kind,
    name: row.name,
    baseURL: row.base_url,
    models: JSON.parse(row.models) as string[],
    authMethod: row.auth_method,
    keyHint: row.key_hint,
    federation: row.federation ? (JSON.parse(row.federation) as Record<string, string>) : null,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  };
}

/**
 * Validates provider input and returns the columns to store, key encryption included. Throws
 * InvalidRequest naming the field. `existing` is the stored row of an update, whose key stays when
 * no new one is sent.
 */
async function columnsFor(context: AppContext, organizationId: string, providerId: string, input: ProviderInput, existing?: AIProviderTable) {
  const kind = input.kind;
  const projectId = input.project_id ?? null;
  if (projectId && !(await findProject(context.store.db, organizationId, projectId))) {
    throw new InvalidRequest('The project does not exist in this organization.', { field: 'project_id' });
  }

  const info = providerKinds[kind];
  const rawBaseURL = input.base_url?.trim() || info.defaultBaseURL;
  if (!rawBaseURL) throw new InvalidRequest(`Enter the base URL. ${info.baseURLHint}`, { field: 'base_url' });
  const baseURL = parseEndpointURL(context, rawBaseURL, 'base_url');

  const models = input.models && input.models.length > 0 ? input.models : info.defaultModels;
  if (models.length === 0) throw new InvalidRequest('List the models this provider serves, for example gpt-4o or my-deployment.', { field: 'models' });

  if (input.auth_method === 'wif') {
    const reason = federationUnavailableReason(context, { kind, projectId });
    if (reason) throw new InvalidRequest(reason, { field: 'auth_method' });
    if (input.api_key) throw new InvalidRequest('A provider that uses workload identity federation stores no API key; leave api_key out.', { field: 'api_key' });
    const federation = parseFederation(context, kind as FederatedKind, input.federation ?? {});
    return { kind, projectId, baseURL, models, authMethod: 'wif' as const, federation, key: null };
  }

  if (input.federation && Object.keys(input.federation).length > 0) {
    throw new InvalidRequest('Federation settings apply only when auth_method is "wif".', { field: 'federation' });
  }
  let key: { sealed: string; keyId: string; hint: string } | null = null;
  if (input.api_key !== undefined && input.api_key !== '') {
    if (!API_KEY.test(input.api_key)) throw new InvalidRequest('The API key must be 8 to 4096 printable characters without spaces.', { field: 'api_key' });
    const encrypted = encryptSecret(context.keys.keyRing, input.api_key, associatedData(providerId));
    key = { sealed: encrypted.sealed, keyId: encrypted.keyId, hint: keyHint(input.api_key) };
  } else if (existing?.auth_method === 'api_key' && existing.key_sealed && existing.key_encryption_key_id && existing.key_hint) {
    key = { sealed: existing.key_sealed, keyId: existing.key_encryption_key_id, hint: existing.key_hint };
  } else {
    throw new InvalidRequest('Enter the provider API key.', { field: 'api_key' });
  }
  return { kind, projectId, baseURL, models, authMethod: 'api_key' as const, federation: null, key };
}

function parseFederation(context: AppContext, kind: FederatedKind, raw: Record<string, string>): Record<string, string> {
  const cleaned = Object.fromEntries(Object.entries(raw).filter(([, value]) => value.trim() !== ''));
  const result = federationSchemas[kind].safeParse(cleaned);
  if (!result.success) {
    const issue = result.error.issues[0]!;
    const name = String(issue.path[0] ?? 'federation');
    throw new InvalidRequest(`federation.${name}: ${issue.message}.`, { field: `federation.${name}` });
  }
  const settings = result.data as Record<string, string | undefined>;
  const stored: Record<string, string> = {};
  for (const [name, value] of Object.entries(settings)) {
    if (value === undefined) continue;
    stored[name] = /_url$/.test(name) ? parseEndpointURL(context, value, `federation.${name}`) : value;
  }
  return stored;
}

/** Validates and stores a new provider. Throws InvalidRequest or Conflict naming the field. */
export async function createProvider(context: AppContext, organizationId: string, input: ProviderInput): Promise<ProviderView> {
  const id = newId('prv');
  const columns = await columnsFor(context, organizationId, id, input);
  const now = context.clock().toISOString();
  const row: AIProviderTable = {
    id,
    organization_id: organizationId,
    project_id: columns.projectId,
    scope_key: columns.projectId ?? '',
    kind: columns.kind,
    name: input.name,
    base_url: columns.baseURL,
    models: JSON.stringify(columns.models),
    auth_method: columns.authMethod,
    key_sealed: columns.key?.sealed ?? null,
    key_encryption_key_id: columns.key?.keyId ?? null,
    key_hint: columns.key?.hint ?? null,
    federation: columns.federation ? JSON.stringify(columns.federation) : null,
    created_at: now,
    updated_at: now,
  };
  try {
    await context.store.db.insertInto('ai_providers').values(row).execute();
  } catch (error) {
    if (isUniqueViolation(error)) throw new Conflict(`A provider named "${input.name}" already exists here.`, { field: 'name' });
    throw error;
  }
  return toView(row);
}

/** Replaces a provider's settings. Without a new api_key, an api_key provider keeps its stored key. */
export async function updateProvider(context: AppContext, organizationId: string, providerId: string, input: ProviderInput): Promise<ProviderView> {
  const existing = await context.store.db.selectFrom('ai_providers').selectAll().where('organization_id', '=', organizationId).where('id', '=', providerId).executeTakeFirst();
  if (!existing) throw new NotFound('Provider not found.');
  if ((input.project_id ?? null) !== existing.project_id) {
    throw new InvalidRequest('A provider cannot move between the organization and a project; create a new one.', { field: 'project_id' });
  }
  if (input.kind !== existing.kind) throw new InvalidRequest('The kind of a provider cannot change; create a new one.', { field: 'kind' });
  const columns = await columnsFor(context, organizationId, providerId, input, existing);
  const row: AIProviderTable = {
    ...existing,
    name: input.name,
    base_url: columns.baseURL,
    models: JSON.stringify(columns.models),
    auth_method: columns.authMethod,
    key_sealed: columns.key?.sealed ?? null,
    key_encryption_key_id: columns.key?.keyId ?? null,
    key_hint: columns.key?.hint ?? null,
    federation: columns.federation ? JSON.stringify(columns.federation) : null,
    updated_at: context.clock().toISOString(),
  };
  try {
    await context.store.db.updateTable('ai_providers').set(row).where('id', '=', providerId).execute();
  } catch (error) {
    if (isUniqueViolation(error)) throw new Conflict(`A provider named "${input.name}" already exists here.`, { field: 'name' });
    throw error;
  }
  return toView(row);
}

/** Deletes a provider; returns false when it does not exist in the organization. */
export async function deleteProvider(context: AppContext, organizationId: string, providerId: string): Promise<boolean> {
  const result = await context.store.db.deleteFrom('ai_providers').where('organization_id', '=', organizationId).where('id', '=', providerId).executeTakeFirst();
  return Number(result.numDeletedRows) > 0;
}

/** Lists an organization's providers: organization level first, then by project and name. */
export async function listProviders(context: AppContext, organizationId: string): Promise<ProviderView[]> {
  const rows = await context.store.db.selectFrom('ai_providers').selectAll().where('organization_id', '=', organizationId).orderBy('scope_key').orderBy('name').execute();
  return rows.map(toView);
}

/** Returns one provider of an organization, or undefined. */
export async function findProvider(context: AppContext, organizationId: string, providerId: string): Promise<ProviderView | undefined> {
  const row = await context.store.db.selectFrom('ai_providers').selectAll().where('organization_id', '=', organizationId).where('id', '=', providerId).executeTakeFirst();
  return row ? toView(row) : undefined;
}

/** Returns whether a model name matches one of a provider's patterns (exact, or prefix before a trailing *). */
export function servesModel(patterns: readonly string[], model: string): boolean {
  return patterns.some((pattern) => (pattern.endsWith('*') ? model.startsWith(pattern.slice(0, -1)) : pattern === model));
}

/**
 * Finds the provider for a model: the project's providers first, so that a project-level provider
 * overrides the organization's, then the organization's. Within a level the oldest match wins.
 */
export async function resolveProvider(
  context: AppContext,
  input: { organizationId: string; projectId: string | null; model: string },
): Promise<ResolvedProvider | undefined> {
  let query = context.store.db.selectFrom('ai_providers').selectAll().where('organization_id', '=', input.organizationId);
  query = input.projectId
    ? query.where((eb) => eb.or([eb('project_id', 'is', null), eb('project_id', '=', input.projectId)]))
    : query.where('project_id', 'is', null);
  const rows = await query.orderBy('created_at').orderBy('id').execute();
  const ordered = [...rows.filter((row) => row.project_id !== null), ...rows.filter((row) => row.project_id === null)];
  const row = ordered.find((candidate) => servesModel(JSON.parse(candidate.models) as string[], input.model));
  if (!row) return undefined;
  return {
    ...toView(row),
    apiKey: () => {
      if (!row.key_sealed || !row.key_encryption_key_id) throw new Error(`provider ${row.id} has no stored key`);
      return decryptSecret(context.keys.keyRing, { keyId: row.key_encryption_key_id, sealed: row.key_sealed }, associatedData(row.id));
    },
  };
}

export { associatedData as providerKeyAssociatedData };
