// The console page in a real browser: Debian's chromium, headless, driven by puppeteer-core
// (which brings no browser of its own), opens the `url` console of an instance spawned through
// the REST API; noVNC connects over the page's WebSocket through the proxy to the simulated VM
// and draws its screen: the page says connected, its title names the VM, the canvas holds a
// picture (not one colour) and changes when a key is typed. A screenshot is kept under
// XCD_TEST_ARTIFACTS (default: <tmp>/xcd-test-artifacts). Chromium missing fails the test.
import { mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import puppeteer, { type Browser, type Page } from 'puppeteer-core';
import { startStack, type Stack } from '../helpers/stack';

// The page's globals, in the functions run in the browser (the test's TypeScript has no DOM).
declare const document: any;
declare const window: any;

const CHROMIUM = process.env.XCD_CHROMIUM ?? '/usr/bin/chromium';
const ARTIFACTS = process.env.XCD_TEST_ARTIFACTS ?? join(tmpdir(), 'xcd-test-artifacts');

let stack: Stack;
let browser: Browser | undefined;

beforeAll(async () => {
  stack = await startStack({
    driver: { consoles: { vnc: { listenHost: '127.0.0.1', ports: { min: 0, max: 0 } } } },
  });
  const template = (await stack.request('GET', '/v1/templates')).body.items[0].uuid;
  const res = await stack.request('PUT', '/v1/instances/page-1', {
    body: { template, vcpus: 1, memory_mb: 256 },
    headers: { prefer: 'wait=15' },
  });
  expect(res.body.status).toBe('succeeded');
});
afterAll(async () => {
  await browser?.close();
  await stack?.close();
});

/** Distinct colours of the noVNC canvas, sampled (the page's own pixels). */
function canvasColours(page: Page): Promise<number> {
  return page.evaluate(() => {
    const canvas = document.querySelector('canvas');
    if (!canvas || canvas.width === 0) return 0;
    const data = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height).data;
    const seen = new Set<number>();
    for (let i = 0; i < data.length; i += 4 * 7)
      seen.add((data[i] << 16) | (data[i + 1] << 8) | data[i + 2]);
    return seen.size;
  });
}

function canvasHash(page: Page): Promise<string> {
  return page.evaluate(() => document.querySelector('canvas').toDataURL());
}

test('the console page shows the VM screen in headless chromium and takes keys', async () => {
  const con = (await stack.request('GET', '/v1/instances/page-1/console?type=url')).body;
  expect(con.type).toBe('url');
  browser = await puppeteer.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'],
  });
  const page = await browser.newPage();
  await page.setViewport({ width: 900, height: 700 });
  const errors: string[] = [];
  page.on('pageerror', (err) => errors.push(String(err)));
  await page.goto(con.url, { waitUntil: 'load' });
  await page.waitForFunction(
    () =>
      (window as unknown as { consoleState?: { status: string } }).consoleState?.status ===
      'connected',
    { timeout: 30_000 },
  );
  const name = String(
    stack.sim.store.get(
      'VM',
      stack.sim.store.byUuid('VM', (await stack.request('GET', '/v1/instances/page-1')).body.uuid)!,
    ).name_label,
  );
  await page.waitForFunction(
    (n: string) => document.title === `console: ${n}`,
    { timeout: 30_000 },
    name,
  );
  expect(await page.$eval('#status', (e: any) => e.textContent)).toBe('connected');
  // the screen arrives: a picture, not a blank canvas
  for (let i = 0; i < 200 && (await canvasColours(page)) < 16; i++)
    await new Promise((r) => setTimeout(r, 100));
  expect(await canvasColours(page)).toBeGreaterThanOrEqual(16);
  expect(stack.driver.openConsoles({ namespace: 'alpha', instanceId: 'page-1' })).toBe(1);
  // keys typed in the page reach the VM, whose screen shows them
  const before = await canvasHash(page);
  await page.click('canvas');
  await page.keyboard.type('hi');
  for (let i = 0; i < 200 && (await canvasHash(page)) === before; i++)
    await new Promise((r) => setTimeout(r, 100));
  expect(await canvasHash(page)).not.toBe(before);
  mkdirSync(ARTIFACTS, { recursive: true });
  await page.screenshot({ path: join(ARTIFACTS, 'console-page.png') });
  expect(errors).toEqual([]);
  await page.close();
  for (let i = 0; i < 200 && stack.driver.openConsoles() > 0; i++)
    await new Promise((r) => setTimeout(r, 50));
  expect(stack.driver.openConsoles()).toBe(0);
}, 120_000);
