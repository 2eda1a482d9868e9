// Issue #2: the first page is rendered by the server, hydrates, and its figures change live.
import { test, expect } from "@playwright/test";
import { startVigie, stopVigie, Vigie } from "./support/server";

let vigie: Vigie;
test.beforeAll(async () => {
  vigie = await startVigie("demo", { VIGIE_DEMO_TICK_MS: "500" });
});
test.afterAll(async () => stopVigie(vigie));

function seqOf(text: string | null): number {
  return Number((text ?? "").replace(/\D+/g, ""));
}

test("the server renders real figures before any script runs", async ({ browser }) => {
  const context = await browser.newContext({ javaScriptEnabled: false });
  const page = await context.newPage();
  await page.goto(`${vigie.url}/overview`);
  // The demo registers 325 units before it starts reporting; SSR shows them without wasm.
  const total = await page.getByTestId("units-total").textContent();
  expect(Number(total)).toBeGreaterThanOrEqual(300);
  await expect(page.getByTestId("link")).toHaveText("connecting");
  await context.close();
});

test("the page hydrates and its figures change live", async ({ page }, testInfo) => {
  const errors: string[] = [];
  page.on("pageerror", (e) => errors.push(e.message));
  page.on("console", (m) => m.type() === "error" && errors.push(m.text()));
  await page.goto(`${vigie.url}/overview`);
  // "live" is only shown once the wasm has hydrated and the WebSocket delivered its first frame.
  await expect(page.getByTestId("link")).toHaveText("live");
  const seq = page.getByTestId("seq");
  const first = seqOf(await seq.textContent());
  await expect.poll(async () => seqOf(await seq.textContent()), { timeout: 15_000 }).toBeGreaterThan(first + 20);
  // The counts follow the stream: units leave "available" as the exercise dispatches them.
  await expect
    .poll(async () => Number(await page.getByTestId("units-available").textContent()), { timeout: 30_000 })
    .toBeLessThan(325);
  await expect(page.getByTestId("recent-events").locator("li")).not.toHaveCount(0);
  // What the browser folded equals what the server holds, and nothing arrived out of order.
  await expect(seq).toHaveAttribute("data-anomalies", "0");
  await page.screenshot({ path: testInfo.outputPath("overview-desktop.png"), fullPage: true });
  expect(errors).toEqual([]);
});
