/**
 * The review page in a real browser (Debian's Chromium, headless) against a
 * real Node-RED with adminAuth, running examples/watched-folder-review.json on
 * the fixture model: a queued photo is shown with its instances, one turned
 * off and a missed region drawn, previewed and approved; the output hides
 * the drawn region and shows the instance turned off; the audit names the
 * change; a reject files the original under failed/; a user with read
 * permission gets 403 from every route; the queue survives a restart. The
 * editor's sidebar tab lists what waits.
 *
 * Run: `npm run test:e2e`. With E2E_DOCS_IMAGES=1 the README's pictures of
 * the page and the tab in docs/images/ are refreshed.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, promises as fs, readFileSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import sharp from 'sharp';
import { buildFixtureModel, FIXTURE_COLOURS } from '../fixtures/fixture-model';
import type { Rect } from '../helpers/images';
import { tempDir } from '../helpers/temp';
import { textured } from '../helpers/textured';
import { artifacts, browserSkipReason, launchChromium, root, startNodeRed, waitFor, type NodeRed } from './harness';

const skip = browserSkipReason();
if (skip) console.warn(`\n*** review e2e suite SKIPPED: ${skip} ***\n`);
const docsImages = process.env.E2E_DOCS_IMAGES === '1' ? path.join(root, 'docs', 'images') : undefined;

const W = 640, H = 400;
const red: Rect = { x: 60, y: 60, width: 180, height: 120, rgb: FIXTURE_COLOURS.red };
const green: Rect = { x: 380, y: 220, width: 160, height: 120, rgb: FIXTURE_COLOURS.green };
/** What detection misses and the reviewer boxes by hand. */
const missed = { x: 400, y: 40, width: 160, height: 100 };

// eslint-disable-next-line @typescript-eslint/no-require-imports -- Node-RED's own dependency, to hash the test users' passwords as adminAuth expects
const bcrypt = require('bcryptjs') as { hashSync(s: string, rounds: number): string };

describe('the review page in Chromium', { skip, timeout: 10 * 60_000 }, () => {
  let red_: NodeRed;
  let browser: Browser;
  let context: BrowserContext;
  let page: Page;
  let work: string, inbox: string, out: string, userDir: string;
  let png: Buffer;
  let adminToken: string;
  const env = (): Record<string, string> => ({ SAM3_MODEL_DIR: path.join(work, 'model'), REDACT_WATCH_DIR: inbox, REDACT_OUTPUT_DIR: out, REDACT_PROMPTS: 'red, green' });
  const adminAuth = {
    type: 'credentials',
    users: [
      { username: 'ana', password: bcrypt.hashSync('ana-password', 8), permissions: '*' },
      { username: 'viewer', password: bcrypt.hashSync('viewer-password', 8), permissions: 'read' },
    ],
  };

  async function start(): Promise<void> {
    red_ = await startNodeRed({ userDir, env: env(), settings: { adminAuth } });
  }

  async function tokenFor(username: string, password: string, scope = '*'): Promise<string> {
    const res = await fetch(`${red_.url}auth/token`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ client_id: 'node-red-editor', grant_type: 'password', scope, username, password }),
    });
    assert.equal(res.status, 200, `token for ${username}`);
    return ((await res.json()) as { access_token: string }).access_token;
  }

  async function api(route: string, token: string, init: RequestInit = {}): Promise<Response> {
    return fetch(`${red_.url}${route}`, { ...init, headers: { ...(init.headers as Record<string, string>), Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' } });
  }

  async function waiting(name: string): Promise<{ id: string; detections: Array<{ label: string }> }> {
    return waitFor(`${name} in the review queue`, async () => {
      const res = await api('redaction-review/items', adminToken);
      const body = (await res.json()) as { items: Array<{ id: string; file: string; detections: Array<{ label: string }> }> };
      return body.items.find((i) => i.file === name);
    }, 60_000);
  }

  async function drop(name: string): Promise<void> {
    await fs.writeFile(path.join(work, name), png);
    await fs.rename(path.join(work, name), path.join(inbox, name));
  }

  async function screenshot(name: string, docsName?: string): Promise<void> {
    mkdirSync(artifacts, { recursive: true });
    const file = path.join(artifacts, `${name}.png`);
    await page.screenshot({ path: file });
    if (docsImages && docsName) await sharp(file).resize(1000).png({ palette: true }).toFile(path.join(docsImages, docsName));
  }

  before(async () => {
    work = tempDir('sam3-review-e2e-');
    inbox = path.join(work, 'in');
    out = path.join(work, 'out');
    userDir = path.join(work, 'user');
    mkdirSync(inbox, { recursive: true });
    mkdirSync(userDir, { recursive: true });
    await buildFixtureModel(path.join(work, 'model'));
    // The example as a user deploys it, with fill so that "hidden" is exact, and a short time limit that a waiting photo must outlive.
    const flow = JSON.parse(readFileSync(path.join(root, 'examples', 'watched-folder-review.json'), 'utf8')) as Array<Record<string, unknown>>;
    for (const n of flow) {
      if (n.type === 'mask-blur') Object.assign(n, { mode: 'fill', fillColor: '#0000ff' });
      if (n.type === 'watch-folder') Object.assign(n, { timeout: 3, stability: 0.3 });
    }
    writeFileSync(path.join(userDir, 'flows.json'), JSON.stringify(flow));
    png = await sharp(Buffer.from(textured(W, H, [red, green]).data), { raw: { width: W, height: H, channels: 3 } }).png().toBuffer();
    await start();
    adminToken = await tokenFor('ana', 'ana-password');
    browser = await launchChromium();
    context = await browser.newContext({ viewport: { width: 1400, height: 900 }, extraHTTPHeaders: { Authorization: `Bearer ${adminToken}` } });
    page = await context.newPage();
  });

  after(async () => {
    await browser?.close();
    if (red_) {
      mkdirSync(artifacts, { recursive: true });
      await fs.writeFile(path.join(artifacts, 'node-red-review.log'), red_.log());
      await red_.stop();
    }
  });

  test('a queued photo is shown with its instances; one turned off, a missed region drawn, approved: the output and the audit follow', async () => {
    await drop('a.png');
    await waiting('a.png');
    await page.goto(`${red_.url}redaction-review`);
    await page.locator('#items li', { hasText: 'a.png' }).click();
    const toggles = page.locator('.instance-toggle');
    await waitFor('the two instances listed', async () => (await toggles.count()) === 2);
    const labels = await page.locator('#instances li').allInnerTexts();
    assert.ok(labels.some((l) => /^red \d\.\d\d · sam3$/.test(l.trim())) && labels.some((l) => /^green /.test(l.trim())), labels.join(' | '));
    await page.locator('#instances li', { hasText: 'green' }).locator('.instance-toggle').uncheck();

    // The missed region, boxed by drag in image pixels.
    await page.click('#tool-box');
    const canvas = page.locator('#canvas');
    const box = await canvas.boundingBox();
    assert.ok(box);
    const sx = box.width / W, sy = box.height / H;
    await page.mouse.move(box.x + missed.x * sx, box.y + missed.y * sy);
    await page.mouse.down();
    await page.mouse.move(box.x + (missed.x + missed.width) * sx, box.y + (missed.y + missed.height) * sy, { steps: 5 });
    await page.mouse.up();
    await screenshot('review-page', 'review-page.png');

    await page.click('#preview');
    await page.locator('#preview-image').waitFor({ state: 'visible' });
    await screenshot('review-preview');
    await page.click('#preview');
    await page.fill('#note', 'green is our own logo');
    await page.click('#approve');

    await waitFor('a.png in done/', () => existsSync(path.join(inbox, 'done', 'a.png')), 60_000);
    const raw = await sharp(path.join(out, 'a.png')).removeAlpha().raw().toBuffer();
    const blue = (x: number, y: number): boolean => raw[(y * W + x) * 3] === 0 && raw[(y * W + x) * 3 + 2] === 255;
    assert.ok(blue(red.x + 90, red.y + 60), 'the red instance is hidden');
    assert.ok(blue(missed.x + 80, missed.y + 50), 'the drawn region is hidden');
    assert.ok(!blue(green.x + 80, green.y + 60), 'the instance turned off is visible');
    const audit = JSON.parse(await fs.readFile(path.join(out, 'a.png.audit.json'), 'utf8')) as { review: { reviewer: string; note: string; changes: Array<{ change: string; label?: string; shape?: string }> } };
    assert.equal(audit.review.reviewer, 'ana');
    assert.equal(audit.review.note, 'green is our own logo');
    assert.deepEqual(audit.review.changes.map((c) => `${c.change} ${c.label ?? c.shape}`), ['removed green', 'added box']);
  });

  test('a reject from the page files the original under failed/ with the reviewer', async () => {
    await drop('b.png');
    await waiting('b.png');
    await page.goto(`${red_.url}redaction-review`);
    await page.locator('#items li', { hasText: 'b.png' }).click();
    await page.fill('#note', 'not our camera');
    await page.click('#reject');
    const error = path.join(inbox, 'failed', 'b.png.error.txt');
    await waitFor('b.png in failed/', () => existsSync(error), 60_000);
    assert.match(await fs.readFile(error, 'utf8'), /^rejected in review by ana: not our camera/);
  });

  test('a user with read permission gets 403 from every route; without a token, 401', async () => {
    await drop('c.png');
    const item = await waiting('c.png');
    // Node-RED's read scope: every *.read permission, which must not be enough to see unredacted images.
    const viewer = await tokenFor('viewer', 'viewer-password', 'read');
    assert.equal((await api('flows', viewer)).status, 200, 'the reader can read the flows');
    const routes: Array<[string, string]> = [
      ['GET', 'redaction-review'],
      ['GET', 'redaction-review/items'],
      ['GET', `redaction-review/items/${item.id}`],
      ['GET', `redaction-review/items/${item.id}/image`],
      ['POST', `redaction-review/items/${item.id}/preview`],
      ['POST', `redaction-review/items/${item.id}/decision`],
    ];
    for (const [method, route] of routes) {
      const body = method === 'POST' ? JSON.stringify({ decision: 'approve' }) : undefined;
      assert.equal((await api(route, viewer, { method, body })).status, 403, `${method} ${route} as a reader`);
      assert.equal((await fetch(`${red_.url}${route}`, { method, body, headers: { 'Content-Type': 'application/json' } })).status, 401, `${method} ${route} without a token`);
    }
  });

  test("the editor's review tab lists what waits; after a restart the photo still waits and can be approved", async () => {
    // The editor, logged in as a user would.
    const editor = await browser.newPage({ viewport: { width: 1400, height: 900 } });
    await editor.goto(red_.url);
    await editor.fill('#node-dialog-login-username', 'ana');
    await editor.fill('#node-dialog-login-password', 'ana-password');
    await editor.click('.red-ui-login-form button.primary, #node-dialog-login-submit');
    await editor.locator('#red-ui-palette-container .red-ui-palette-node').first().waitFor({ timeout: 60_000 });
    await editor.evaluate(() => (globalThis as unknown as { RED: { sidebar: { show(id: string): void } } }).RED.sidebar.show('redaction-review'));
    await editor.locator('#redaction-review-sidebar-list li', { hasText: 'c.png' }).waitFor({ timeout: 20_000 });
    assert.doesNotMatch(await editor.locator('.redaction-review-sidebar').innerText(), /redaction-review\./, 'the tab is translated');
    mkdirSync(artifacts, { recursive: true });
    await editor.screenshot({ path: path.join(artifacts, 'review-sidebar.png') });
    if (docsImages) await sharp(path.join(artifacts, 'review-sidebar.png')).resize(1000).png({ palette: true }).toFile(path.join(docsImages, 'review-sidebar.png'));
    await editor.close();

    await red_.stop();
    await start();
    adminToken = await tokenFor('ana', 'ana-password');
    await context.setExtraHTTPHeaders({ Authorization: `Bearer ${adminToken}` });
    const item = await waiting('c.png');
    await page.goto(`${red_.url}redaction-review`);
    await page.locator('#items li', { hasText: 'c.png' }).click();
    await page.locator('.instance-toggle').first().waitFor();
    // The watched folder takes its claim up again shortly after the start; the page says so until then.
    await waitFor('the approval to be taken', async () => {
      await page.click('#approve');
      await page.waitForTimeout(500);
      return existsSync(path.join(inbox, 'done', 'c.png')) || !(await page.locator('#items li', { hasText: 'c.png' }).count());
    }, 60_000, 2000);
    await waitFor('c.png in done/', () => existsSync(path.join(inbox, 'done', 'c.png')), 60_000);
    assert.ok(item.detections.length > 0);
  });
});
