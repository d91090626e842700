import assert from 'node:assert/strict';
import { after, before, it } from 'node:test';

import { claimDomain, isDomainVerified, recheckVerifiedDomains, verificationRecord, verifyDomain } from '../../src/domains/verified-domains.js';
import { Conflict, InvalidRequest } from '../../src/http/errors.js';
import { createOrganization } from '../../src/model/organizations.js';
import { BrowserClient, readForm } from '../support/browser-client.js';
import { databaseCases } from '../support/databases.js';
import { setupOrganization } from '../support/flows.js';
import { startDNSServer, type TestDNSServer } from '../support/dns-server.js';
import { startGatehouse, type TestGatehouse } from '../support/gatehouse.js';
import { suite } from '../support/skip.js';

for (const database of databaseCases) {
  suite(`domain verification by DNS (${database.name})`, database.skip, () => {
    let gatehouse: TestGatehouse;
    let dns: TestDNSServer;
    let acme: string;
    let other: string;

    before(async () => {
      dns = await startDNSServer();
      gatehouse = await startGatehouse(database, { dnsServers: [dns.address], domainRecheckSeconds: 3600 });
      const db = gatehouse.app.context.store.db;
      acme = (await createOrganization(db, { name: 'Acme', plan: 'enterprise', now: new Date() })).organization.id;
      other = (await createOrganization(db, { name: 'Other', plan: 'enterprise', now: new Date() })).organization.id;
    });
    after(async () => {
      await gatehouse?.close();
      await dns?.stop();
    });

    it('verifies a domain whose TXT record carries the token', async () => {
      const { context } = gatehouse.app;
      const claimed = await claimDomain(context, acme, 'Acme.Example.');
      assert.equal(claimed.domain, 'acme.example');
      assert.equal(claimed.status, 'pending');
      const record = verificationRecord(claimed);
      assert.equal(record.name, '_gatehouse-challenge.acme.example');
      assert.match(record.value, /^gatehouse-domain-verification=[A-Za-z0-9_-]{32}$/);

      dns.txt.set(record.name, ['v=spf1 -all', record.value]);
      const verified = await verifyDomain(context, acme, 'acme.example');
      assert.equal(verified.status, 'verified');
      assert.equal(verified.last_error, null);
      assert.equal(await isDomainVerified(context, acme, 'acme.example'), true);
    });

    it('wrong or missing record stays pending', async () => {
      const { context } = gatehouse.app;
      const claimed = await claimDomain(context, acme, 'wrong.example');
      const record = verificationRecord(claimed);
      dns.txt.set(record.name, ['gatehouse-domain-verification=not-the-token']);
      const wrong = await verifyDomain(context, acme, 'wrong.example');
      assert.equal(wrong.status, 'pending');
      assert.equal(wrong.last_error, 'The TXT record at _gatehouse-challenge.wrong.example does not have the expected value.');

      await claimDomain(context, acme, 'missing.example');
      const missing = await verifyDomain(context, acme, 'missing.example');
      assert.equal(missing.status, 'pending');
      assert.equal(missing.last_error, 'No TXT record found at _gatehouse-challenge.missing.example.');
      assert.equal(await isDomainVerified(context, acme, 'missing.example'), false);
    });

    it('stops granting a verified domain whose record disappears', async () => {
      const { context } = gatehouse.app;
      const claimed = await claimDomain(context, acme, 'fleeting.example');
      const record = verificationRecord(claimed);
      dns.txt.set(record.name, [record.value]);
      assert.equal((await verifyDomain(context, acme, 'fleeting.example')).status, 'verified');

      dns.txt.delete(record.name);
      assert.equal(await recheckVerifiedDomains(context), 0, 'not due before the interval');
      gatehouse.clock.advance(3601);
      assert.equal(await recheckVerifiedDomains(context), 1);
      assert.equal(await isDomainVerified(context, acme, 'fleeting.example'), false);
      assert.equal(await isDomainVerified(context, acme, 'acme.example'), true, 'a domain whose record stays is still verified');
    });

    it('restores a lost domain when its record returns', async () => {
      const { context } = gatehouse.app;
      const record = verificationRecord((await context.store.db.selectFrom('verified_domains').selectAll().where('domain', '=', 'fleeting.example').executeTakeFirstOrThrow()));
      dns.txt.set(record.name, [record.value]);
      gatehouse.clock.advance(3601);
      assert.equal(await recheckVerifiedDomains(context), 1);
      assert.equal(await isDomainVerified(context, acme, 'fleeting.example'), true);
    });

    it('keeps a verified domain through DNS outages shorter than 72 hours', async () => {
      const { context } = gatehouse.app;
      const servers = context.config.dnsServers;
      const down = await startDNSServer();
      await down.stop();
      context.config.dnsServers = [down.address];
      try {
        gatehouse.clock.advance(3601);
        await recheckVerifiedDomains(context);
        const during = await verifyDomain(context, acme, 'acme.example');
        assert.equal(during.status, 'verified');
        assert.match(during.last_error ?? '', /^The DNS lookup of _gatehouse-challenge\.acme\.example failed \(ECONNREFUSED\)\. Gatehouse will try again\.$/);
        assert.equal(await isDomainVerified(context, acme, 'acme.example'), true);

        gatehouse.clock.advance(72 * 3600);
        assert.equal((await verifyDomain(context, acme, 'acme.example')).status, 'failed', 'a lasting outage counts as a loss');
      } finally {
        context.config.dnsServers = servers;
      }
      assert.equal((await verifyDomain(context, acme, 'acme.example')).status, 'verified');
    });

    it('refuses consumer mail domains and a domain another organization claimed', async () => {
      const { context } = gatehouse.app;
      await assert.rejects(claimDomain(context, other, 'GMAIL.com'), (error: unknown) => error instanceof InvalidRequest && /gmail\.com is a public mail provider/.test(error.description));
      await assert.rejects(claimDomain(context, other, 'acme.example'), (error: unknown) => error instanceof Conflict && error.description === 'acme.example is already claimed by another organization.');
      await assert.rejects(claimDomain(context, acme, 'acme.example'), (error: unknown) => error instanceof Conflict && error.description === 'acme.example is already claimed by this organization.');
      await assert.rejects(claimDomain(context, acme, 'not a domain'), InvalidRequest);
      const rows = await context.store.db.selectFrom('verified_domains').select('domain').where('organization_id', '=', other).execute();
      assert.deepEqual(rows, [], 'nothing was claimed for the other organization');
    });
  });
}

for (const database of databaseCases) {
  suite(`domains settings page (${database.name})`, database.skip, () => {
    let gatehouse: TestGatehouse;
    let dns: TestDNSServer;

    before(async () => {
      dns = await startDNSServer();
      gatehouse = await startGatehouse(database, { dnsServers: [dns.address] });
    });
    after(async () => {
      await gatehouse?.close();
      await dns?.stop();
    });

    it('claims a domain, shows the record and verifies it', async () => {
      const owner = new BrowserClient();
      const organizationId = await setupOrganization(owner, gatehouse);
      const path = `/orgs/${organizationId}/settings/domains`;
      const page = await owner.follow(`${gatehouse.url}${path}`);
      const form = readForm(page.body, path);

      const consumer = await owner.request(`${gatehouse.url}${path}`, { form: { ...form.fields, domain: 'outlook.com' } });
      assert.equal(consumer.status, 400);
      assert.match(await consumer.text(), /<p class="error" id="field-domain-error" role="alert">outlook\.com is a public mail provider/);

      const claimed = await owner.request(`${gatehouse.url}${path}`, { form: { ...form.fields, domain: 'example.com' } });
      assert.equal(claimed.status, 201);
      const body = await claimed.text();
      assert.match(body, /Waiting for the DNS record/);
      const value = /Value <code>(gatehouse-domain-verification=[^<]+)<\/code>/.exec(body)![1]!;
      dns.txt.set('_gatehouse-challenge.example.com', [value]);

      const check = readForm(body, '/verify');
      const verified = await owner.request(`${gatehouse.url}${check.action}`, { form: check.fields });
      assert.equal(verified.status, 200);
      const verifiedBody = await verified.text();
      assert.match(verifiedBody, /example\.com is verified\./);
      assert.match(verifiedBody, /<td>Verified<\/td>/);
    });
  });
}
