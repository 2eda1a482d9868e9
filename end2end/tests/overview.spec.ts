// Issue #2: the first page is rendered by the server, hydrates, and its figures change live.
import { test, expect } from "@playwright/test";
import { signIn, startVigie, stopVigie, Vigie } from "./support/server";

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
  // The auditor sees the whole room (hidden units included).
  await signIn(page, vigie, "auditor", "/overview", "demo");
  // The demo registers its 327 units as it starts (a loaded machine may still be at it when the
  // first page is asked for); SSR shows them without wasm, as many as the log holds.
  await expect
    .poll(async () => {
      await page.reload();
      return Number(await page.getByTestId("units-total").textContent());
    }, { timeout: 20_000 })
    .toBeGreaterThanOrEqual(300);
  await expect(page.getByTestId("link")).toHaveText("connecting");
  await context.close();
});

test("the page hydrates and its figures change live", async ({ page }, testInfo) => {
  const errors: string[] = [];
  page.on("pageerror", (e) => errors.push(e.message));
  page.on("console", (m) => m.type() === "error" && errors.push(m.text()));
  await signIn(page, vigie, "auditor", "/overview", "demo");
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

test("the demo's sign-in page offers its accounts for one click, and need-to-know shows in its room", async ({ browser }, info) => {
  const context = await browser.newContext();
  const page = await context.newPage();
  await page.goto(vigie.url);
  await expect(page).toHaveURL(/\/signin\?next=\/$/);
  await expect(page.getByTestId("signin")).toHaveAttribute("data-ready", "true");
  for (const login of ["pp.dispatcher", "bspp.dispatcher", "samu.dispatcher", "gn.dispatcher", "nypd.dispatcher",
    "fdny.dispatcher", "nypd.commander", "pp.commander", "bka.liaison", "fbi.liaison", "trainer", "auditor", "admin"]) {
    await expect(page.getByTestId(`demo-${login}`)).toBeVisible();
  }
  await page.screenshot({ path: info.outputPath("signin-demo-desktop.png"), fullPage: true });
  await page.getByTestId("demo-pp.dispatcher").click();
  await expect(page.getByTestId("operator-user")).toHaveText("pp.dispatcher");
  await expect(page.getByTestId("link")).toHaveText("live");
  // The PP sees its intervention teams (BRI), marked hidden from the liaisons…
  await page.getByTestId("unit-search").fill("BRI-01");
  await expect(page.getByTestId("unit-BRI-01")).toBeVisible();
  await page.getByTestId("unit-BRI-01").getByRole("button", { name: "BRI-01" }).click();
  await expect(page.getByTestId("hidden-from")).toContainText("BKA");
  await page.screenshot({ path: info.outputPath("room-pp-dispatcher.png") });
  await page.getByTestId("sign-out").click();
  await expect(page).toHaveURL(/\/signin/);
  // …the BKA liaison never receives them.
  await expect(page.getByTestId("signin")).toHaveAttribute("data-ready", "true");
  await page.getByTestId("demo-bka.liaison").click();
  await expect(page.getByTestId("operator-user")).toHaveText("bka.liaison");
  await expect(page.getByTestId("link")).toHaveText("live");
  await page.getByTestId("unit-search").fill("BRI");
  await expect(page.getByTestId("unit-BRI-01")).toHaveCount(0);
  expect(await page.content()).not.toContain("BRI-0");
  await page.screenshot({ path: info.outputPath("room-bka-liaison.png") });
  await context.close();
});
