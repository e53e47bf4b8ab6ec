// Screenshots of TensorBoard's Scalars and HParams views (see tensorboard-screenshot.sh).
"use strict";
const { chromium } = require("playwright-core");

async function main() {
  const [url, out] = process.argv.slice(2);
  const browser = await chromium.launch({
    executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
    headless: true,
    args: ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
           "--disable-component-update", "--no-first-run", "--disable-sync"],
  });
  try {
    const page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
    await page.goto(`${url}/#scalars&_smoothingWeight=0&tagFilter=accuracy`);
    await page.waitForLoadState("networkidle", { timeout: 60000 });
    await page.waitForTimeout(6000);
    await page.screenshot({ path: `${out}/tensorboard.png` });
    await page.goto(`${url}/#hparams`);
    await page.waitForTimeout(6000);
    await page.screenshot({ path: `${out}/tensorboard-hparams.png` });
  } finally {
    await browser.close();
  }
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
