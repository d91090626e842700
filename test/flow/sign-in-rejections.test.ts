import assert from 'node:assert/strict';
import { after, before, it } from 'node:test';

import { BrowserClient, readForm } from '../support/browser-client.js';
import { databaseCases } from '../support/databases.js';
import { addConnection, callbackURLFor, linkAccount, setupOrganization, startSignIn, tableCounts } from '../support/flows.js';
import { startGatehouse, type TestGatehouse } from '../support/gatehouse.js';
import { startDevIdP, type RunningIdP } from '../support/idp.js';
import { suite } from '../support/skip.js';

for (const database of databaseCases) {
  suite(`sign-in rejections (${database.name})`, database.skip, () => {
    let gatehouse: TestGatehouse;
    let idp: RunningIdP;
    let organizationId: string;

    before(async () => {
      gatehouse = await startGatehouse(database);
      idp = await startDevIdP([`${gatehouse.url}/signin/callback`]);
      const owner = new BrowserClient();
      organizationId = await setupOrganization(owner, gatehouse);
      const added = await addConnection(owner, gatehouse, organizationId, {
        issuer: idp.issuer,
        clientId: idp.clientId,
        clientSecret: idp.clientSecret,
        domains: 'example.com',
      });
      assert.equal(added.status, 201, added.body);
      await linkAccount(owner, gatehouse, idp, organizationId, 'alice@example.com');
    });
    after(async () => {
      await idp?.stop();
      await gatehouse?.close();
    });

    const callback = (browser: BrowserClient, url: string) => browser.follow(url);

    it('rejects a callback without state', async () => {
      const before = await tableCounts(gatehouse);
      const browser = new BrowserClient();
      const answer = await callback(browser, `${gatehouse.url}/signin/callback?code=abc`);
      assert.equal(answer.response.status, 400);
      assert.match(answer.body, /The sign-in response has no state\. Start signing in again\./);
      assert.deepEqual(await tableCounts(gatehouse), before);
    });

    it('rejects a callback with an unknown state', async () => {
      const browser = new BrowserClient();
      const url = await callbackURLFor(browser, gatehouse, idp, 'alice@example.com');
      const before = await tableCounts(gatehouse);
      const altered = new URL(url);
      altered.searchParams.set('state', 'not-the-state-we-sent');
      const answer = await callback(browser, altered.href);
      assert.equal(answer.response.status, 400);
      assert.match(answer.body, /This sign-in response is unknown or was already used\./);
      assert.deepEqual(await tableCounts(gatehouse), before);
    });

    it('rejects a replayed callback', async () => {
      const browser = new BrowserClient();
      const url = await callbackURLFor(browser, gatehouse, idp, 'alice@example.com');
      const first = await browser.request(url);
      assert.equal(first.status, 303);
      assert.equal(first.headers.get('location'), '/');

      const before = await tableCounts(gatehouse);
      const replayed = await callback(browser, url);
      assert.equal(replayed.response.status, 400);
      assert.match(replayed.body, /unknown or was already used/);
      assert.deepEqual(await tableCounts(gatehouse), before);
    });

    it('accepts only one of two simultaneous callbacks', async () => {
      const browser = new BrowserClient();
      const url = await callbackURLFor(browser, gatehouse, idp, 'alice@example.com');
      const sessionsBefore = (await tableCounts(gatehouse)).sessions;
      const answers = await Promise.all([browser.request(url), browser.request(url)]);
      const statuses = answers.map((answer) => answer.status).sort();
      assert.deepEqual(statuses, [303, 400]);
      assert.equal((await tableCounts(gatehouse)).sessions, sessionsBefore + 1);
    });

    it('rejects a callback carried to another browser', async () => {
      const victim = new BrowserClient();
      const url = await callbackURLFor(victim, gatehouse, idp, 'alice@example.com');
      const before = await tableCounts(gatehouse);
      const other = new BrowserClient();
      const answer = await callback(other, url);
      assert.equal(answer.response.status, 400);
      assert.match(answer.body, /This sign-in was started in another browser/);
      assert.equal(other.cookie(new URL(gatehouse.url).host, 'gatehouse_session'), undefined);
      assert.deepEqual(await tableCounts(gatehouse), before);
    });

    it('rejects an ID token whose nonce does not match', async () => {
      const browser = new BrowserClient();
      const url = await callbackURLFor(browser, gatehouse, idp, 'alice@example.com');
      await gatehouse.app.context.store.db.updateTable('sign_in_attempts').set({ nonce: 'a-different-nonce' }).execute();
      const before = await tableCounts(gatehouse);
      const answer = await callback(browser, url);
      assert.equal(answer.response.status, 400);
      assert.match(answer.body, /response could not be verified/);
      assert.deepEqual(await tableCounts(gatehouse), before);
      assert.ok(gatehouse.logs.some((line) => line.includes('"code":"invalid_grant"') && line.includes('claim nonce')), 'the log names the nonce');
    });

    it('shows an error returned by the provider', async () => {
      const before = await tableCounts(gatehouse);
      const browser = new BrowserClient();
      const loginPage = await startSignIn(browser, gatehouse, 'bob@example.com');
      const cancel = readForm(loginPage.body, '/abort');
      const answer = await browser.follow(new URL(cancel.action, loginPage.url).href, { form: cancel.fields });
      assert.equal(answer.url.split('?')[0], `${gatehouse.url}/signin/callback`);
      assert.equal(answer.response.status, 400);
      assert.match(answer.body, /Your identity provider returned an error \(access_denied\)/);
      assert.deepEqual(await tableCounts(gatehouse), before);
    });

    it('unknown address gets code page, no mail', async () => {
      const before = await tableCounts(gatehouse);
      const attemptsBefore = await gatehouse.app.context.store.db.selectFrom('sign_in_attempts').selectAll().execute();
      const browser = new BrowserClient();
      const answer = await startSignIn(browser, gatehouse, 'carol@other.test');
      assert.equal(answer.response.status, 200);
      assert.equal(answer.url, `${gatehouse.url}/signin/code`);
      assert.match(answer.body, /If carol@other\.test can sign in here, we sent it a 6-digit code\./);
      assert.deepEqual(await gatehouse.app.context.store.db.selectFrom('sign_in_attempts').selectAll().execute(), attemptsBefore);
      assert.deepEqual(await tableCounts(gatehouse), before);
      assert.ok(gatehouse.logs.some((line) => line.includes('"event":"email_code.not_sent"')));
      assert.ok(!gatehouse.logs.some((line) => line.includes('"event":"mail.development_log"') && line.includes('carol@other.test')));
    });

    it('rejects a sign-in form without a CSRF token', async () => {
      const before = await tableCounts(gatehouse);
      const browser = new BrowserClient();
      const answer = await browser.request(`${gatehouse.url}/signin`, { form: { email: 'alice@example.com' } });
      assert.equal(answer.status, 403);
      assert.match(await answer.text(), /This form has expired or was not sent by Gatehouse/);
      assert.deepEqual(await tableCounts(gatehouse), before);
    });

    it('rejects a form posted from another origin', async () => {
      const browser = new BrowserClient();
      const page = await browser.follow(`${gatehouse.url}/signin`);
      const form = readForm(page.body, '/signin');
      const answer = await browser.request(`${gatehouse.url}/signin`, { form: { ...form.fields, email: 'alice@example.com' }, headers: { origin: 'https://evil.test' } });
      assert.equal(answer.status, 403);
      assert.match(await answer.text(), /submitted from another site/);
    });
  });
}
