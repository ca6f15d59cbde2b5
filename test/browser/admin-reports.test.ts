// The admin UI's Reports page in a real browser (Debian's chromium driven by playwright-core) against a whole
// server on loopback: TLS-RPT (gzip JSON) and DMARC (zip XML) reports mailed to the configured report addresses
// over SMTP are shown to a server admin; a domain admin sees only the rows about their domain; the DNS page
// names the configured report addresses in _smtp._tls and _dmarc; axe finds no serious accessibility violation.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { gzipSync } from 'node:zlib';
import { strToU8, zipSync } from 'fflate';
import nodemailer from 'nodemailer';
import { AxeBuilder } from '@axe-core/playwright';
import type { Browser, Page } from 'playwright-core';
import { startTestServer, type TestServer } from '../harness/server.ts';
import { PASS, buildUi, launchChromium, logInAdmin, skipWithoutChromium } from './webmail-harness.ts';

const ROOT = 'root@a.test';
const DADMIN = 'dadmin@b.test';
const TLSRPT = 'tls-reports@a.test';
const DMARC = 'dmarc@a.test';
const SHOTS = process.env.POSTAMT_SCREENSHOTS === '1';

function tlsReport(org: string, domain: string, ok: number, failed: number) {
  return {
    'organization-name': org, 'date-range': { 'start-datetime': '2026-11-30T00:00:00Z', 'end-datetime': '2026-11-30T23:59:59Z' },
    'contact-info': `tlsrpt@${org}`, 'report-id': `${org}-${domain}`,
    policies: [{
      policy: { 'policy-type': 'sts', 'policy-domain': domain, 'mx-host': ['mx.postamt.test'] },
      summary: { 'total-successful-session-count': ok, 'total-failure-session-count': failed },
      'failure-details': failed ? [{ 'result-type': 'certificate-expired', 'receiving-mx-hostname': 'mx.postamt.test', 'receiving-ip': '192.0.2.1', 'failed-session-count': failed }] : [],
    }],
  };
}

function dmarcReport(org: string, domain: string, ip: string, count: number, pass: boolean): string {
  const r = pass ? 'pass' : 'fail';
  return `<?xml version="1.0" encoding="UTF-8"?><feedback><report_metadata><org_name>${org}</org_name><email>dmarc@${org}</email><report_id>${org}-${domain}</report_id><date_range><begin>1764460800</begin><end>1764547199</end></date_range></report_metadata>`
    + `<policy_published><domain>${domain}</domain><p>reject</p></policy_published><record><row><source_ip>${ip}</source_ip><count>${count}</count><policy_evaluated><disposition>${pass ? 'none' : 'reject'}</disposition><dkim>${r}</dkim><spf>${r}</spf></policy_evaluated></row>`
    + `<identifiers><header_from>${domain}</header_from></identifiers><auth_results><spf><domain>${domain}</domain><result>${r}</result></spf></auth_results></record></feedback>`;
}

describe('admin UI: received TLS-RPT and DMARC reports', { skip: skipWithoutChromium }, () => {
  let t: TestServer;
  let browser: Browser;
  let base: string;

  const logIn = async (p: Page, address: string): Promise<void> => {
    await logInAdmin(p, base, address);
    await p.getByRole('navigation').getByRole('link', { name: 'Reports' }).click();
    await p.getByRole('heading', { level: 2, name: 'Reports' }).waitFor();
  };

  before(async () => {
    buildUi();
    t = await startTestServer({ startQueue: false, config: { auth: { maxFailuresPerIp: 1000 }, reports: { tlsrptAddress: TLSRPT, dmarcAddress: DMARC } } as never });
    const store = t.server.services.store;
    await store.setServerAdmin(await t.addUser(ROOT, PASS), true);
    await store.addDomainAdmin(await t.addUser(DADMIN, PASS), 'b.test');
    await t.addUser(TLSRPT, PASS);
    await t.addUser(DMARC, PASS);
    // The reports arrive as other servers send them: over SMTP to the MX port, gzip JSON and zipped XML.
    const mx = nodemailer.createTransport({ host: '127.0.0.1', port: t.ports.smtp, secure: false, ignoreTLS: true, name: 'reporter.test' });
    for (const [org, domain, ok, failed] of [['google.com', 'a.test', 900, 0], ['microsoft.com', 'b.test', 40, 7]] as const) {
      await mx.sendMail({
        from: `tlsrpt@${org}`, to: TLSRPT, subject: `Report Domain: ${domain} Submitter: ${org}`, text: 'TLS report',
        attachments: [{ filename: `${org}!${domain}!1764460800!1764547199.json.gz`, content: gzipSync(JSON.stringify(tlsReport(org, domain, ok, failed))), contentType: 'application/tlsrpt+gzip' }],
      });
    }
    for (const [org, domain, ip, count, pass] of [['google.com', 'a.test', '192.0.2.10', 42, true], ['yahoo.com', 'b.test', '203.0.113.66', 3, false]] as const) {
      const name = `${org}!${domain}!1764460800!1764547199.xml`;
      await mx.sendMail({
        from: `dmarc@${org}`, to: DMARC, subject: `Report domain: ${domain} Submitter: ${org}`, text: 'DMARC report',
        attachments: [{ filename: `${name}.zip`, content: Buffer.from(zipSync({ [name]: strToU8(dmarcReport(org, domain, ip, count, pass)) })), contentType: 'application/zip' }],
      });
    }
    mx.close();
    await t.waitForMessages(TLSRPT, 2);
    await t.waitForMessages(DMARC, 2);
    base = `https://localhost:${t.ports.https}`;
    browser = await launchChromium();
  });
  after(async () => {
    await browser?.close();
    await t?.stop();
  });

  it('a server admin reads every DMARC and TLS report', async () => {
    const page = await (await browser.newContext({ ignoreHTTPSErrors: true, locale: 'en-US', viewport: { width: 1200, height: 900 } })).newPage();
    await logIn(page, ROOT);
    const dmarc = page.getByRole('table', { name: 'DMARC aggregate reports' });
    await dmarc.waitFor();
    const row = (table: typeof dmarc, text: string) => table.getByRole('row').filter({ hasText: text });
    assert.deepEqual(await row(dmarc, '192.0.2.10').getByRole('cell').allInnerTexts(), ['google.com', '2025-11-30', 'a.test', '192.0.2.10', '42', 'none', 'pass', 'pass', 'pass']);
    assert.deepEqual(await row(dmarc, '203.0.113.66').getByRole('cell').allInnerTexts(), ['yahoo.com', '2025-11-30', 'b.test', '203.0.113.66', '3', 'reject', 'fail', 'fail', 'fail']);
    const tls = page.getByRole('table', { name: 'TLS-RPT reports' });
    assert.deepEqual(await row(tls, 'microsoft.com').getByRole('cell').allInnerTexts(), ['microsoft.com', '2026-11-30', 'sts', 'b.test', '40', '7', 'certificate-expired ×7 (mx.postamt.test 192.0.2.1)']);
    assert.deepEqual(await row(tls, 'google.com').getByRole('cell').allInnerTexts(), ['google.com', '2026-11-30', 'sts', 'a.test', '900', '0', '—']);
    const axe = await new AxeBuilder({ page }).analyze();
    assert.deepEqual(axe.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical').map((v) => v.id), []);
    if (SHOTS) await page.screenshot({ path: 'docs/images/admin-reports.png', fullPage: true });

    // The DNS page names the configured report addresses.
    await page.getByRole('navigation').getByRole('link', { name: 'Domains' }).click();
    await page.getByRole('link', { name: 'b.test' }).click();
    await page.getByRole('cell', { name: '"v=TLSRPTv1; rua=mailto:tls-reports@a.test"' }).waitFor();
    await page.getByRole('cell', { name: '"v=DMARC1; p=quarantine; rua=mailto:dmarc@a.test"' }).waitFor();
    // a.test and b.test are two organizations: a.test must agree to receive b.test's DMARC reports (RFC 7489 §7.1).
    await page.getByRole('cell', { name: 'b.test._report._dmarc.a.test', exact: false }).first().waitFor();
  });

  it('a domain admin sees only the reports about their domain, and may not name another account', async () => {
    const context = await browser.newContext({ ignoreHTTPSErrors: true, locale: 'en-US' });
    const page = await context.newPage();
    await logIn(page, DADMIN);
    const dmarc = page.getByRole('table', { name: 'DMARC aggregate reports' });
    await dmarc.waitFor();
    assert.deepEqual(await dmarc.locator('tbody tr td:nth-child(3)').allInnerTexts(), ['b.test']);
    assert.deepEqual(await page.getByRole('table', { name: 'TLS-RPT reports' }).locator('tbody tr td:nth-child(4)').allInnerTexts(), ['b.test']);
    const other = await page.evaluate(async () => (await fetch('/admin/api/reports/dmarc?address=root%40a.test')).status);
    assert.equal(other, 403);
    await context.close();
  });
});
