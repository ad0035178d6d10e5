// Browser journeys (headless Chromium via playwright-core) with axe-core on
// every page of ours, and a check that no page of ours has a card field.
// Started by tests/e2e/run.sh, which provides the servers.
import { chromium } from 'playwright-core';
import { createRequire } from 'node:module';
import fs from 'node:fs';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';

const require = createRequire(import.meta.url);
const AXE = fs.readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8');
const BASE = process.env.E2E_BASE;
const SIM = process.env.E2E_SIM;
const KEY = process.env.E2E_API_KEY;
const OUT = process.env.E2E_OUT;
const SIZES = { desktop: { width: 1280, height: 900 }, phone: { width: 390, height: 844 } };

async function api(method, path, body) {
  const res = await fetch(BASE + path, {
    method,
    headers: { authorization: `Bearer ${KEY}`, 'content-type': 'application/json' },
    body: body ? JSON.stringify(body) : undefined,
  });
  const text = await res.text();
  assert.ok(res.ok, `${method} ${path}: ${res.status} ${text}`);
  return text ? JSON.parse(text) : null;
}

async function sleep(ms) { return new Promise((r) => setTimeout(r, ms)); }

/// Connects the demo association to the Stripe stand-in (Connect onboarding).
async function connectStripe() {
  await api('POST', '/api/v1/stripe/connect');
  const acct = await api('GET', '/api/v1/stripe/account');
  const res = await fetch(`${SIM}/_sim/accounts/${acct.stripe_account_id}/onboard`, { method: 'POST' });
  assert.ok(res.ok, `onboard: ${res.status}`);
  for (let i = 0; i < 100; i++) {
    if ((await api('GET', '/api/v1/stripe/account')).charges_enabled) return;
    await sleep(200);
  }
  throw new Error('the connected account never became chargeable');
}

const visited = [];
/// Pages wider than the phone viewport (scrollWidth > innerWidth at 390 px).
const overflows = [];
/// Every page of ours: axe (no serious/critical), no card inputs, screenshots.
async function check(page, name) {
  const url = page.url();
  if (!url.startsWith(BASE)) return;
  const cardFields = await page.$$eval('input, select, textarea', (els) => els
    .map((e) => `${e.name} ${e.id} ${e.getAttribute('autocomplete') || ''}`.toLowerCase())
    // Card number, security code or expiry: by name, id or autocomplete
    // token (cc-number, cc-csc, cc-exp…). A fee setting "per card payment"
    // is not card data, and `\bcc-` keeps ids holding a UUID (…cc-…) out.
    .filter((s) => /\bcc-|card[-_ ]?(number|num|no\b)|cardnumber|cvc|cvv|csc|expir/.test(s)));
  assert.deepEqual(cardFields, [], `${name}: card-shaped inputs on ${url}`);
  await page.evaluate(AXE);
  const result = await page.evaluate(() => window.axe.run(document, { resultTypes: ['violations'] }));
  const bad = result.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical');
  assert.deepEqual(
    bad.map((v) => `${v.id}: ${v.nodes.map((n) => n.target.join(' ')).join(', ')}`), [],
    `${name}: accessibility violations on ${url}`);
  for (const [size, vp] of Object.entries(SIZES)) {
    await page.setViewportSize(vp);
    if (size === 'phone') {
      // Mobile-first: nothing may push the page wider than the phone (a
      // wide table scrolls inside its own .table-wrap, long tokens wrap).
      const { scroll, inner, wide } = await page.evaluate(() => ({
        scroll: document.documentElement.scrollWidth,
        inner: window.innerWidth,
        // What sticks out, to say what to fix: positioned elements that
        // escape their scrolling container first, then the innermost ones
        // (not counting what a fitting .table-wrap or pre scrolls away).
        wide: [...document.body.querySelectorAll('*')]
          .filter((e) => e.getBoundingClientRect().right > window.innerWidth + 0.5)
          .filter((e) => {
            if (['absolute', 'fixed'].includes(getComputedStyle(e).position)) return true;
            const box = e.parentElement && e.parentElement.closest('.table-wrap, pre');
            return !box || box.getBoundingClientRect().right > window.innerWidth + 0.5;
          })
          .filter((e, _, all) => !all.some((o) => o !== e && e.contains(o)))
          .sort((a, b) => Number(getComputedStyle(b).position === 'absolute') - Number(getComputedStyle(a).position === 'absolute'))
          .slice(0, 5)
          .map((e) => `${e.tagName.toLowerCase()}${e.id ? `#${e.id}` : ''}${e.className ? `.${String(e.className).trim().split(/\s+/).join('.')}` : ''} (right edge ${Math.round(e.getBoundingClientRect().right)} px)`),
      }));
      if (scroll > inner) {
        overflows.push(`${name}: ${url} is ${scroll} px wide on a ${inner} px phone; widest: ${wide.join(', ')}`);
      }
    }
    await page.screenshot({ path: `${OUT}/${name}-${size}.png`, fullPage: true });
  }
  await page.setViewportSize(SIZES.desktop);
  visited.push(url);
}

function dollars(text) { return Math.round(Number(text.replace(/[^0-9.-]/g, '')) * 100); }

/// Journey 1 (and 6 in Spanish): find by account number + ZIP, pay in the
/// hosted checkout, come back to the receipt, see the balance drop.
async function payJourney(browser, account, lang) {
  const es = lang === 'es';
  const ctx = await browser.newContext({ locale: es ? 'es-ES' : 'en-US', viewport: SIZES.desktop });
  const page = await ctx.newPage();
  const p = es ? 'es-' : '';
  await page.goto(`${BASE}/demo`);
  assert.equal(await page.getAttribute('html', 'lang'), lang);
  await page.getByRole('heading', { level: 1 }).filter({ hasText: es ? 'Pague su factura' : 'Pay your water bill' }).waitFor();
  await check(page, `${p}01-home`);

  // A wrong ZIP and an unknown account get one and the same answer.
  await page.fill('#account_number', account.account_number);
  await page.fill('#zip', '99999');
  await page.click('button[type=submit]');
  const wrongZip = await page.textContent('.error');
  await check(page, `${p}02-no-match`);
  await page.fill('#account_number', '999999999');
  await page.fill('#zip', '81230');
  await page.click('button[type=submit]');
  assert.equal(await page.textContent('.error'), wrongZip);
  assert.ok(!(await page.content()).includes('amount-due'));

  await page.fill('#account_number', account.account_number);
  await page.fill('#zip', '81230');
  await page.click('button[type=submit]');
  const due = dollars(await page.textContent('#amount-due'));
  await check(page, `${p}03-bill`);
  let paid;
  if (due >= 100) {
    paid = due;
  } else {
    paid = 2500;
    await page.check('#amount-other');
    await page.fill('#other_amount', '25.00');
  }
  await page.click('button[type=submit]');
  await page.waitForURL((u) => u.toString().startsWith(SIM));
  assert.ok((await page.textContent('h1')).includes((paid / 100).toFixed(2)));
  await page.screenshot({ path: `${OUT}/${p}04-hosted-checkout.png` });
  // English pays by card; Spanish by bank account, which shows
  // "processing" until the bank debit settles.
  await page.click(es ? 'button[value=bank_succeed]' : 'button[value=pay]');
  await page.waitForURL((u) => u.toString().startsWith(BASE));
  if (es) {
    await page.locator('.status-processing').waitFor({ timeout: 30000 });
    assert.ok((await page.textContent('#payment-status')).includes('En proceso'));
    await check(page, `${p}05-receipt-processing`);
  }
  // "Paid" only after the webhook; the page refreshes itself until then.
  await page.locator('.status-paid').waitFor({ timeout: 45000 });
  const balance = dollars(await page.textContent('#balance-now'));
  assert.equal(balance, due - paid, 'the balance dropped by the payment');
  await check(page, `${p}05-receipt`);
  await ctx.close();
}

/// Journey 2: a customer signs in, turns paperless on, views the usage
/// chart (and its table) and opens the current bill.
async function customerJourney(browser) {
  const ctx = await browser.newContext({ viewport: SIZES.phone });
  const page = await ctx.newPage();
  await page.goto(`${BASE}/demo`);
  await page.click('a[href="/demo/signin"]');
  await page.locator('#password').waitFor();
  await check(page, '30-customer-sign-in');
  await page.fill('#email', 'customer@demo.example.org');
  await page.fill('#password', process.env.E2E_STAFF_PASSWORD);
  await page.click('form[action="/demo/signin"] button[type=submit]');
  await page.waitForURL(`${BASE}/demo/account`);
  await check(page, '31-customer-accounts');
  await page.locator('tbody a', { hasText: '10-0001' }).click();
  await page.locator('svg.usage').waitFor();
  assert.ok((await page.locator('svg.usage rect').count()) >= 2, 'the usage chart has bars');
  await page.click('details summary');
  assert.ok((await page.locator('#usage-table tbody tr').count()) >= 2, 'the table alternative');
  await check(page, '32-customer-account');
  await page.click('a[href$="/settings"]');
  await page.locator('#paperless_on').waitFor();
  await check(page, '33-customer-settings');
  await page.check('#paperless_on');
  await page.click('form[action$="/settings"] button[type=submit]');
  await page.locator('#paperless', { hasText: 'On' }).waitFor();
  await check(page, '34-customer-paperless-on');
  const bill = page.locator('a', { hasText: 'Current bill' });
  if (await bill.count()) {
    await bill.click();
    await page.locator('article.bill').waitFor();
    await check(page, '35-customer-bill');
  }
  await ctx.close();
}

/// Journey 4: staff signs in and refunds part of a payment.
async function refundJourney(browser) {
  const ctx = await browser.newContext({ viewport: SIZES.desktop });
  const page = await ctx.newPage();
  await page.goto(`${BASE}/login`);
  await check(page, '10-staff-sign-in');
  await page.fill('input[name=email]', 'admin@demo.example.org');
  await page.fill('input[name=password]', process.env.E2E_STAFF_PASSWORD);
  await page.click('button[type=submit]');
  await page.waitForLoadState();
  await page.goto(`${BASE}/app`);
  await page.getByRole('heading', { name: 'Dashboard' }).waitFor();
  await check(page, '11-dashboard');
  await page.goto(`${BASE}/app/accounts?q=10-000`);
  await check(page, '12-accounts');
  await page.goto(`${BASE}/app/payments`);
  await check(page, '13-payments');
  // The first succeeded payment (journey 1 made one).
  const row = page.locator('tbody tr', { hasText: 'succeeded' }).first();
  await row.locator('a').click();
  await page.locator('#amount').waitFor();
  await check(page, '14-payment');
  await page.fill('#amount', '5.00');
  await page.fill('#reason', 'Duplicate late fee');
  await page.click('form[action$="/refund"] button[type=submit]');
  await page.locator('.status-paid', { hasText: 'Refund requested' }).waitFor();
  // The refund settles through Stripe's webhook: reload until it shows.
  for (let i = 0; i < 50; i++) {
    if ((await page.textContent('#refunded')).includes('$5.00')) break;
    await sleep(300);
    await page.reload();
  }
  assert.ok((await page.textContent('#refunded')).includes('$5.00'), 'the refund is recorded');
  assert.ok((await page.textContent('tbody')).includes('Duplicate late fee'));
  await check(page, '15-refunded');
  const link = await page.getAttribute('dl a', 'href');
  await page.goto(BASE + link);
  await check(page, '16-account');
  await page.goto(`${BASE}/app/bill-runs`);
  await check(page, '17-bill-runs');
  await page.locator('tbody a').first().click();
  await page.locator('#run-status').waitFor();
  await check(page, '18-bill-run');
  await ctx.close();
}

function isoDay(offset) {
  const d = new Date(Date.now() + offset * 86400000);
  return d.toISOString().slice(0, 10);
}

/// The newest mail to `to` whose body has `needle` (the SMTP sink's log).
async function mailTo(to, needle) {
  for (let i = 0; i < 100; i++) {
    if (fs.existsSync(process.env.E2E_MAIL)) {
      const found = fs.readFileSync(process.env.E2E_MAIL, 'utf8').split('\n').filter(Boolean)
        .map((l) => JSON.parse(l))
        .filter((m) => JSON.stringify(m.to).includes(to) && (m.text || '').includes(needle));
      if (found.length) return found[found.length - 1];
    }
    await sleep(200);
  }
  throw new Error(`no mail to ${to}`);
}

/// Journey 3: a new association signs up, confirms its admin by the mailed
/// link, works through the onboarding checklist (profile, Stripe Connect
/// in the stand-in, rates, a CSV of customers, a CSV of reads, a bill run
/// finalized by the worker) and goes live.
async function onboardingJourney(browser) {
  const ctx = await browser.newContext({ viewport: SIZES.desktop });
  const page = await ctx.newPage();
  const slug = `mesa-${Date.now().toString(36)}`;
  const email = `admin@${slug}.example.org`;
  const password = `mesa-e2e-${Date.now()}-pass`;
  await page.goto(`${BASE}/sign-up`);
  await check(page, '30-sign-up');
  await page.fill('#association_name', 'Mesa Verde Water Users');
  await page.fill('#slug', slug);
  await page.fill('#admin_email', email);
  await page.click('button[type=submit]');
  await page.locator('#signed-up').waitFor();
  await check(page, '31-signed-up');

  const mail = await mailTo(email, '/invite?token=');
  const link = mail.text.match(/https?:\/\/\S+\/invite\?token=\S+/)[0];
  await page.goto(link);
  await page.fill('input[name=display_name]', 'Ana Reyes');
  await page.fill('input[name=password]', password);
  await page.click('button[type=submit]');
  await page.getByRole('heading', { name: 'Welcome' }).waitFor();
  await page.goto(`${BASE}/login`);
  await page.fill('input[name=email]', email);
  await page.fill('input[name=password]', password);
  await page.click('button[type=submit]');
  await page.waitForLoadState();
  await page.goto(`${BASE}/app`);
  await page.locator('#onboarding').waitFor();
  assert.ok((await page.textContent('#ob-h')).includes('0 of 6'), await page.textContent('#ob-h'));
  await check(page, '32-checklist-start');

  // 1. Profile.
  await page.click('#onboarding a[href="/app/settings/branding"]');
  await page.fill('#contact_phone', '(970) 555-0142');
  await page.fill('#contact_email', `office@${slug}.example.org`);
  await check(page, '33-profile');
  await page.click('form[action="/app/settings/branding"] button[type=submit]');
  await page.locator('.status-paid').waitFor();

  // 2. Stripe Connect onboarding in the stand-in.
  await page.goto(`${BASE}/app/stripe`);
  await check(page, '34-stripe');
  await page.click('form[action="/app/stripe/connect"] button[type=submit]');
  await page.waitForURL((u) => u.toString().startsWith(SIM));
  await page.screenshot({ path: `${OUT}/35-stripe-onboarding.png` });
  await page.click('button[value=complete]');
  await page.waitForURL((u) => u.toString().startsWith(`${BASE}/app/stripe`));
  for (let i = 0; i < 50 && (await page.textContent('#charges-enabled')).trim() !== 'yes'; i++) {
    await sleep(300);
    await page.reload();
  }
  assert.equal((await page.textContent('#charges-enabled')).trim(), 'yes');
  await check(page, '36-stripe-done');

  // 3. Rates: the starter schedule, then the calculator.
  await page.goto(`${BASE}/app/rates`);
  await page.fill('#name', 'Residential');
  await check(page, '37-rates');
  await page.click('form[action="/app/rates"] button[type=submit]');
  await page.locator('#calculator').waitFor();
  await page.fill('#usage', '9');
  await page.click('#calculator button[type=submit]');
  await page.locator('#calc-total').waitFor();
  assert.ok(dollars(await page.textContent('#calc-total')) > 0);
  await check(page, '38-calculator');

  // 4. Customers and meters from a CSV: preview (one bad row), then import.
  const customers = [
    'account_number,holder_name,service_address,service_city,service_state,service_zip,route,sequence,meter_serial,meter_size,meter_unit',
    '1001,Ana Reyes,12 Mesa Rd,Cortez,CO,81321,A,10,MV-1001,5/8,gallons',
    '1002,Luis Ortega,14 Mesa Rd,Cortez,CO,81321,A,20,MV-1002,5/8,gallons',
    '1003,Dana Whitehorse,2 Canyon Ln,Cortez,CO,81321,B,10,MV-1003,1,gallons',
    '1004,,9 Canyon Ln,Cortez,CO,81321,B,20,MV-1004,5/8,gallons',
  ].join('\n') + '\n';
  await page.goto(`${BASE}/app/imports/customers`);
  await page.setInputFiles('#file', { name: 'customers.csv', mimeType: 'text/csv', buffer: Buffer.from(customers) });
  await page.click('button[value=preview]');
  await page.locator('#import-result').waitFor();
  assert.equal((await page.textContent('#error-count')).trim(), '1');
  assert.ok((await page.textContent('#row-errors')).includes('5'), 'line 5 is reported');
  await check(page, '39-import-preview');
  const good = customers.split('\n').filter((l) => !l.startsWith('1004')).join('\n');
  await page.setInputFiles('#file', { name: 'customers.csv', mimeType: 'text/csv', buffer: Buffer.from(good) });
  await page.click('button[value=import]');
  await page.locator('#import-result h2', { hasText: 'Imported' }).waitFor();
  assert.equal((await page.textContent('#error-count')).trim(), '0');

  // 5. Reads from a CSV: last month's and this week's.
  const [prev, cur] = [isoDay(-30), isoDay(-1)];
  const readsCsv = ['meter_serial,read_on,value',
    `MV-1001,${prev},10000`, `MV-1002,${prev},20000`, `MV-1003,${prev},30000`,
    `MV-1001,${cur},16500`, `MV-1002,${cur},24100`, `MV-1003,${cur},52000`].join('\n') + '\n';
  await page.goto(`${BASE}/app/imports/reads`);
  await page.setInputFiles('#file', { name: 'reads.csv', mimeType: 'text/csv', buffer: Buffer.from(readsCsv) });
  await page.click('button[value=import]');
  await page.locator('#import-result h2', { hasText: 'Imported' }).waitFor();
  await check(page, '40-reads-imported');
  // A file with problems, previewed (on a phone too, by check): row errors
  // with long unbroken tokens (a serial, a UUID) and reads to look at.
  const messy = ['meter_serial,read_on,value',
    `MV-1001,${isoDay(0)},16000`, `MV-1002,${isoDay(0)},24100`,
    `HANDHELD-EXPORT-0193a2b4-7c1d-7e2f-8a9b-0c1d2e3f4a5b-UNKNOWN-METER-SERIAL,${isoDay(0)},5`,
    `MV-1003,the-twentieth-of-this-month,52100`].join('\n') + '\n';
  await page.goto(`${BASE}/app/imports/reads`);
  await page.setInputFiles('#file', { name: 'handheld-route-a-export-2026-11-20T07-45-00-final-version-2.csv', mimeType: 'text/csv', buffer: Buffer.from(messy) });
  await page.click('button[value=preview]');
  await page.locator('#import-result h2', { hasText: 'Preview' }).waitFor();
  assert.equal((await page.textContent('#error-count')).trim(), '2');
  await page.click('details summary');
  await check(page, '40b-reads-preview');
  await page.goto(`${BASE}/app/reads/exceptions`);
  await page.locator('#read-exceptions').waitFor();
  await check(page, '40c-read-exceptions');
  await page.goto(`${BASE}/app/reads?route=A`);
  await page.locator('#route-reads').waitFor();
  await check(page, '41-reads-by-route');

  // 6. A bill run, previewed and finalized by the worker.
  await page.goto(`${BASE}/app/bill-runs`);
  await page.fill('#period_start', isoDay(-5));
  await page.fill('#period_end', isoDay(0));
  await page.fill('#due_on', isoDay(20));
  await page.click('form[action="/app/bill-runs"] button[type=submit]');
  await page.locator('#run-status').waitFor();
  await check(page, '42-run-preview');
  await page.click('form[action$="/finalize"] button[type=submit]');
  await page.locator('#run-status', { hasText: 'finalized' }).waitFor({ timeout: 30000 });
  assert.equal((await page.textContent('#issued')).trim(), '3');
  await check(page, '43-run-finalized');

  // The rate-change impact from the rate form: the first block 50 cents
  // dearer raises what those bills come to.
  await page.goto(`${BASE}/app/rates`);
  await page.click('#impact-link');
  await page.locator('#impact-form').waitFor();
  await page.fill('#rf-rate-1', String(Number(await page.inputValue('#rf-rate-1')) + 0.5));
  await page.click('#impact-form button:has-text("Show the impact")');
  await page.locator('#impact-summary').waitFor();
  assert.match((await page.textContent('#impact-change')).trim(), /^\+\$/);
  await check(page, '44-rate-impact');

  // Every step done: go live.
  await page.goto(`${BASE}/app`);
  assert.ok((await page.textContent('#ob-h')).includes('6 of 6'), await page.textContent('#ob-h'));
  await check(page, '44-checklist-done');
  await page.click('form[action="/app/go-live"] button[type=submit]');
  await page.locator('.status-paid', { hasText: 'live' }).waitFor();
  assert.equal(await page.locator('#onboarding').count(), 0);
  for (const [path, name] of [['/app/reports', '45-reports'], ['/app/settings', '46-settings'],
    ['/app/reads/exceptions', '47-read-exceptions'], ['/app/audit', '48-audit'],
    ['/app/staff', '50-staff'], ['/app/notifications', '51-notifications'],
    ['/app/settings/notifications', '52-notification-settings']]) {
    await page.goto(BASE + path);
    await check(page, name);
  }
  // Invite a clerk, then make an API key: its secret is shown once.
  await page.goto(`${BASE}/app/staff`);
  await page.fill('#invite_email', 'clerk@mesa.example');
  await page.click('form[action="/app/staff/invitations"] button[type=submit]');
  await page.locator('#invitations', { hasText: 'clerk@mesa.example' }).waitFor();
  await page.goto(`${BASE}/app/api-keys`);
  await page.fill('#key_name', 'Meter reader');
  await page.click('form[action="/app/api-keys"] button[type=submit]');
  await page.locator('#new-key').waitFor();
  assert.ok((await page.inputValue('#key_value')).startsWith('aqk_'));
  await check(page, '53-api-key-created');
  await page.goto(`${BASE}/app/api-keys`);
  assert.equal(await page.locator('#new-key').count(), 0, 'the key is not shown again');
  // An account page with the credit, payment plan and notification parts.
  await page.goto(`${BASE}/app/accounts`);
  await page.locator('table a[href^="/app/accounts/"]').first().click();
  await page.locator('#account-notifications').waitFor();
  await check(page, '54-account-forms');
  await page.setViewportSize(SIZES.phone);
  await page.goto(`${BASE}/app`);
  await page.screenshot({ path: `${OUT}/49-dashboard-live-phone.png`, fullPage: true });
  await ctx.close();
}

function base32(s) {
  const abc = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
  let bits = '';
  for (const c of s.replace(/=+$/, '').toUpperCase()) bits += abc.indexOf(c).toString(2).padStart(5, '0');
  const out = [];
  for (let i = 0; i + 8 <= bits.length; i += 8) out.push(parseInt(bits.slice(i, i + 8), 2));
  return Buffer.from(out);
}

/// RFC 6238: SHA-1, 6 digits, 30-second steps.
function totp(key) {
  const step = Buffer.alloc(8);
  step.writeBigInt64BE(BigInt(Math.floor(Date.now() / 1000 / 30)));
  const mac = crypto.createHmac('sha1', key).update(step).digest();
  const o = mac[mac.length - 1] & 0xf;
  return String((mac.readUInt32BE(o) & 0x7fffffff) % 1000000).padStart(6, '0');
}

/// Journey 5: an operator suspends the association; its customer pages
/// show the notice and no payment form; reactivating brings it back.
async function suspendJourney(browser) {
  const ctx = await browser.newContext({ viewport: SIZES.desktop });
  const page = await ctx.newPage();
  await page.goto(`${BASE}/login`);
  await page.fill('input[name=email]', process.env.E2E_OPERATOR_EMAIL);
  await page.fill('input[name=password]', process.env.E2E_OPERATOR_PASSWORD);
  await page.click('button[type=submit]');
  await page.waitForLoadState();
  // Operators must have a second factor: enrol one through the API.
  const session = await (await page.request.get(`${BASE}/api/v1/auth/session`)).json();
  const headers = { 'x-csrf-token': session.csrf_token };
  const start = await page.request.post(`${BASE}/api/v1/auth/totp/enrolment`, { headers });
  assert.ok(start.ok(), `enrolment: ${start.status()} ${await start.text()}`);
  const key = base32((await start.json()).secret);
  const done = await page.request.post(`${BASE}/api/v1/auth/totp/enrolment/confirm`, { headers, data: { code: totp(key) } });
  assert.ok(done.ok(), `confirm: ${done.status()} ${await done.text()}`);
  await page.goto(`${BASE}/ops`);
  await page.getByRole('heading', { name: 'Tenants' }).waitFor();
  await check(page, '20-ops-tenants');
  await page.click('#tenant-demo button:has-text("Suspend")');
  await page.locator('#tenant-demo .tenant-status', { hasText: 'suspended' }).waitFor();
  await check(page, '21-ops-suspended');

  const customer = await browser.newContext({ viewport: SIZES.phone });
  const cpage = await customer.newPage();
  await cpage.goto(`${BASE}/demo`);
  assert.ok((await cpage.textContent('.banner.warn')).includes('temporarily unavailable'));
  assert.equal(await cpage.locator('#account_number').count(), 0, 'no payment form while suspended');
  await check(cpage, '22-customer-suspended');
  await cpage.goto(`${BASE}/demo?lang=es`);
  assert.ok((await cpage.textContent('.banner.warn')).includes('no está disponible'));
  await customer.close();

  await page.click('#tenant-demo button:has-text("Reactivate")');
  await page.locator('#tenant-demo .tenant-status', { hasText: 'active' }).waitFor();
  for (const [path, name] of [['/ops/jobs', '23-ops-jobs'], ['/ops/backups', '24-ops-backups'],
    ['/ops/audit', '25-ops-audit'], ['/ops/settings', '26-ops-settings']]) {
    await page.goto(BASE + path);
    await check(page, name);
  }
  await ctx.close();
}

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
    '--disable-background-networking', '--disable-component-update', '--disable-sync'],
});
let failed = false;
try {
  await connectStripe();
  const accounts = await api('GET', '/api/v1/accounts?limit=10');
  const list = accounts.items || accounts.data || accounts;
  const journeys = [
    ['1 customer pays (English)', () => payJourney(browser, list[0], 'en')],
    ['6 customer pays (Spanish)', () => payJourney(browser, list[1], 'es')],
    ['2 customer signs in, turns paperless on, views usage', () => customerJourney(browser)],
    ['4 staff refunds a payment', () => refundJourney(browser)],
    ['3 a new association signs up and onboards', () => onboardingJourney(browser)],
    ['5 operator suspends a tenant', () => suspendJourney(browser)],
    ['privacy, security and contact pages', async () => {
      const ctx = await browser.newContext({ viewport: SIZES.desktop });
      const page = await ctx.newPage();
      for (const [path, name] of [['privacy', '06-privacy'], ['security', '07-security'], ['contact', '08-contact']]) {
        await page.goto(`${BASE}/demo/${path}`);
        await check(page, name);
      }
      await page.goto(`${BASE}/demo/privacy?lang=es`);
      assert.equal(await page.getAttribute('html', 'lang'), 'es');
      await check(page, 'es-06-privacy');
      await ctx.close();
    }],
  ];
  for (const [name, run] of journeys) {
    try {
      await run();
      console.log(`ok   journey ${name}`);
    } catch (e) {
      failed = true;
      console.log(`FAIL journey ${name}\n${e.stack || e}`);
    }
  }
  // Checked for every page the journeys visited, then reported together.
  try {
    assert.deepEqual(overflows, [], `pages wider than a ${SIZES.phone.width} px phone:\n${overflows.join('\n')}`);
    console.log(`ok   no page is wider than a ${SIZES.phone.width} px phone`);
  } catch (e) {
    failed = true;
    console.log(`FAIL phone width\n${e.message}`);
  }
} finally {
  await browser.close();
}
console.log(`${visited.length} pages checked with axe-core; screenshots in ${OUT}`);
process.exit(failed ? 1 : 0);
