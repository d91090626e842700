import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { after, before, it } from 'node:test';

import { createAPIKey } from '../../src/auth/api-keys.js';
import { generateAPIKey } from '../../src/auth/api-key-format.js';
import { addMembership } from '../../src/model/memberships.js';
import { builtinGroupId } from '../../src/model/organizations.js';
import { createUser } from '../../src/model/users.js';
import { BrowserClient, readForm } from '../support/browser-client.js';
import { databaseCases } from '../support/databases.js';
import { setupOrganization, tableCounts, whoami } from '../support/flows.js';
import { startGatehouse, type TestGatehouse } from '../support/gatehouse.js';
import { suite } from '../support/skip.js';

const INVALID_TOKEN = { error: 'invalid_token', error_description: 'The credential is invalid, expired or revoked.' };
const invalidTokenChallenge = (url: string) => `Bearer realm="gatehouse", error="invalid_token", resource_metadata="${url}/.well-known/oauth-protected-resource/v1"`;

for (const database of databaseCases) {
  suite(`credential rejections (${database.name})`, database.skip, () => {
    let gatehouse: TestGatehouse;
    let owner: BrowserClient;
    let organizationId: string;

    before(async () => {
      gatehouse = await startGatehouse(database);
      owner = new BrowserClient();
      organizationId = await setupOrganization(owner, gatehouse);
    });
    after(async () => {
      await gatehouse?.close();
    });

    async function engineerWithKey(email: string): Promise<{ userId: string; key: string }> {
      const { context } = gatehouse.app;
      const now = context.clock();
      const user = await createUser(context.store.db, { email, name: null, now });
      const groupId = await builtinGroupId(context.store.db, organizationId, 'engineers');
      await addMembership(context.store.db, { organizationId, userId: user.id, groupId, now });
      const created = await createAPIKey(context, { organizationId, userId: user.id, name: 'test' });
      return { userId: user.id, key: created.key };
    }

    async function assertRejected(key: string): Promise<void> {
      const answer = await whoami(gatehouse, key);
      assert.equal(answer.status, 401);
      assert.deepEqual(answer.body, INVALID_TOKEN);
      assert.equal(answer.headers.get('www-authenticate'), invalidTokenChallenge(gatehouse.url));
    }

    it('answers a request without credentials with 401 and a bare challenge', async () => {
      const response = await fetch(`${gatehouse.url}/v1/whoami`);
      assert.equal(response.status, 401);
      assert.equal(response.headers.get('www-authenticate'), `Bearer realm="gatehouse", resource_metadata="${gatehouse.url}/.well-known/oauth-protected-resource/v1"`);
      assert.deepEqual(await response.json(), {
        error: 'missing_credential',
        error_description: 'Authentication required. Send an API key as "Authorization: Bearer <key>" or sign in.',
      });
    });

    it('rejects a non-Bearer Authorization header with 400', async () => {
      const response = await fetch(`${gatehouse.url}/v1/whoami`, { headers: { authorization: 'Basic YWxpY2U6cGFzc3dvcmQ=' } });
      assert.equal(response.status, 400);
      assert.deepEqual(await response.json(), { error: 'invalid_request', error_description: 'The Authorization header must be "Bearer <API key or access token>".' });
    });

    it('rejects a malformed key before any lookup', async () => {
      await assertRejected('gth_tooshort');
      await assertRejected('sk-' + 'a'.repeat(40));
      assert.ok(gatehouse.logs.some((line) => line.includes('api key rejected: malformed')));
    });

    it('rejects a key with a bad checksum', async () => {
      const key = generateAPIKey();
      const last = key.at(-1) === 'A' ? 'B' : 'A';
      await assertRejected(key.slice(0, -1) + last);
      assert.ok(gatehouse.logs.some((line) => line.includes('api key rejected: bad_checksum')));
    });

    it('rejects a well-formed key that was never issued', async () => {
      await assertRejected(generateAPIKey());
      assert.ok(gatehouse.logs.some((line) => line.includes('api key rejected: unknown')));
    });

    it('rejects a deactivated key', async () => {
      const { key, userId } = await engineerWithKey('deactivated@example.com');
      assert.equal((await whoami(gatehouse, key)).status, 200);
      await gatehouse.app.context.store.db.updateTable('api_keys').set({ deactivated_at: new Date().toISOString() }).where('user_id', '=', userId).execute();
      await assertRejected(key);
    });

    it('rejects the key of a removed member at once', async () => {
      const { key, userId } = await engineerWithKey('leaver@example.com');
      assert.equal((await whoami(gatehouse, key)).status, 200);

      const session = owner.cookie(new URL(gatehouse.url).host, 'gatehouse_session');
      const removed = await fetch(`${gatehouse.url}/v1/organizations/${organizationId}/members/${userId}`, {
        method: 'DELETE',
        headers: { cookie: `gatehouse_session=${session}`, origin: gatehouse.url },
      });
      assert.equal(removed.status, 204);

      await assertRejected(key);
      assert.ok(gatehouse.logs.some((line) => line.includes('api key rejected: not_member')));
    });

    it('shows a removed member that they belong to no organization', async () => {
      const { context } = gatehouse.app;
      const { userId } = await engineerWithKey('former@example.com');
      const { createOneTimeLink } = await import('../../src/setup/one-time-links.js');
      const link = await createOneTimeLink(context, { purpose: 'sign_in', userId });
      const browser = new BrowserClient();
      const page = await browser.follow(link.url);
      const form = readForm(page.body, '/signin/link');
      assert.equal((await browser.request(`${gatehouse.url}/signin/link`, { form: form.fields })).status, 303);
      const { removeMember } = await import('../../src/model/remove-member.js');
      await removeMember(context, organizationId, userId);

      const home = await browser.follow(`${gatehouse.url}/`);
      assert.equal(home.response.status, 200);
      assert.equal(home.url, `${gatehouse.url}/`);
      assert.match(home.body, /you are not a member of any organization/);
      const settings = await browser.request(`${gatehouse.url}/orgs/${organizationId}/settings`);
      assert.equal(settings.status, 404);
    });

    it('rejects a second active key with the same name', async () => {
      const path = `/orgs/${organizationId}/settings/api-keys`;
      const page = await owner.follow(`${gatehouse.url}${path}`);
      const form = readForm(page.body, path);
      assert.equal((await owner.request(`${gatehouse.url}${path}`, { form: { ...form.fields, name: 'deploy' } })).status, 303);
      await owner.request(`${gatehouse.url}${path}`);
      const before = await tableCounts(gatehouse);
      const again = await owner.request(`${gatehouse.url}${path}`, { form: { ...form.fields, name: 'deploy' } });
      assert.equal(again.status, 409);
      assert.match(await again.text(), /<p class="error" id="field-name-error" role="alert">You already have an active key named &quot;deploy&quot;/);
      assert.deepEqual(await tableCounts(gatehouse), before);
    });

    it('shows a new key only to the session that created it', async () => {
      const path = `/orgs/${organizationId}/settings/api-keys`;
      const page = await owner.follow(`${gatehouse.url}${path}`);
      const form = readForm(page.body, path);
      const created = await owner.request(`${gatehouse.url}${path}`, { form: { ...form.fields, name: 'copied-cookie' } });
      assert.equal(created.status, 303);
      const sealed = owner.cookie(new URL(gatehouse.url).host, 'gatehouse_new_key');
      assert.ok(sealed, 'the sealed key travels in a cookie');
      assert.doesNotMatch(sealed, /gth_/, 'the cookie does not hold the key in clear');

      const other = new BrowserClient();
      await setupLinkSession(other);
      other.setCookie(new URL(gatehouse.url).host, 'gatehouse_new_key', sealed);
      const stolen = await other.request(`${gatehouse.url}${path}`);
      assert.equal(stolen.status, 200);
      assert.doesNotMatch(await stolen.text(), /id="new-api-key"/);

      const shown = await owner.request(`${gatehouse.url}${path}`);
      assert.match(await shown.text(), /id="new-api-key">gth_/);
    });

    it('refuses to remove the last owner', async () => {
      const before = await tableCounts(gatehouse);
      const session = owner.cookie(new URL(gatehouse.url).host, 'gatehouse_session');
      const me = await fetch(`${gatehouse.url}/v1/whoami`, { headers: { cookie: `gatehouse_session=${session}` } });
      const ownerId = ((await me.json()) as { user: { id: string } }).user.id;
      const response = await fetch(`${gatehouse.url}/v1/organizations/${organizationId}/members/${ownerId}`, {
        method: 'DELETE',
        headers: { cookie: `gatehouse_session=${session}`, origin: gatehouse.url },
      });
      assert.equal(response.status, 409);
      assert.deepEqual(await response.json(), { error: 'conflict', error_description: 'The last owner cannot be removed. Make someone else an owner first.' });
      assert.deepEqual(await tableCounts(gatehouse), before);
    });

    it('rejects a cookie-authenticated API change from another origin', async () => {
      const before = await tableCounts(gatehouse);
      const session = owner.cookie(new URL(gatehouse.url).host, 'gatehouse_session');
      const response = await fetch(`${gatehouse.url}/v1/organizations/${organizationId}/api-keys`, {
        method: 'POST',
        headers: { cookie: `gatehouse_session=${session}`, origin: 'https://evil.test', 'content-type': 'application/json' },
        body: JSON.stringify({ name: 'stolen' }),
      });
      assert.equal(response.status, 403);
      assert.equal(((await response.json()) as { error: string }).error, 'forbidden');
      assert.deepEqual(await tableCounts(gatehouse), before);
    });

    it('treats a tampered session cookie as signed out', async () => {
      const session = owner.cookie(new URL(gatehouse.url).host, 'gatehouse_session')!;
      const tampered = (session[0] === 'A' ? 'B' : 'A') + session.slice(1);
      const browser = new BrowserClient();
      browser.setCookie(new URL(gatehouse.url).host, 'gatehouse_session', tampered);

      const page = await browser.request(`${gatehouse.url}/orgs/${organizationId}/settings`);
      assert.equal(page.status, 303);
      assert.equal(page.headers.get('location'), '/signin');

      const api = await browser.request(`${gatehouse.url}/v1/whoami`);
      assert.equal(api.status, 401);
      assert.deepEqual(await api.json(), INVALID_TOKEN);
    });

    it('ends a session after the idle timeout and after the absolute lifetime', async () => {
      const idle = new BrowserClient();
      await setupLinkSession(idle);
      const host = new URL(gatehouse.url).host;
      const idleCookie = idle.cookie(host, 'gatehouse_session')!;
      assert.equal((await idle.request(`${gatehouse.url}/v1/whoami`)).status, 200);

      gatehouse.clock.advance(3601);
      const expired = await idle.request(`${gatehouse.url}/v1/whoami`);
      assert.equal(expired.status, 401);
      assert.ok(gatehouse.logs.some((line) => line.includes('session rejected: idle_timeout')));
      const row = await gatehouse.app.context.store.db.selectFrom('sessions').select('id').where('token_hash', '=', sha256(idleCookie)).executeTakeFirst();
      assert.equal(row, undefined, 'the idle session row is deleted');

      const active = new BrowserClient();
      await setupLinkSession(active);
      // Requests every 50 minutes keep the session from idling out until the 24-hour lifetime ends.
      for (let step = 1; step <= 28; step += 1) {
        gatehouse.clock.advance(3000);
        assert.equal((await active.request(`${gatehouse.url}/v1/whoami`)).status, 200, `still active after ${step * 50} minutes`);
      }
      gatehouse.clock.advance(3000);
      const tooOld = await active.request(`${gatehouse.url}/v1/whoami`);
      assert.equal(tooOld.status, 401);
      assert.ok(gatehouse.logs.some((line) => line.includes('session rejected: expired')));
    });

    it('rejects a setup link once an organization exists', async () => {
      const before = await tableCounts(gatehouse);
      const link = await gatehouse.setupLink();
      const browser = new BrowserClient();
      const page = await browser.request(link);
      assert.equal(page.status, 410);
      assert.match(await page.text(), /This link has already been used/);

      // Posting the form directly, with a valid CSRF token from another page, fails the same way.
      const signInPage = await browser.follow(`${gatehouse.url}/signin`);
      const { csrf_token } = readForm(signInPage.body, '/signin').fields;
      const answer = await browser.request(`${gatehouse.url}/setup`, {
        form: { csrf_token: csrf_token!, token: new URL(link).searchParams.get('token')!, organization_name: 'Second', owner_name: '', owner_email: 'mallory@example.com' },
      });
      assert.equal(answer.status, 410);
      assert.deepEqual(await tableCounts(gatehouse), before);
    });

    async function setupLinkSession(browser: BrowserClient): Promise<void> {
      const { createOneTimeLink } = await import('../../src/setup/one-time-links.js');
      const { context } = gatehouse.app;
      const user = await context.store.db.selectFrom('users').select('id').where('email', '=', 'alice@example.com').executeTakeFirstOrThrow();
      const link = await createOneTimeLink(context, { purpose: 'sign_in', userId: user.id });
      const page = await browser.follow(link.url);
      const form = readForm(page.body, '/signin/link');
      const answer = await browser.request(`${gatehouse.url}/signin/link`, { form: form.fields });
      assert.equal(answer.status, 303);
    }
  });

  suite(`setup links (${database.name})`, database.skip, () => {
    it('rejects an expired setup link and creates nothing', async () => {
      const gatehouse = await startGatehouse(database);
      try {
        const link = await gatehouse.setupLink();
        const browser = new BrowserClient();
        const page = await browser.follow(link);
        const form = readForm(page.body, '/setup');
        gatehouse.clock.advance(3601);

        const answer = await browser.request(`${gatehouse.url}/setup`, {
          form: { ...form.fields, organization_name: 'Late', owner_name: '', owner_email: 'late@example.com' },
        });
        assert.equal(answer.status, 410);
        assert.match(await answer.text(), /This link has expired/);
        assert.equal((await tableCounts(gatehouse)).organizations, 0);
      } finally {
        await gatehouse.close();
      }
    });

    it('rejects a setup link used a second time', async () => {
      const gatehouse = await startGatehouse(database);
      try {
        const link = await gatehouse.setupLink();
        const browser = new BrowserClient();
        const page = await browser.follow(link);
        const form = readForm(page.body, '/setup');
        const fields = { ...form.fields, organization_name: 'Acme', owner_name: '', owner_email: 'alice@example.com' };
        assert.equal((await browser.request(`${gatehouse.url}/setup`, { form: fields })).status, 303);
        const before = await tableCounts(gatehouse);

        const second = await browser.request(`${gatehouse.url}/setup`, { form: { ...fields, organization_name: 'Again' } });
        assert.equal(second.status, 410);
        assert.match(await second.text(), /already been used/);
        assert.deepEqual(await tableCounts(gatehouse), before);
      } finally {
        await gatehouse.close();
      }
    });

    it('creates one organization when a setup link is submitted twice at once', async () => {
      const gatehouse = await startGatehouse(database);
      try {
        const link = await gatehouse.setupLink();
        const browser = new BrowserClient();
        const page = await browser.follow(link);
        const form = readForm(page.body, '/setup');
        const submit = (name: string) =>
          browser.request(`${gatehouse.url}/setup`, { form: { ...form.fields, organization_name: name, owner_name: '', owner_email: `${name}@example.com` } });
        const answers = await Promise.all([submit('first'), submit('second')]);
        assert.deepEqual(answers.map((answer) => answer.status).sort(), [303, 410]);
        const counts = await tableCounts(gatehouse);
        assert.equal(counts.organizations, 1);
        assert.equal(counts.users, 1);
        assert.equal(counts.memberships, 1);
      } finally {
        await gatehouse.close();
      }
    });

    it('keeps the link usable when the form has an invalid email', async () => {
      const gatehouse = await startGatehouse(database);
      try {
        const link = await gatehouse.setupLink();
        const browser = new BrowserClient();
        const page = await browser.follow(link);
        const form = readForm(page.body, '/setup');
        const bad = await browser.request(`${gatehouse.url}/setup`, { form: { ...form.fields, organization_name: 'Acme', owner_name: '', owner_email: 'not-an-email' } });
        assert.equal(bad.status, 400);
        assert.match(await bad.text(), /<p class="error" id="field-owner_email-error" role="alert">Enter a valid email address/);
        assert.equal((await tableCounts(gatehouse)).organizations, 0);

        const good = await browser.request(`${gatehouse.url}/setup`, { form: { ...form.fields, organization_name: 'Acme', owner_name: '', owner_email: 'alice@example.com' } });
        assert.equal(good.status, 303);
      } finally {
        await gatehouse.close();
      }
    });
  });
}

function sha256(value: string): string {
  return createHash('sha256').update(value).digest('hex');
}

