// Renders an `aurora report` page in Debian's headless Chromium and checks it:
// no console error, no failed request (the page must not touch the network),
// every chart present with marks in it. Saves a full-page screenshot.
//
//   node check-report.mjs REPORT.html SCREENSHOT.png chart[,chart…]
import { chromium } from 'playwright-core';
import { pathToFileURL } from 'node:url';
import { resolve } from 'node:path';

const [html, shot, wanted] = process.argv.slice(2);
if (!html || !shot || !wanted) {
  console.error('usage: node check-report.mjs REPORT.html SCREENSHOT.png map,heatmap,…');
  process.exit(2);
}
const charts = wanted.split(',').filter(Boolean);

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
  args: [
    '--headless',
    '--no-sandbox',
    '--disable-gpu',
    '--disable-background-networking',
    '--disable-component-update',
    '--disable-sync',
    '--no-first-run',
  ],
});
const problems = [];
try {
  const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  page.on('console', (m) => {
    if (m.type() === 'error') problems.push(`console error: ${m.text()}`);
  });
  page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
  page.on('request', (r) => {
    if (!r.url().startsWith('file:') && !r.url().startsWith('data:')) {
      problems.push(`network request: ${r.url()}`);
    }
  });
  page.on('requestfailed', (r) => problems.push(`request failed: ${r.url()}`));
  await page.goto(pathToFileURL(resolve(html)).href, { waitUntil: 'load' });

  // Open every taxonomy node so that the screenshot shows the whole tree.
  await page.evaluate(() => document.querySelectorAll('details').forEach((d) => { d.open = true; }));

  const counts = await page.evaluate((names) => {
    const out = {};
    for (const n of names) {
      const el = document.querySelector(`[data-chart="${n}"]`);
      if (!el) { out[n] = { present: false, marks: 0, width: 0, height: 0 }; continue; }
      const box = el.getBoundingClientRect();
      const marks = el.querySelectorAll('.mark').length;
      out[n] = { present: true, marks, width: Math.round(box.width), height: Math.round(box.height) };
    }
    return out;
  }, charts);
  for (const n of charts) {
    const c = counts[n];
    console.log(`${n.padEnd(18)} ${c.present ? `${String(c.marks).padStart(5)} marks, ${c.width}×${c.height} px` : 'MISSING'}`);
    if (!c.present) problems.push(`chart ${n} is missing`);
    else if (c.marks === 0) problems.push(`chart ${n} has no marks`);
    else if (c.width === 0 || c.height === 0) problems.push(`chart ${n} has no size`);
  }
  await page.screenshot({ path: shot, fullPage: true });
  // One picture per chart too, to look at each at full size.
  for (const n of charts) {
    const el = await page.$(`[data-chart="${n}"]`);
    if (el) await el.screenshot({ path: shot.replace(/\.png$/, `-${n}.png`) });
  }
  console.log(`screenshots: ${shot} and one per chart beside it`);
} finally {
  await browser.close();
}
if (problems.length) {
  for (const p of problems) console.error(`FAIL ${p}`);
  process.exit(1);
}
console.log('report OK');
