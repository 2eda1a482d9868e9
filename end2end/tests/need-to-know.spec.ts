// Issue #12: need-to-know enforced on the server. A PP dispatcher and a BKA liaison at two screens:
// a restricted incident the PP opens never reaches the liaison — not its page, not one frame its
// page receives — until the PP shares it, and leaves again when the PP stops sharing.
import { test, expect, Page } from "@playwright/test";
import { signIn, startVigie, stopVigie, Vigie } from "./support/server";
import { post, seedRoom } from "./support/seed";

let vigie: Vigie;
test.beforeEach(async () => {
  vigie = await startVigie("serve", { VIGIE_STALE_AFTER_S: "3600" });
  await seedRoom(vigie);
  await post(vigie, "/api/v1/agencies", { code: "BKA", short_name: "BKA", full_name: "Bundeskriminalamt", kind: "liaison", country: "DE", colour: "#e0b000" }, "admin");
});
test.afterEach(async () => stopVigie(vigie));

/** Every WebSocket frame and HTTP answer the page receives, as text. */
function record(page: Page): string[] {
  const seen: string[] = [];
  page.on("websocket", (ws) => ws.on("framereceived", (f) => seen.push(String(f.payload))));
  page.on("response", async (r) => {
    try {
      seen.push(await r.text());
    } catch {
      // a redirect or an aborted answer has no body
    }
  });
  return seen;
}

test("a restricted incident reaches the liaison only while it is shared with BKA", async ({ browser }, info) => {
  const [ppContext, bkaContext] = [await browser.newContext(), await browser.newContext()];
  const [pp, bka] = [await ppContext.newPage(), await bkaContext.newPage()];
  const bkaSaw = record(bka);
  await signIn(pp, vigie, "pp");
  await signIn(bka, vigie, "bka");
  for (const page of [pp, bka]) {
    await expect(page.getByTestId("link")).toHaveText("live");
    await expect(page.getByTestId("map")).toHaveAttribute("data-ready", "true", { timeout: 20_000 });
  }
  await expect(bka.getByTestId("operator-agency")).toHaveText("BKA");

  // The PP opens a restricted incident from its map.
  const map = pp.getByTestId("map");
  const box = (await map.boundingBox())!;
  await map.click({ button: "right", position: { x: box.width / 2, y: box.height / 2 } });
  await pp.getByTestId("new-kind").selectOption("hostage");
  await pp.getByTestId("new-priority").selectOption("P1");
  await pp.getByTestId("new-address").fill("Operation Nightjar, 3 rue Secrète");
  await pp.getByTestId("new-restricted").check();
  await pp.getByTestId("create-incident").click();
  const row = pp.getByTestId("incident-queue").locator("li", { hasText: "Nightjar" });
  await expect(row).toBeVisible();
  await expect(row.getByTestId("restricted-badge")).toBeVisible();
  // An open incident the liaison may see, to prove its screen is live and up to date.
  await post(vigie, "/api/v1/incidents", { kind: "fire", priority: "P3", location: { lon: 2.34, lat: 48.85 }, address: "Quai ouvert" }, "bspp");
  await expect(bka.getByTestId("incident-queue")).toContainText("Quai ouvert");
  await expect(bka.getByTestId("incident-queue")).not.toContainText("Nightjar");
  expect(bkaSaw.join("\n")).not.toContain("Nightjar");
  await pp.screenshot({ path: info.outputPath("need-to-know-pp.png") });

  // Shared with BKA: on the liaison's screen within a second.
  await row.click();
  const card = pp.getByTestId("incident-detail");
  await expect(card.getByTestId("card-restricted")).toBeVisible();
  await card.getByTestId("share-pick").selectOption("BKA");
  await card.getByTestId("share").click();
  await expect(card.getByTestId("shared-BKA")).toBeVisible();
  await expect(bka.getByTestId("incident-queue")).toContainText("Nightjar", { timeout: 1_000 });
  await bka.screenshot({ path: info.outputPath("need-to-know-bka-shared.png") });

  // Unshared: it leaves the liaison's screen.
  await card.getByTestId("unshare-BKA").click();
  await expect(bka.getByTestId("incident-queue")).not.toContainText("Nightjar", { timeout: 2_000 });
  await expect(bka.getByTestId("seq")).toHaveAttribute("data-anomalies", "0");
  for (const c of [ppContext, bkaContext]) await c.close();
});

test("a session ended elsewhere sends the screen to sign in and back, and what was typed is still there", async ({ browser }) => {
  const context = await browser.newContext();
  const page = await context.newPage();
  await signIn(page, vigie, "bspp", "/");
  await expect(page.getByTestId("link")).toHaveText("live");
  await page.getByTestId("tab-messages").click();
  await page.getByTestId("compose-body").fill("Half-written report from sector 4");
  // Signing out from the same browser's other tab ends this session on the server.
  const other = await context.newPage();
  await other.request.delete(`${vigie.url}/api/v1/session`);
  await expect(page).toHaveURL(/\/signin\?next=%2F$/, { timeout: 5_000 });
  // Typed only once the form acts: hydration would clear what was filled into the server's page.
  await expect(page.getByTestId("signin")).toHaveAttribute("data-ready", "true");
  await page.getByTestId("login").fill("bspp");
  await page.getByTestId("password").fill("e2e correct horse battery");
  await page.getByTestId("signin-submit").click();
  await expect(page).toHaveURL(`${vigie.url}/`);
  await expect(page.getByTestId("link")).toHaveText("live");
  await page.getByTestId("tab-messages").click();
  await expect(page.getByTestId("compose-body")).toHaveValue("Half-written report from sector 4");
  await context.close();
});
