import assert from 'node:assert/strict';

import { BrowserClient, readForm } from './browser-client.js';
import type { FakeProvider } from './fakes/providers.js';
import type { TestGatehouse } from './gatehouse.js';

/** Fields of the Settings → AI providers form. */
export interface ProviderForm {
  kind: 'openai' | 'anthropic' | 'google' | 'azure' | 'openai_compatible';
  name: string;
  baseURL: string;
  models: string;
  authMethod: 'api_key' | 'wif';
  apiKey?: string;
  federation?: Record<string, string>;
  projectId?: string;
}

/** Submits the add-provider form of the providers page, as an admin in a browser would. */
export async function addProviderInUI(browser: BrowserClient, gatehouse: TestGatehouse, organizationId: string, form: ProviderForm): Promise<{ status: number; body: string }> {
  const path = `/orgs/${organizationId}/settings/providers`;
  const page = await browser.follow(`${gatehouse.url}${path}?kind=${form.kind}`);
  assert.equal(page.response.status, 200, page.body);
  const fields = readForm(page.body, '/signout').fields;
  const federation = Object.fromEntries(Object.entries(form.federation ?? {}).map(([name, value]) => [`federation.${name}`, value]));
  const response = await browser.request(`${gatehouse.url}${path}`, {
    form: {
      csrf_token: fields.csrf_token ?? '',
      kind: form.kind,
      name: form.name,
      project_id: form.projectId ?? '',
      base_url: form.baseURL,
      models: form.models,
      auth_method: form.authMethod,
      api_key: form.apiKey ?? '',
      ...federation,
    },
  });
  return { status: response.status, body: await response.text() };
}

/** Reads the subject the providers page shows for a provider, by the provider's name. */
export function subjectOnPage(body: string, providerId: string): string {
  const row = new RegExp(`<tr data-provider-id="${providerId}">([\\s\\S]*?)</tr>`).exec(body)?.[1] ?? '';
  const subject = /<dt>Subject<\/dt><dd><code>([^<]+)<\/code>/.exec(row)?.[1];
  assert.ok(subject, `the page shows a subject for ${providerId}`);
  return subject;
}

/** Returns the id of the provider with this name from the providers API. */
export async function providerIdByName(gatehouse: TestGatehouse, organizationId: string, apiKey: string, name: string): Promise<string> {
  const response = await fetch(`${gatehouse.url}/v1/organizations/${organizationId}/providers`, { headers: { authorization: `Bearer ${apiKey}` } });
  const body = (await response.json()) as { providers: Array<{ id: string; name: string }> };
  const provider = body.providers.find((entry) => entry.name === name);
  assert.ok(provider, `provider ${name} exists`);
  return provider.id;
}

/** Calls the gateway's chat completions endpoint with a Gatehouse API key. */
export async function chat(
  gatehouse: TestGatehouse,
  apiKey: string,
  model: string,
  options: { stream?: boolean; project?: string } = {},
): Promise<{ status: number; headers: Headers; text: string; json: Record<string, unknown> | undefined }> {
  const response = await fetch(`${gatehouse.url}/v1/chat/completions`, {
    method: 'POST',
    headers: { authorization: `Bearer ${apiKey}`, 'content-type': 'application/json', ...(options.project ? { 'x-gatehouse-project': options.project } : {}) },
    body: JSON.stringify({ model, messages: [{ role: 'user', content: 'Say hello' }], ...(options.stream ? { stream: true } : {}) }),
  });
  const text = await response.text();
  let json: Record<string, unknown> | undefined;
  try {
    json = JSON.parse(text) as Record<string, unknown>;
  } catch {
    json = undefined;
  }
  return { status: response.status, headers: response.headers, text, json };
}

/** Returns the assistant text of a chat completion. */
export function replyText(json: Record<string, unknown> | undefined): unknown {
  return (json?.choices as Array<{ message: { content: unknown } }> | undefined)?.[0]?.message.content;
}

/** Asserts that no log line contains any of the secrets. */
export function assertNoSecretsInLogs(logs: string[], secrets: string[]): void {
  for (const secret of secrets) {
    const line = logs.find((entry) => entry.includes(secret));
    assert.equal(line, undefined, `a log line contains a secret: ${line?.slice(0, 200)}`);
  }
}

/** Returns every identity token and provider token a fake saw, for the log check. */
export function secretsSeenBy(fake: FakeProvider): string[] {
  const tokens = [...fake.issuedTokens.keys()];
  for (const request of fake.tokenRequests()) {
    for (const match of request.body.matchAll(/eyJ[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+/g)) tokens.push(match[0]);
  }
  return [fake.apiKey, ...tokens];
}
