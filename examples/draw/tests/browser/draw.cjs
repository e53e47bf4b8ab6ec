// Draws digits on the draw server's page in headless Chromium (Debian's, driven by
// playwright-core) and prints, as JSON, the class the page showed for each.
//
//   NODE_PATH=$(scripts/setup-browser.sh) node draw.cjs http://127.0.0.1:PORT SCREENSHOT.png
"use strict";
const { chromium } = require("playwright-core");

// Each digit as polylines in the pad's 280x280 coordinates.
const DIGITS = {
  1: [[[140, 45], [140, 235]]],
  7: [[[75, 60], [205, 60], [120, 235]]],
  0: [ellipse(140, 140, 62, 95, 28)],
  3: [[[85, 65], [135, 45], [185, 70], [180, 115], [130, 138], [185, 165], [190, 210],
       [140, 238], [85, 220]]],
};

function ellipse(cx, cy, rx, ry, steps) {
  const points = [];
  for (let i = 0; i <= steps; i += 1) {
    const angle = (2 * Math.PI * i) / steps;
    points.push([cx + rx * Math.sin(angle), cy - ry * Math.cos(angle)]);
  }
  return points;
}

async function draw(page, box, strokes) {
  const scaleX = box.width / 280;
  const scaleY = box.height / 280;
  for (const stroke of strokes) {
    const at = ([x, y]) => [box.x + x * scaleX, box.y + y * scaleY];
    await page.mouse.move(...at(stroke[0]));
    await page.mouse.down();
    for (const point of stroke.slice(1)) {
      await page.mouse.move(...at(point), { steps: 8 });
    }
    await page.mouse.up();
  }
}

async function shownClass(page) {
  // The page answers each stroke; wait until it has answered the last one.
  await page.waitForFunction(() => document.getElementById("answer").dataset.class !== "");
  await page.waitForTimeout(400);
  return page.$eval("#answer", (answer) => Number(answer.dataset.class));
}

async function main() {
  const [url, screenshot] = process.argv.slice(2);
  const browser = await chromium.launch({
    executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
    headless: true,
    args: ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
           "--disable-component-update", "--no-first-run", "--disable-sync"],
  });
  try {
    const page = await browser.newPage({ viewport: { width: 1000, height: 480 } });
    const errors = [];
    page.on("pageerror", (error) => errors.push(String(error)));
    await page.goto(url);
    await page.waitForFunction(() => document.querySelectorAll("#bars .bar").length === 10);
    const pad = await page.$("#pad");
    const box = await pad.boundingBox();
    const results = [];
    const digits = Object.keys(DIGITS);
    for (const [index, digit] of digits.entries()) {
      await draw(page, box, DIGITS[digit]);
      const shown = await shownClass(page);
      const topBar = await page.$eval("#bars .bar.top", (bar) => Number(bar.dataset.class));
      results.push({ drawn: Number(digit), shown, top_bar: topBar });
      if (index < digits.length - 1) {
        await page.click("#clear");
        const cleared = await page.$eval("#answer", (answer) => answer.dataset.class);
        results[results.length - 1].cleared = cleared === "";
      } else if (screenshot) {
        await page.screenshot({ path: screenshot });
      }
    }
    console.log(JSON.stringify({ results, errors }));
  } finally {
    await browser.close();
  }
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
