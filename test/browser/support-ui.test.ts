/**
 * Issue 8: a support person in the Temporal Web UI (headless Debian Chromium via playwright-core)
 * filters workflows by OrderStatus, finds the test's order, opens it and reads its summary and
 * current details. The screenshot is kept in docs/.
 */
import path from 'node:path';
import type { Browser } from 'playwright-core';
import { launchChromium } from '../support/browser';
import { call, customer, putProduct, uniqueSku } from '../support/api';

const SCREENSHOT = path.resolve(__dirname, '..', '..', 'docs', 'support-ui-order.png');
let browser: Browser;

beforeAll(async () => {
  browser = await launchChromium();
}, 60_000);
afterAll(() => browser?.close());

test('support filters by OrderStatus, opens the order and sees its summary and current details', async () => {
  const ui = process.env.TEST_TEMPORAL_UI_URL;
  if (!ui) throw new Error('the test stack runs the Web UI (TEST_TEMPORAL_UI_URL)');
  const sku = uniqueSku('ui');
  await putProduct(sku, { price: 4321, stock: 5, name: 'Support desk lamp', inventoryStrategy: 'on_order' });
  const who = customer();
  const order = (await call('POST', '/v1/orders', { as: who, body: { items: [{ sku, quantity: 2 }] } })).body
    .order;

  const page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
  const query = encodeURIComponent(`OrderStatus="PENDING_PAYMENT" AND CustomerId="${who.id}"`);
  // Visibility is eventually consistent: reload the filtered list until the order shows (bounded).
  const deadline = Date.now() + 30_000;
  let found = false;
  while (!found && Date.now() < deadline) {
    await page.goto(`${ui}/namespaces/default/workflows?query=${query}`, { waitUntil: 'networkidle' });
    found = (await page.getByText(order.id, { exact: false }).count()) > 0;
  }
  expect(found).toBe(true);

  await page.locator(`a[href*="/workflows/${order.id}/"]`).first().click();
  await page.waitForURL(/\/workflows\/ord_/);
  await page.waitForLoadState('networkidle');
  // UI 2.x shows the summary and current details under "User Metadata".
  await page.getByText('User Metadata', { exact: true }).first().click();
  // The static summary, set when the order was started, and the current details, kept by the workflow.
  // The UI renders markdown metadata in sandboxed frames: look in every frame (bounded).
  const textOnPage = async () =>
    (
      await Promise.all(
        page.frames().map((f) =>
          f
            .locator('body')
            .innerText()
            .catch(() => ''),
        ),
      )
    ).join('\n');
  const wanted = [
    `standard order ${order.id}`,
    `customer ${who.id}`,
    '2 item(s) · total $94.42',
    'PENDING_PAYMENT',
    'Waiting for the customer to pay until',
    'Total $94.42, paid $0.00',
    `Ships from default (${sku} × 2)`,
  ];
  let text = '';
  for (const until = Date.now() + 20_000; Date.now() < until; await page.waitForTimeout(500)) {
    text = await textOnPage();
    if (wanted.every((w) => text.includes(w))) break;
  }
  for (const w of wanted) expect(text).toContain(w);
  await page.screenshot({ path: SCREENSHOT, fullPage: true });
  await page.close();
}, 90_000);
