import assert from 'node:assert/strict';
import { after, before, it } from 'node:test';

import { setPlan } from '../../src/model/organizations.js';
import { BrowserClient, readForm } from '../support/browser-client.js';
import { databaseCases } from '../support/databases.js';
import { startDNSServer, type TestDNSServer } from '../support/dns-server.js';
import { mapDomainInUI, setupOrganization, startSignIn, tableCounts, verifyDomainInUI } from '../support/flows.js';
import { startGatehouse, type TestGatehouse } from '../support/gatehouse.js';
import { suite } from '../support/skip.js';
import { codeIn, startSMTP, type RunningSMTP } from '../support/smtp.js';

for (const database of databaseCases) {
  suite(`email sign-in codes (${database.name})`, database.skip, () => {
    let smtp: RunningSMTP;
    let dns: TestDNSServer;
    let gatehouse: TestGatehouse;
    let owner: BrowserClient;
    let organizationId: string;

    before(async () => {
      smtp = await startSMTP();
      dns = await startDNSServer();
      gatehouse = await startGatehouse(database, { dnsServers: [dns.address], mail: { smtpUrl: smtp.url, from: 'gatehouse@localhost.test' } });
      owner = new BrowserClient();
      organizationId = await setupOrganization(owner, gatehouse);
    });
    after(async () => {
      await gatehouse?.close();
      await dns?.stop();
      await smtp?.stop();
    });

    /** Asks for a code for `email` and returns the browser, the mail and the code page. */
    const requestCode = async (email: string) => {
      const browser = new BrowserClient();
      const sent = smtp.mails.length;
      const page = await startSignIn(browser, gatehouse, email);
      assert.equal(page.url, `${gatehouse.url}/signin/code`, page.body);
      const mail = await smtp.waitForMail(email, sent);
      return { browser, page, mail, code: codeIn(mail) };
    };
    const enterCode = async (browser: BrowserClient, page: { body: string }, code: string) => {
      const form = readForm(page.body, '/signin/code');
      return browser.follow(`${gatehouse.url}/signin/code`, { form: { ...form.fields, code } });
    };

    it('member signs in with mailed code', async () => {
      const { browser, page, mail, code } = await requestCode('alice@example.com');
      assert.equal(mail.from, 'gatehouse@localhost.test');
      assert.equal(mail.subject, `Your Gatehouse sign-in code: ${code}`);

      const signedIn = await enterCode(browser, page, code);
      assert.equal(signedIn.response.status, 200);
      assert.equal(signedIn.url, `${gatehouse.url}/orgs/${organizationId}/settings`);
      const sessions = await gatehouse.app.context.store.db.selectFrom('sessions').select(['method', 'connection_id']).where('method', '=', 'email_code').execute();
      assert.deepEqual(sessions, [{ method: 'email_code', connection_id: null }]);
      assert.ok(!gatehouse.logs.some((line) => line.includes(code)), 'the code never reaches the log');
    });

    it('used code rejected', async () => {
      const { browser, page, code } = await requestCode('alice@example.com');
      const host = new URL(gatehouse.url).host;
      const cookie = browser.cookie(host, 'gatehouse_email_code')!;
      assert.ok(cookie);
      assert.equal((await enterCode(browser, page, code)).response.status, 200);
      const before = await tableCounts(gatehouse);

      const replay = new BrowserClient();
      replay.setCookie(host, 'gatehouse_email_code', cookie);
      const signInPage = await replay.follow(`${gatehouse.url}/signin`);
      const answer = await enterCode(replay, { body: signInPage.body.replace('action="/signin"', 'action="/signin/code"') }, code);
      assert.equal(answer.response.status, 400);
      assert.match(answer.body, /This code was already used\. Enter your email to get a new one\./);
      assert.deepEqual(await tableCounts(gatehouse), before);
    });

    it('expired code rejected', async () => {
      const { browser, page, code } = await requestCode('alice@example.com');
      const before = await tableCounts(gatehouse);
      gatehouse.clock.advance(601);
      const answer = await enterCode(browser, page, code);
      assert.equal(answer.response.status, 400);
      assert.match(answer.body, /This code has expired\. Enter your email to get a new one\./);
      assert.deepEqual(await tableCounts(gatehouse), before);
    });

    it('five wrong entries end the code', async () => {
      const { browser, page, code } = await requestCode('alice@example.com');
      const host = new URL(gatehouse.url).host;
      const cookie = browser.cookie(host, 'gatehouse_email_code')!;
      const before = await tableCounts(gatehouse);
      const wrong = code === '000000' ? '111111' : '000000';
      for (let left = 4; left >= 1; left -= 1) {
        const answer = await enterCode(browser, page, wrong);
        assert.equal(answer.response.status, 400);
        assert.match(answer.body, new RegExp(`That code is not right\\. ${left} ${left === 1 ? 'try' : 'tries'} left\\.`));
      }
      const fifth = await enterCode(browser, page, wrong);
      assert.equal(fifth.response.status, 429);
      assert.match(fifth.body, /Too many wrong codes\. Enter your email to get a new one\./);

      browser.setCookie(host, 'gatehouse_email_code', cookie);
      const sixth = await enterCode(browser, page, code);
      assert.equal(sixth.response.status, 429);
      assert.match(sixth.body, /Too many wrong codes\. Enter your email to get a new one\./);
      const right = await gatehouse.app.context.store.db.selectFrom('email_codes').select('attempts').orderBy('created_at', 'desc').executeTakeFirstOrThrow();
      assert.equal(Number(right.attempts), 5);
      assert.deepEqual(await tableCounts(gatehouse), before);
    });

    it('malformed code not counted', async () => {
      const { browser, page } = await requestCode('alice@example.com');
      const answer = await enterCode(browser, page, '12ab');
      assert.equal(answer.response.status, 400);
      assert.match(answer.body, /<p class="error" id="field-code-error" role="alert">Enter the 6-digit code from the email\.<\/p>/);
      const row = await gatehouse.app.context.store.db.selectFrom('email_codes').select('attempts').orderBy('created_at', 'desc').executeTakeFirstOrThrow();
      assert.equal(Number(row.attempts), 0);
    });

    it('domain mapping admits new colleague', async () => {
      await setPlan(gatehouse.app.context.store.db, organizationId, 'enterprise');
      await verifyDomainInUI(owner, gatehouse, dns, organizationId, 'example.com');
      await mapDomainInUI(owner, gatehouse, organizationId, 'example.com', 'viewers');

      const { browser, page, code } = await requestCode('dana@example.com');
      const signedIn = await enterCode(browser, page, code);
      assert.equal(signedIn.response.status, 200);

      const db = gatehouse.app.context.store.db;
      const dana = await db.selectFrom('users').select('id').where('email', '=', 'dana@example.com').executeTakeFirstOrThrow();
      const join = await db
        .selectFrom('membership_joins')
        .innerJoin('permission_groups', 'permission_groups.id', 'membership_joins.group_id')
        .select(['permission_groups.role as role', 'membership_joins.mapping_domain as mappingDomain', 'membership_joins.method as method', 'membership_joins.connection_id as connectionId'])
        .where('membership_joins.user_id', '=', dana.id)
        .execute();
      assert.deepEqual(join, [{ role: 'viewers', mappingDomain: 'example.com', method: 'email_code', connectionId: null }]);
    });

    it('five codes per hour per address', async () => {
      gatehouse.clock.advance(3601);
      for (let sent = 0; sent < 5; sent += 1) await startSignIn(new BrowserClient(), gatehouse, 'limit@example.com');
      const sixth = await startSignIn(new BrowserClient(), gatehouse, 'limit@example.com');
      assert.equal(sixth.response.status, 429);
      assert.match(sixth.body, /Too many codes were requested for this address\. Wait an hour, or use the last code you received\./);
    });
  });
}

suite('email sign-in codes without SMTP in production', databaseCases[0]!.skip, () => {
  it('no codes without SMTP in production', async () => {
    const gatehouse = await startGatehouse(databaseCases[0]!, { env: 'production' });
    try {
      const owner = new BrowserClient();
      await setupOrganization(owner, gatehouse);
      const before = await tableCounts(gatehouse);
      const answer = await startSignIn(new BrowserClient(), gatehouse, 'alice@example.com');
      assert.equal(answer.response.status, 400);
      assert.match(answer.body, /No sign-in method is set up for example\.com\. Check the address or ask your administrator\./);
      assert.deepEqual(await tableCounts(gatehouse), before);
      const codes = await gatehouse.app.context.store.db.selectFrom('email_codes').selectAll().execute();
      assert.deepEqual(codes, []);
    } finally {
      await gatehouse.close();
    }
  });
});
