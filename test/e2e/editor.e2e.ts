/**
 * The Node-RED editor in a real browser (Debian's Chromium, headless, driven
 * by playwright-core): every node of this package in the palette under its
 * category, every edit dialog (config nodes too) opened, its help shown and
 * saved without console errors, every example flow imported from the Import
 * menu and deployed, and an image sent through the image example comes out
 * redacted. Nodes and examples come from package.json and examples/, so a new
 * one is covered without editing this file.
 *
 * Run: `npm run test:e2e`. Screenshots land in dist/e2e-artifacts/ (or
 * E2E_ARTIFACTS); with E2E_DOCS_IMAGES=1 the README's pictures in docs/images/
 * are refreshed too.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, promises as fs, readFileSync } from 'node:fs';
import * as path from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import sharp from 'sharp';
import { buildFixtureModel } from '../fixtures/fixture-model';
import { tempDir } from '../helpers/temp';
import { roughness } from '../helpers/textured';
import { openFrameReader, resolveFfmpegPath } from '../../src/video';
import { artifacts, browserSkipReason, exampleFlows, launchChromium, packageNodeSets, pkg, root, startNodeRed, waitFor, type NodeRed } from './harness';

// The editor's globals, used only inside page.evaluate() callbacks (which run in the browser).
/* eslint-disable @typescript-eslint/no-explicit-any */
declare const RED: any;
declare const $: any;

const skip = browserSkipReason();
if (skip) console.warn(`\n*** editor e2e suite SKIPPED: ${skip} ***\n`);

const docsImages = process.env.E2E_DOCS_IMAGES === '1' ? path.join(root, 'docs', 'images') : undefined;

/**
 * The scene sent through the image example: a red "plate" with dark red text
 * on it (the fixture model segments colours, and dark red is red to it).
 */
const SCENE = { width: 960, height: 600, red: { x: 540, y: 340, width: 340, height: 150 } };
const sceneHtml = `<!doctype html><html><body style="margin:0">
<div style="position:relative;width:${SCENE.width}px;height:${SCENE.height}px;overflow:hidden;font-family:sans-serif;
  background:repeating-linear-gradient(45deg,#eef3f7 0 14px,#dfe9f0 14px 28px)">
  <div style="position:absolute;left:40px;top:40px;width:420px;height:250px;border-radius:18px;background:#3f7fbf;color:#e8f1fa;
    font-size:34px;padding:24px;box-sizing:border-box">Public notice<br><span style="font-size:22px">Anything red in this picture is private.</span></div>
  <div style="position:absolute;left:560px;top:60px;width:180px;height:180px;border-radius:50%;background:#4caf7d"></div>
  <div style="position:absolute;left:780px;top:110px;width:120px;height:120px;background:#69c7d6;transform:rotate(20deg)"></div>
  <div style="position:absolute;left:60px;top:360px;width:380px;height:180px;background:#ffffff;border:3px solid #2a5db0;color:#2a5db0;
    font-size:20px;padding:14px;box-sizing:border-box">Visible text stays sharp:<br>the quick brown fox jumps over the lazy dog.</div>
  <div style="position:absolute;left:${SCENE.red.x}px;top:${SCENE.red.y}px;width:${SCENE.red.width}px;height:${SCENE.red.height}px;background:#ff0000;
    color:#7a0000;font:bold 50px monospace;display:flex;align-items:center;justify-content:center;letter-spacing:4px">AB-123-CD</div>
</div></body></html>`;

/** Problems the page reported: console errors, uncaught exceptions, failed requests to Node-RED. */
class PageProblems {
  readonly list: string[] = [];
  constructor(page: Page, origin: string) {
    page.on('console', (m) => {
      if (m.type() === 'error') this.list.push(`console error: ${m.text()}`);
    });
    page.on('pageerror', (e) => this.list.push(`uncaught in page: ${e.stack || e.message}`));
    page.on('requestfailed', (r) => {
      if (r.url().startsWith(origin)) this.list.push(`request failed: ${r.url()} ${r.failure()?.errorText ?? ''}`);
    });
    page.on('response', (r) => {
      if (r.status() >= 400 && r.url().startsWith(origin)) this.list.push(`HTTP ${r.status()} for ${r.url()}`);
    });
  }
  /** Asserts that nothing was reported since the last call. */
  none(when: string): void {
    const got = this.list.splice(0);
    assert.deepEqual(got, [], `${when}: the editor reported problems`);
  }
}

describe('the editor in Chromium', { skip, timeout: 10 * 60_000 }, () => {
  let red: NodeRed;
  let browser: Browser;
  let page: Page;
  let problems: PageProblems;
  let work: string;
  let outDir: string;
  const input = (): string => path.join(work, 'scene.jpg');
  /** type -> { category, paletteLabel } as the editor registered it. */
  let types: Record<string, { category: string; label: string; configFields: Array<{ field: string; type: string }> }> = {};

  async function screenshot(name: string, docsName?: string, clip?: { x: number; y: number; width: number; height: number }): Promise<void> {
    mkdirSync(artifacts, { recursive: true });
    const file = path.join(artifacts, `${name}.png`);
    await page.screenshot({ path: file, clip });
    if (docsImages && docsName) {
      mkdirSync(docsImages, { recursive: true });
      await fs.copyFile(file, path.join(docsImages, docsName));
    }
  }

  async function deploy(): Promise<void> {
    const posted = page.waitForResponse((r) => r.request().method() === 'POST' && new URL(r.url()).pathname === '/flows', { timeout: 30_000 });
    posted.catch(() => undefined);
    await page.click('#red-ui-header-button-deploy');
    const confirm = page.locator('#red-ui-deploy-dialog-confirm-deploy-deploy');
    const first = await Promise.race([posted.then(() => 'posted'), confirm.waitFor({ timeout: 30_000 }).then(() => 'confirm')]);
    if (first === 'confirm') {
      const text = await page.locator('.red-ui-notification').last().innerText();
      await page.locator('.red-ui-notification button', { hasText: 'Cancel' }).last().click();
      throw new Error(`deploy asked for confirmation (nodes not properly configured or unknown):\n${text}`);
    }
    const res = await posted;
    assert.equal(res.status(), 200, `POST /flows answered ${res.status()}: ${await res.text()}`);
    await page.locator('.red-ui-notification', { hasText: 'Successfully deployed' }).first().waitFor();
  }

  /** Waits until no notification covers the canvas (they close by themselves after a few seconds). */
  async function quiet(): Promise<void> {
    await page.waitForFunction(() => $('.red-ui-notification:visible').length === 0, undefined, { timeout: 20_000 }).catch(() => undefined);
  }

  /** Opens a node's edit dialog by double-clicking it on the canvas. */
  async function openEditor(id: string): Promise<void> {
    await page.evaluate((nodeId: string) => RED.view.reveal(nodeId), id);
    await page.locator(`[id="${id}"] .red-ui-flow-node`).first().dblclick();
    await page.locator('#node-dialog-ok').waitFor({ state: 'visible' });
    await page.waitForTimeout(300); // the tray slides in
  }

  /** i18n keys shown as text mean a missing message catalogue entry. */
  async function untranslated(scope: string): Promise<string[]> {
    return page.evaluate((sel: string) => {
      const out: string[] = [];
      $(sel)
        .find('label, span, option, button, a, h3, p, div')
        .each(function (this: any) {
          const own = $(this).clone().children().remove().end().text().trim();
          if (/^[\w-]+\.[\w.-]+$/.test(own) && own.includes('.') && /^(sam3|mask|video|watch|node-red)/.test(own)) out.push(own);
        });
      $(sel)
        .find('input[placeholder]')
        .each(function (this: any) {
          const p = $(this).attr('placeholder');
          if (/^[\w-]+\.(placeholder|label)\.[\w.]+$/.test(p)) out.push(p);
        });
      return out;
    }, scope);
  }

  /** Clicks the help button of the open dialog and checks the help sidebar shows this type's help. */
  async function checkHelp(type: string, footer: string): Promise<void> {
    await page.locator(`${footer} button:has(i.fa-book)`).last().click();
    const expected = await page.evaluate((t: string) => {
      const src = $(`script[data-help-name="${t}"]`).html() || '';
      const doc = $('<div>').html(src);
      return {
        first: doc.find('p').first().text().replace(/\s+/g, ' ').trim(),
        headings: doc.find('h3').map(function (this: any) { return $(this).text().trim(); }).get(),
      };
    }, type);
    assert.ok(expected.first.length > 10, `${type}: the help has a first-line summary`);
    const shown = await waitFor(`the help sidebar to show ${type}`, async () => {
      const text = await page.evaluate(() => {
        const panel = $('.red-ui-sidebar-help-stack .red-ui-help, #red-ui-sidebar-content .red-ui-help').filter(':visible');
        return panel.text().replace(/\s+/g, ' ');
      });
      return text.includes(expected.first) && text;
    });
    for (const h of expected.headings) assert.ok(shown.includes(h), `${type}: help section "${h}" is shown`);
  }

  before(async () => {
    work = tempDir('sam3-e2e-');
    outDir = path.join(work, 'out');
    const modelDir = path.join(work, 'model');
    await buildFixtureModel(modelDir);
    red = await startNodeRed({
      userDir: path.join(work, 'user'),
      env: { SAM3_MODEL_DIR: modelDir, REDACT_INPUT: input(), REDACT_OUTPUT_DIR: outDir, REDACT_VIDEO_INPUT: path.join(work, 'none.mp4') },
    });
    browser = await launchChromium();
    page = await browser.newPage({ viewport: { width: 1600, height: 900 } });
    problems = new PageProblems(page, red.url);
  });

  after(async () => {
    await browser?.close();
    if (red) {
      await fs.mkdir(artifacts, { recursive: true });
      await fs.writeFile(path.join(artifacts, 'node-red.log'), red.log());
      await red.stop();
    }
  });

  test('Node-RED loads every node that package.json declares', async () => {
    const sets = await packageNodeSets(red);
    for (const name of Object.keys(pkg['node-red'].nodes)) {
      const set = sets.find((s) => s.name === name);
      assert.ok(set, `node set ${name} is registered (log:\n${red.log()})`);
      assert.equal(set.err, undefined, `node set ${name} loaded without error`);
      assert.ok(set.enabled && set.types.length > 0, `node set ${name} is enabled and has types`);
    }
  });

  test('every node appears in the palette under its category', async () => {
    await page.goto(red.url);
    await page.locator('#red-ui-palette-container .red-ui-palette-node').first().waitFor();
    const all = (await packageNodeSets(red)).flatMap((s) => s.types);
    types = await page.evaluate((list: string[]) => {
      const out: Record<string, unknown> = {};
      for (const t of list) {
        const def = RED.nodes.getType(t);
        if (!def) continue;
        const label = typeof def.paletteLabel === 'function' ? def.paletteLabel.call(def) : def.paletteLabel || t;
        const configFields = Object.keys(def.defaults || {})
          .filter((k) => def.defaults[k].type && RED.nodes.getType(def.defaults[k].type)?.category === 'config')
          .map((k) => ({ field: k, type: def.defaults[k].type }));
        out[t] = { category: def.category, label, configFields };
      }
      return out;
    }, all) as typeof types;
    assert.deepEqual(Object.keys(types).sort(), [...all].sort(), 'the editor registered every type the runtime loaded');

    for (const [type, def] of Object.entries(types)) {
      if (def.category === 'config') {
        assert.equal(await page.locator(`.red-ui-palette-node[data-palette-type="${type}"]`).count(), 0, `config node ${type} is not in the palette`);
        continue;
      }
      const header = page.locator(`#red-ui-palette-header-${def.category}`);
      assert.equal((await header.innerText()).trim(), def.category, `category header ${def.category}`);
      const node = page.locator(`#red-ui-palette-base-category-${def.category} .red-ui-palette-node[data-palette-type="${type}"]`);
      await node.scrollIntoViewIfNeeded();
      assert.ok(await node.isVisible(), `${type} is shown in the palette category ${def.category}`);
      assert.equal((await node.innerText()).replace(/\s+/g, ' ').trim(), String(def.label).replace(/\s+/g, ' '), `${type}'s palette label`);
      const iconLoaded = await node.locator('.red-ui-palette-icon').evaluate((el: any) => {
        const url = /url\("?([^")]+)"?\)/.exec(el.style.backgroundImage)?.[1];
        if (!url) return false;
        return new Promise<boolean>((resolve) => {
          const img = new (globalThis as any).Image();
          img.onload = () => resolve(img.naturalWidth > 0);
          img.onerror = () => resolve(false);
          img.src = url;
        });
      });
      assert.ok(iconLoaded, `${type}'s palette icon loads`);
    }
    // Show this package's category alone for the picture.
    await page.evaluate(() => {
      $('.red-ui-palette-category').each(function (this: any) {
        const open = this.id === 'red-ui-palette-container-redaction';
        $(this).find('.red-ui-palette-content').toggle(open);
        $(this).toggleClass('red-ui-palette-open', open).find('.red-ui-palette-header i').toggleClass('expanded', open);
      });
    });
    const categories = [...new Set(Object.values(types).map((d) => d.category).filter((c) => c !== 'config'))];
    await page.locator(`#red-ui-palette-header-${categories[0]}`).scrollIntoViewIfNeeded();
    const box = await page.locator('#red-ui-palette').boundingBox();
    await screenshot('palette', undefined, box ?? undefined);
    problems.none('palette');
  });

  test('every edit dialog opens, shows its help and saves without console errors', async () => {
    assert.ok(Object.keys(types).length > 0, 'the palette test found the types');
    const configsOpened = new Set<string>();
    const x = 160;
    let y = 80;
    for (const [type, def] of Object.entries(types)) {
      if (def.category === 'config') continue;
      // Drag it from the palette onto the canvas, as a user would.
      const before = await page.evaluate(() => RED.nodes.filterNodes({ z: RED.workspaces.active() }).map((n: any) => n.id));
      const item = page.locator(`.red-ui-palette-node[data-palette-type="${type}"]`);
      await item.scrollIntoViewIfNeeded();
      await item.dragTo(page.locator('#red-ui-workspace-chart'), { targetPosition: { x, y } });
      y += 70;
      const id = await waitFor(`${type} dropped on the canvas`, () =>
        page.evaluate(
          ([t, ids]: [string, string[]]) => RED.nodes.filterNodes({ z: RED.workspaces.active(), type: t }).map((n: any) => n.id).find((i: string) => !ids.includes(i)),
          [type, before] as [string, string[]],
        ),
      );

      await openEditor(id);
      assert.deepEqual(await untranslated('#dialog-form'), [], `${type}: every label of the dialog is translated`);
      if (type === 'sam3-segment') await screenshot('edit-dialog');
      await checkHelp(type, '.red-ui-tray-footer');

      for (const cf of def.configFields) {
        // The button beside a config field opens the config node's own dialog ("Add new ...").
        // ("+" in Node-RED 4.1; the older single lookup button before that.)
        const add = page.locator(`#node-input-btn-${cf.field}-add, #node-input-lookup-${cf.field}`).first();
        // An optional config field shows only with the option that uses it (mask-blur's model, with Verify text):
        // tick the dialog's checkboxes one by one until it appears, as a user would.
        const boxes = page.locator('#dialog-form input[type=checkbox]:not(:checked)');
        for (let i = (await boxes.count()) - 1; i >= 0 && !(await add.isVisible()); i--) await boxes.nth(i).check();
        await add.click();
        await page.locator('#node-config-dialog-ok').waitFor({ state: 'visible' });
        await page.waitForTimeout(300);
        assert.deepEqual(await untranslated('#node-config-dialog-edit-form'), [], `${cf.type}: every label of the dialog is translated`);
        if (!configsOpened.has(cf.type)) await checkHelp(cf.type, '.red-ui-tray-footer');
        if (!configsOpened.has(cf.type)) await screenshot(`edit-dialog-${cf.type}`);
        await page.click('#node-config-dialog-ok');
        await page.locator('#node-config-dialog-ok').waitFor({ state: 'detached' });
        configsOpened.add(cf.type);
        const chosen = await page.locator(`#node-input-${cf.field}`).inputValue();
        assert.ok(chosen && chosen !== '_ADD_', `${type}: the new ${cf.type} is selected in ${cf.field}`);
      }
      await page.click('#node-dialog-ok');
      await page.locator('#node-dialog-ok').waitFor({ state: 'detached' });
      const saved = await page.evaluate((i: string) => { const n = RED.nodes.node(i); return n && { changed: n.changed, dirty: n.dirty }; }, id);
      assert.ok(saved, `${type}: the node is still there after Done`);
      problems.none(`${type} edit dialog`);
    }
    const configTypes = Object.entries(types).filter(([, d]) => d.category === 'config').map(([t]) => t);
    for (const t of configTypes) assert.ok(configsOpened.has(t), `config node ${t} was edited through a node that uses it`);

    // Clear the canvas (and the config nodes just added) for the example flows.
    await page.locator('#red-ui-workspace-chart').click({ position: { x: 700, y: 700 } });
    await page.keyboard.press('Control+a');
    await page.keyboard.press('Delete');
    await page.evaluate(() => {
      const unused: any[] = [];
      RED.nodes.eachConfig((n: any) => { if (n.users.length === 0) unused.push(n); });
      unused.forEach((n) => RED.nodes.remove(n.id));
      RED.nodes.dirty(true);
    });
    assert.equal(await page.evaluate(() => RED.nodes.filterNodes({ z: RED.workspaces.active() }).length), 0);
    problems.none('clearing the canvas');
  });

  for (const example of exampleFlows()) {
    test(`example ${example.name} imports from the Import menu and deploys`, async () => {
      await page.click('#red-ui-header-button-sidemenu');
      await page.click('#menu-item-import');
      await page.click('a[href="#red-ui-clipboard-dialog-import-tab-examples"]');
      const tree = page.locator('#red-ui-clipboard-dialog-import-tab-examples');
      const folder = tree.locator('.red-ui-treeList-label', { hasText: pkg.name });
      await folder.waitFor();
      if (!(await tree.locator('.red-ui-treeList-label-text', { hasText: new RegExp(`^${example.name}$`) }).isVisible())) await folder.click();
      await tree.locator('.red-ui-treeList-label-text', { hasText: new RegExp(`^${example.name}$`) }).click();
      await page.click('#red-ui-clipboard-dialog-import-opt-new');
      await page.click('#red-ui-clipboard-dialog-ok');
      await page.locator('#red-ui-clipboard-dialog-ok').waitFor({ state: 'hidden' });

      const ids = example.flow.map((n) => n.id);
      // The dialog fetches the chosen file and then imports it: wait for the nodes to arrive.
      const presentNow = (): Promise<string[]> => page.evaluate((list: string[]) => list.filter((i) => RED.nodes.node(i) || RED.nodes.workspace(i)), ids);
      await waitFor(`the nodes of ${example.name} in the editor`, async () => (await presentNow()).length === ids.length, 15_000).catch(() => undefined);
      assert.deepEqual((await presentNow()).sort(), [...ids].sort(), 'every node of the example is in the editor, ids kept');
      problems.none(`importing ${example.name}`);

      const tab = example.flow.find((n) => n.type === 'tab');
      if (tab) await page.evaluate((t: string) => RED.workspaces.show(t), tab.id);
      const logFrom = red.log().length;
      await deploy();
      const deployed = await red.get<{ flows: Array<{ id: string }> }>('flows');
      const live = new Set(deployed.flows.map((n) => n.id));
      assert.deepEqual(ids.filter((i) => !live.has(i)), [], 'every node of the example is deployed');
      // Give the nodes a moment to start, then look for runtime errors caused by this deploy.
      await new Promise((r) => setTimeout(r, 1500));
      const errors = red.log().slice(logFrom).split('\n').filter((l) => /\[error\]/.test(l));
      assert.deepEqual(errors, [], `deploying ${example.name} logged no errors`);
      await quiet();
      await screenshot(`deployed-${example.name}`);
      problems.none(`deploying ${example.name}`);
    });
  }

  test('an image sent through the image example comes out redacted', async () => {
    const flow = exampleFlows().find((e) => e.name === 'image-redaction');
    assert.ok(flow, 'examples/image-redaction.json exists');
    // The picture: rendered by the browser itself, saved as the JPEG that REDACT_INPUT names.
    const scene = await browser.newPage({ viewport: { width: SCENE.width, height: SCENE.height } });
    await scene.setContent(sceneHtml);
    await scene.screenshot({ path: input(), type: 'jpeg', quality: 92 });
    await scene.close();

    const tab = flow.flow.find((n) => n.type === 'tab') as { id: string };
    await page.evaluate((t: string) => RED.workspaces.show(t), tab.id);
    const segment = flow.flow.find((n) => n.type === 'sam3-segment') as { id: string };
    const inject = flow.flow.find((n) => n.type === 'inject') as { id: string };

    // The fixture model segments colours: ask for "red", as a user edits the prompt list.
    await openEditor(segment.id);
    await screenshot('edit-dialog-example', 'edit-dialog.png');
    const rows = page.locator('#node-input-prompt-list .node-input-prompt-text');
    // The example names no prompts (the installed defaults apply): the user adds a row.
    if ((await rows.count()) === 0) await page.locator('.red-ui-editableList:has(#node-input-prompt-list) .red-ui-editableList-addButton').click();
    await rows.first().fill('red');
    while ((await rows.count()) > 1) await page.locator('#node-input-prompt-list .red-ui-editableList-item-remove').last().click();
    await screenshot('edit-dialog-red');
    await page.click('#node-dialog-ok');
    await page.locator('#node-dialog-ok').waitFor({ state: 'detached' });
    await deploy();
    await page.locator(`[id="${segment.id}"] .red-ui-flow-node-status-label`).filter({ hasText: /\S/ }).first().waitFor({ timeout: 30_000 }).catch(() => undefined);

    const output = path.join(outDir, 'redacted.jpeg');
    await page.locator(`[id="${inject.id}"] .red-ui-flow-node-button-button`).click();
    await waitFor(`${output} to be written`, () => existsSync(output) && readFileSync(output).length > 0, 60_000);
    // What the user sees: the flow with its node statuses, and the debug sidebar's audit of what was hidden.
    const debugTab = page.locator('#red-ui-tab-debug-link-button');
    if (await debugTab.count()) await debugTab.click();
    else await page.evaluate(() => RED.sidebar.show('debug'));
    await page.locator('.red-ui-debug-msg').first().waitFor({ timeout: 20_000 });
    await page.click('#red-ui-view-zoom-out');
    await quiet();
    await screenshot('deployed-image-redaction-ran', 'editor.png');
    await page.click('#red-ui-view-zoom-reset').catch(() => undefined);

    const W = SCENE.width, H = SCENE.height;
    const before = await sharp(input()).raw().toBuffer();
    const out = await sharp(output).raw().toBuffer({ resolveWithObject: true });
    assert.deepEqual([out.info.width, out.info.height], [W, H], 'same size out');
    const r = SCENE.red;
    const inner = { x: r.x + 20, y: r.y + 20, width: r.width - 40, height: r.height - 40 };
    const detail = [roughness(before, W, inner), roughness(out.data, W, inner)];
    assert.ok(detail[0] > 2 && detail[1] < detail[0] / 3, `the text on the red region is blurred away (detail before/after: ${detail.map((d) => d.toFixed(1)).join(' / ')})`);
    let diff = 0, n = 0;
    for (let y = 380; y < 520; y++) for (let x = 80; x < 420; x++) for (let c = 0; c < 3; c++, n++) diff += Math.abs(before[(y * W + x) * 3 + c] - out.data[(y * W + x) * 3 + c]);
    assert.ok(diff / n < 4, `the visible text box is untouched but for JPEG re-encoding (${(diff / n).toFixed(1)} levels on average)`);

    if (docsImages) {
      await sharp(input()).png().toFile(path.join(docsImages, 'before.png'));
      await sharp(output).png().toFile(path.join(docsImages, 'after.png'));
    }
    await fs.copyFile(input(), path.join(artifacts, 'before.jpg'));
    await fs.copyFile(output, path.join(artifacts, 'after.jpg'));
    problems.none('running the image example');
  });

  /** The zone drawn in the tests below, relative to the picture: the notice board at the top left of the scene. */
  const ZONE = [[0.04, 0.06], [0.42, 0.06], [0.42, 0.47], [0.04, 0.47]] as const;

  /** Opens mask-blur's dialog, shows the scene as its picture, clicks the zone's corners and closes it on the first one. */
  async function drawZone(id: string, name: string): Promise<void> {
    await openEditor(id);
    await page.setInputFiles('#mask-blur-zone-file', input());
    // The picture is read in the browser: the canvas takes its proportions once it has loaded.
    await waitFor('the picture in the zone canvas', () => page.evaluate(() => { const c = $('#mask-blur-zone-canvas')[0]; return Math.abs(c.width / c.height - 1.6) < 0.02; }));
    const canvas = page.locator('#mask-blur-zone-canvas');
    await canvas.scrollIntoViewIfNeeded();
    const box = await canvas.boundingBox();
    assert.ok(box, 'the zone canvas is shown');
    for (const [x, y] of [...ZONE, ZONE[0]]) await canvas.click({ position: { x: x * box.width, y: y * box.height } });
    await page.locator('#mask-blur-zone-list .mask-blur-zone-name').first().fill(name);
  }

  /** Shows an example's tab (imported by the tests above) and names its mask-blur and inject nodes. */
  async function showExample(name: string): Promise<{ blur: string; inject: string }> {
    const flow = exampleFlows().find((e) => e.name === name)?.flow;
    assert.ok(flow, `examples/${name}.json exists`);
    const idOf = (type: string): string => (flow.find((n) => n.type === type) as { id: string }).id;
    await page.evaluate((t: string) => RED.workspaces.show(t), idOf('tab'));
    return { blur: idOf('mask-blur'), inject: idOf('inject') };
  }

  const zonesOf = (id: string): Promise<Array<{ name?: string; points: number[][] }>> => page.evaluate((i: string) => RED.nodes.node(i).zones, id);

  test('a privacy zone drawn in the mask-blur dialog: Cancel and undo behave, and deployed it is hidden in a photo of another size', async () => {
    const { blur, inject } = await showExample('image-redaction');

    // In the dialog: a corner dragged moves, the delete button removes the zone; Cancel keeps the zones as they were.
    await drawZone(blur, 'notice board');
    const working = (): Promise<Array<{ points: number[][] }>> => page.evaluate((id: string) => RED.nodes.node(id)._zoneEditor.result(), blur);
    const canvas = page.locator('#mask-blur-zone-canvas');
    const box = await canvas.boundingBox();
    assert.ok(box);
    await page.mouse.move(box.x + ZONE[2][0] * box.width, box.y + ZONE[2][1] * box.height);
    await page.mouse.down();
    await page.mouse.move(box.x + 0.6 * box.width, box.y + 0.7 * box.height, { steps: 5 });
    await page.mouse.up();
    const dragged = (await working())[0].points[2];
    assert.ok(Math.abs(dragged[0] - 0.6) < 0.01 && Math.abs(dragged[1] - 0.7) < 0.01, `the dragged corner moved: ${dragged}`);
    await page.click('#mask-blur-zone-list .mask-blur-zone-delete');
    assert.deepEqual(await working(), [], 'the zone is deleted');
    await page.click('#node-dialog-cancel');
    await page.locator('#node-dialog-ok').waitFor({ state: 'detached' });
    assert.deepEqual(await zonesOf(blur), []);

    // Done saves it; the editor's undo takes it back.
    await drawZone(blur, 'notice board');
    await page.click('#node-dialog-ok');
    await page.locator('#node-dialog-ok').waitFor({ state: 'detached' });
    const saved = await zonesOf(blur);
    assert.equal(saved.length, 1);
    assert.equal(saved[0].name, 'notice board');
    saved[0].points.forEach((p, i) => assert.ok(Math.abs(p[0] - ZONE[i][0]) < 0.01 && Math.abs(p[1] - ZONE[i][1]) < 0.01, `corner ${i} where it was clicked: ${p}`));
    await page.locator('#red-ui-workspace-chart').click({ position: { x: 5, y: 5 } });
    await page.keyboard.press('Control+z');
    await waitFor('undo to take the zone back', async () => (await zonesOf(blur)).length === 0);

    // Drawn again, with the dialog kept for the README's picture, and deployed.
    await drawZone(blur, 'notice board');
    await page.locator('#mask-blur-zone-area').scrollIntoViewIfNeeded();
    const tray = await page.locator('.red-ui-tray').last().boundingBox();
    await screenshot('zones-dialog', 'zones-dialog.png', tray ?? undefined);
    await page.click('#node-dialog-ok');
    await page.locator('#node-dialog-ok').waitFor({ state: 'detached' });
    // Exported and imported again (as a user copies a flow to another Node-RED), the zone comes along.
    const copied = await page.evaluate((id: string) => {
      const set = RED.nodes.createExportableNodeSet([RED.nodes.node(id)]);
      const before = new Set(RED.nodes.filterNodes({ type: 'mask-blur' }).map((n: any) => n.id));
      RED.nodes.import(JSON.parse(JSON.stringify(set)), { generateIds: true });
      const copy = RED.nodes.filterNodes({ type: 'mask-blur' }).find((n: any) => !before.has(n.id));
      const zones = copy?.zones;
      if (copy) RED.nodes.remove(copy.id);
      return zones;
    }, blur);
    assert.deepEqual(copied, await zonesOf(blur), 'the zone survives export and import');
    await deploy();

    // A photo of the same view at another size: the zone is relative, so it lands on the same board.
    const W = 1440, H = 900;
    const original = path.join(work, 'scene-960.jpg');
    await fs.copyFile(input(), original);
    await sharp(original).resize(W, H).jpeg({ quality: 92 }).toFile(input());
    const output = path.join(outDir, 'redacted.jpeg');
    await fs.rm(output, { force: true });
    await page.locator(`[id="${inject}"] .red-ui-flow-node-button-button`).click();
    await waitFor(`${output} to be written`, () => existsSync(output) && readFileSync(output).length > 0, 60_000);
    const before = await sharp(input()).raw().toBuffer();
    const after = await sharp(output).raw().toBuffer({ resolveWithObject: true });
    assert.deepEqual([after.info.width, after.info.height], [W, H]);
    const inner = { x: Math.round(0.08 * W), y: Math.round(0.1 * H), width: Math.round(0.3 * W), height: Math.round(0.32 * H) };
    const detail = [roughness(before, W, inner), roughness(after.data, W, inner)];
    assert.ok(detail[0] > 1 && detail[1] < detail[0] / 3, `the notice board's text is blurred away (detail before/after: ${detail.map((d) => d.toFixed(2)).join(' / ')})`);
    await fs.copyFile(original, input());
    problems.none('drawing a privacy zone');
  });

  test('a privacy zone drawn in the video example is hidden in every frame', async () => {
    const { blur, inject } = await showExample('video-redaction');
    await drawZone(blur, 'notice board');
    await page.click('#node-dialog-ok');
    await page.locator('#node-dialog-ok').waitFor({ state: 'detached' });
    await deploy();

    // The video example reads REDACT_VIDEO_INPUT: a second of the scene at 640 x 400.
    const clip = path.join(work, 'none.mp4');
    const made = spawnSync(resolveFfmpegPath(), ['-v', 'error', '-y', '-loop', '1', '-i', input(), '-t', '1', '-r', '10', '-vf', 'scale=640:400', '-c:v', 'libx264', '-preset', 'ultrafast', '-pix_fmt', 'yuv420p', clip]);
    assert.equal(made.status, 0, made.stderr.toString());
    const output = path.join(outDir, 'none-redacted.mp4');
    await page.locator(`[id="${inject}"] .red-ui-flow-node-button-button`).click();
    await waitFor(`${output} to be written`, () => existsSync(output), 120_000);
    const inner = { x: Math.round(0.08 * 640), y: Math.round(0.1 * 400), width: Math.round(0.3 * 640), height: Math.round(0.32 * 400) };
    const source: number[] = [];
    for await (const f of await openFrameReader(clip)) source.push(roughness(f.frame.data, f.frame.width, inner));
    let frames = 0;
    for await (const f of await openFrameReader(output)) {
      const detail = roughness(f.frame.data, f.frame.width, inner);
      assert.ok(detail < source[f.index] / 3, `frame ${f.index}: the notice board is blurred (detail ${source[f.index].toFixed(2)} -> ${detail.toFixed(2)})`);
      frames++;
    }
    assert.equal(frames, source.length, 'every frame is there');
    problems.none('a privacy zone in video');
  });
});
