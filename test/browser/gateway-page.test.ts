import { existsSync } from "node:fs";
import { type Browser, chromium } from "playwright-core";
import { afterAll, beforeAll, expect, it } from "vitest";
import { type Mesh, startMesh } from "../../examples/order-mesh/mesh.js";

const executablePath = "/usr/bin/chromium";
let browser: Browser;
let mesh: Mesh;

beforeAll(async () => {
  if (!existsSync(executablePath))
    throw new Error(`${executablePath} is missing: apt-get install chromium`);
  mesh = await startMesh();
  browser = await chromium.launch({
    executablePath,
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"],
  });
}, 60_000);

afterAll(async () => {
  await browser?.close();
  await mesh?.close();
});

it("the demo page, served from another origin, reaches the order service through the gateway", async () => {
  // The page and the gateway are two origins (two ports): every call below is cross-origin.
  expect(new URL(mesh.web).origin).not.toBe(new URL(mesh.gateway.url).origin);
  const page = await browser.newPage();
  const failed: string[] = [];
  page.on("requestfailed", (r) =>
    failed.push(`${r.method()} ${r.url()} ${r.failure()?.errorText}`),
  );
  await page.goto(mesh.web);
  await page.click("#go");
  await page.waitForSelector("#done:has-text('done'), #error:not(:empty)", { timeout: 30_000 });
  expect(await page.textContent("#error")).toBe("");
  expect(await page.textContent("#connect")).toMatch(/^connect: ord_\d+ CONFIRMED$/);
  expect(await page.textContent("#grpc-web")).toMatch(/^grpc-web: ord_\d+ CONFIRMED$/);
  expect(await page.textContent("#rest")).toMatch(/^rest: 200 ord_\d+ ORDER_STATUS_CONFIRMED$/);
  // The streaming watch saw the order, then its cancellation (made through REST), and ended.
  expect(await page.textContent("#watch")).toBe("watch: CONFIRMED → CANCELLED");
  expect(failed).toEqual([]);
}, 60_000);
