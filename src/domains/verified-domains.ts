import type { AppContext } from '../app/context.js';
import { constantTimeEqual, randomToken } from '../crypto/tokens.js';
import { isUniqueViolation } from '../db/errors.js';
import type { VerifiedDomainTable } from '../db/schema.js';
import { Conflict, InvalidRequest, NotFound } from '../http/errors.js';
import { normalizeDomain } from '../model/email.js';
import { consumerMailDomains } from './consumer-domains.js';
import { lookupTXT } from './dns.js';

/** Returns the TXT record (name and exact value) that an owner publishes to prove a domain. */
export function verificationRecord(domain: Pick<VerifiedDomainTable, 'domain' | 'token'>): { name: string; value: string } {
  return { name: `_gatehouse-challenge.${domain.domain}`, value: `gatehouse-domain-verification=${domain.token}` };
}

/**
 * Claims an email domain for an organization. The claim grants nothing until verifyDomain finds the
 * TXT record. A domain belongs to one organization at most, and consumer mail domains are refused.
 */
export async function claimDomain(context: AppContext, organizationId: string, input: string): Promise<VerifiedDomainTable> {
  const domain = normalizeDomain(input);
  if (!domain) throw new InvalidRequest('Enter a domain name such as example.com.', { field: 'domain' });
  if (consumerMailDomains.has(domain)) {
    throw new InvalidRequest(`${domain} is a public mail provider; anyone can have an address there, so it cannot be claimed.`, { field: 'domain' });
  }

  const row: VerifiedDomainTable = {
    domain,
    organization_id: organizationId,
    token: randomToken(24),
    status: 'pending',
    created_at: context.clock().toISOString(),
    verified_at: null,
    last_checked_at: null,
    last_error: null,
  };
  try {
    await context.store.db.insertInto('verified_domains').values(row).execute();
  } catch (error) {
    if (!isUniqueViolation(error)) throw error;
    const existing = await context.store.db.selectFrom('verified_domains').select('organization_id').where('domain', '=', domain).executeTakeFirst();
    throw new Conflict(
      existing?.organization_id === organizationId ? `${domain} is already claimed by this organization.` : `${domain} is already claimed by another organization.`,
      { field: 'domain' },
    );
  }
  context.logger.info({ event: 'domain.claimed', organizationId, domain }, 'domain claimed');
  return row;
}

/** Lists an organization's claimed domains by name. */
export async function listDomains(context: AppContext, organizationId: string): Promise<VerifiedDomainTable[]> {
  return context.store.db.selectFrom('verified_domains').selectAll().where('organization_id', '=', organizationId).orderBy('domain').execute();
}

/**
 * Checks the domain's TXT record now. Found with the exact value: verified. A missing record or a
 * wrong value keeps a pending domain pending and turns a verified one into failed, so it stops
 * granting anything at once. A failed lookup changes nothing until it has lasted 72 hours.
 */
export async function verifyDomain(context: AppContext, organizationId: string, domain: string): Promise<VerifiedDomainTable> {
  const row = await context.store.db
    .selectFrom('verified_domains')
    .selectAll()
    .where('domain', '=', domain)
    .where('organization_id', '=', organizationId)
    .executeTakeFirst();
  if (!row) throw new NotFound('This domain is not claimed by this organization.');
  return checkRecord(context, row);
}

/**
 * Rechecks every verified or lost domain whose last check is older than the configured interval,
 * so a lost domain comes back once its record does. Returns how many changed status.
 */
export async function recheckVerifiedDomains(context: AppContext): Promise<number> {
  const cutoff = new Date(context.clock().getTime() - context.config.domainRecheckSeconds * 1000).toISOString();
  const due = await context.store.db
    .selectFrom('verified_domains')
    .selectAll()
    .where('status', 'in', ['verified', 'failed'])
    .where((eb) => eb.or([eb('last_checked_at', 'is', null), eb('last_checked_at', '<', cutoff)]))
    .execute();
  let changed = 0;
  for (const row of due) {
    const checked = await checkRecord(context, row);
    if (checked.status !== row.status) changed += 1;
  }
  return changed;
}

/** Returns whether `domain` is verified for the organization right now. */
export async function isDomainVerified(context: AppContext, organizationId: string, domain: string): Promise<boolean> {
  const row = await context.store.db
    .selectFrom('verified_domains')
    .select('status')
    .where('domain', '=', domain)
    .where('organization_id', '=', organizationId)
    .executeTakeFirst();
  return row?.status === 'verified';
}

/** Hours of DNS lookup errors after which a verified domain counts as lost, like a missing record. */
const LOOKUP_FAILURE_GRACE_HOURS = 72;

async function checkRecord(context: AppContext, row: VerifiedDomainTable): Promise<VerifiedDomainTable> {
  const record = verificationRecord(row);
  const lookup = await lookupTXT(context, record.name);
  const now = context.clock();
  const nowISO = now.toISOString();
  const found = lookup.ok && lookup.values.some((value) => constantTimeEqual(value.trim(), record.value));

  let update: Partial<VerifiedDomainTable>;
  if (found) {
    update = { status: 'verified', verified_at: row.status === 'pending' ? nowISO : (row.verified_at ?? nowISO), last_checked_at: nowISO, last_error: null };
  } else if (!lookup.ok && lookup.problem === 'failed') {
    // A lookup that failed (an unreachable or broken DNS server) is no evidence about the record,
    // so the status stays, and last_checked_at keeps the time of the last definite result. Only
    // failures that last LOOKUP_FAILURE_GRACE_HOURS count as a loss.
    const lastAnswer = row.last_checked_at ?? row.verified_at ?? row.created_at;
    const lasting = now.getTime() - new Date(lastAnswer).getTime() > LOOKUP_FAILURE_GRACE_HOURS * 3600_000;
    const status = row.status === 'verified' && lasting ? 'failed' : row.status;
    update = { status, last_error: `The DNS lookup of ${record.name} failed (${lookup.detail}). Gatehouse will try again.` };
    context.logger.warn({ event: 'domain.lookup_failed', organizationId: row.organization_id, domain: row.domain, detail: lookup.detail }, 'DNS lookup for domain verification failed');
  } else {
    const error = lookup.ok ? `The TXT record at ${record.name} does not have the expected value.` : `No TXT record found at ${record.name}.`;
    update = { status: row.status === 'pending' ? 'pending' : 'failed', last_checked_at: nowISO, last_error: error };
  }
  await context.store.db.updateTable('verified_domains').set(update).where('domain', '=', row.domain).execute();
  const updated = { ...row, ...update };
  if (updated.status !== row.status) {
    const level = updated.status === 'failed' ? 'warn' : 'info';
    context.logger[level]({ event: 'domain.status_changed', organizationId: row.organization_id, domain: row.domain, from: row.status, to: updated.status, reason: update.last_error }, 'domain verification changed');
  }
  return updated;
}
