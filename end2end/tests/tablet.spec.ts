// Issue #3: a commander on a tablet — map first, touch targets of at least 44 px, a long press on
// the map places an incident, one tap acknowledges a flash message.
import { test, expect } from "@playwright/test";
import { PASSWORD, signIn, signInEnrolling, startVigie, stopVigie, Vigie } from "./support/server";
import { post, seedRoom } from "./support/seed";

let vigie: Vigie;
test.beforeAll(async () => {
  vigie = await startVigie("serve", { VIGIE_STALE_AFTER_S: "3600" });
  await seedRoom(vigie);
});
test.afterAll(async () => stopVigie(vigie));

test("a commander's tablet: map first, big targets, long-press to place, one-tap acknowledge", async ({ page }, info) => {
  await signIn(page, vigie, "bspp");
  await expect(page.getByTestId("link")).toHaveText("live");
  const map = page.getByTestId("map");
  await expect(map).toHaveAttribute("data-ready", "true", { timeout: 20_000 });

  const mapBox = (await map.boundingBox())!;
  const queueBox = (await page.getByTestId("incident-queue").boundingBox())!;
  expect(mapBox.y).toBeLessThan(queueBox.y); // the map comes first
  expect(mapBox.width).toBeGreaterThan(page.viewportSize()!.width * 0.9);
  for (const target of [page.getByTestId("tab-units"), page.getByTestId("new-incident"), page.getByTestId("unit-search")]) {
    expect((await target.boundingBox())!.height).toBeGreaterThanOrEqual(44);
  }

  // A long press (600 ms) on the map opens the new-incident form at that place.
  const cdp = await page.context().newCDPSession(page);
  const x = mapBox.x + mapBox.width / 2;
  const y = mapBox.y + mapBox.height / 2;
  await cdp.send("Input.dispatchTouchEvent", { type: "touchStart", touchPoints: [{ x, y }] });
  await page.waitForTimeout(900);
  await cdp.send("Input.dispatchTouchEvent", { type: "touchEnd", touchPoints: [] });
  await expect(page.getByTestId("place-incident")).toBeVisible();
  await page.screenshot({ path: info.outputPath("tablet-place.png") });
  await page.getByTestId("create-incident").tap();
  await expect(page.getByTestId("incident-queue").locator("li")).toHaveCount(1);

  await post(vigie, "/api/v1/messages", {
    channel_id: "room", priority: "flash", body: "Evacuate sector 4 now", ack_required: true,
  }, "pp");
  const ack = page.getByTestId("flash-ack");
  await expect(ack).toBeVisible();
  expect((await ack.boundingBox())!.height).toBeGreaterThanOrEqual(44);
  await page.screenshot({ path: info.outputPath("tablet-flash.png") });
  await ack.tap();
  await expect(page.getByTestId("flash-banner")).toHaveCount(0);
  await page.screenshot({ path: info.outputPath("tablet.png"), fullPage: true });

  // Panels fold away, leaving the map and the summary.
  await page.getByTestId("collapse-incidents").tap();
  await expect(page.getByTestId("incident-queue")).toBeHidden();
  await page.getByTestId("collapse-side").tap();
  await expect(page.getByTestId("unit-search")).toBeHidden();
  await page.getByTestId("collapse-incidents").tap();
  await expect(page.getByTestId("incident-queue")).toBeVisible();
});

test("a replay on a tablet: the trainer's controls are touch-sized and the map comes first", async ({ page }, info) => {
  const now = Date.now();
  const started = await post(vigie, "/api/v1/replays", { from_ms: now - 10 * 60_000, to_ms: now + 60_000, title: "Tablet debrief" });
  await page.addInitScript(([id, key]) => localStorage.setItem(`vigie.trainer.${id}`, key), [started.session_id, started.trainer_key]);
  await signIn(page, vigie, "pp", `/replay/${started.session_id}`);
  await expect(page.getByTestId("replay-badge")).toBeVisible();
  const map = page.getByTestId("map");
  await expect(map).toHaveAttribute("data-ready", "true", { timeout: 20_000 });
  await expect(page.getByTestId("replay-play")).toBeVisible();
  expect((await map.boundingBox())!.y).toBeLessThan((await page.getByTestId("incident-queue").boundingBox())!.y);
  for (const id of ["replay-play", "replay-step-back", "replay-step-forward", "replay-speed", "replay-scrub", "pin-add"]) {
    expect((await page.getByTestId(id).boundingBox())!.height, id).toBeGreaterThanOrEqual(44);
  }
  // The slider at the end of the window: the seeded units are there.
  const end = Number(await page.getByTestId("replay-scrub").getAttribute("max"));
  await page.getByTestId("replay-scrub").fill(String(end));
  await expect(page.getByTestId("units-total")).toHaveText("5");
  await page.screenshot({ path: info.outputPath("tablet-replay.png"), fullPage: true });
  // The search, one tap away, finds in the replay's room: a tap on a unit opens its card.
  const search = page.getByTestId("search");
  expect((await search.boundingBox())!.height).toBeGreaterThanOrEqual(44);
  await search.tap();
  await page.keyboard.type("ps 11");
  const hit = page.getByTestId("search-hit").first();
  await expect(hit).toContainText("PS-11");
  await page.screenshot({ path: info.outputPath("tablet-replay-search.png") });
  await hit.tap();
  await expect(page.getByTestId("unit-detail")).toContainText("PS-11");
});

test("signing in on a tablet: big fields, a clear refusal, then the room; signing out ends the session", async ({ page }, info) => {
  await page.goto(`${vigie.url}/`);
  await expect(page).toHaveURL(/\/signin\?next=\/$/);
  const form = page.getByTestId("signin");
  await expect(form).toHaveAttribute("data-ready", "true");
  for (const id of ["login", "password", "signin-submit"]) {
    expect((await page.getByTestId(id).boundingBox())!.height, id).toBeGreaterThanOrEqual(44);
  }
  await expect(page.getByTestId("demo-accounts")).toHaveCount(0); // not a demo: no accounts offered
  await page.getByTestId("login").fill("bspp");
  await page.getByTestId("password").fill("not the password");
  await page.getByTestId("signin-submit").tap();
  await expect(page.getByTestId("signin-error")).toHaveText("Wrong login or password");
  await page.screenshot({ path: info.outputPath("signin-tablet.png") });
  await page.getByTestId("password").fill(PASSWORD);
  await page.getByTestId("signin-submit").tap();
  await expect(page.getByTestId("operator-user")).toHaveText("bspp");
  await expect(page.getByTestId("operator-agency")).toHaveText("BSPP");
  await expect(page.getByTestId("link")).toHaveText("live");
  await page.screenshot({ path: info.outputPath("room-signed-in-tablet.png") });
  await page.getByTestId("sign-out").tap();
  await expect(page).toHaveURL(/\/signin/);
  await page.goto(`${vigie.url}/overview`);
  await expect(page).toHaveURL(/\/signin\?next=\/overview$/);
});

test("the admin page on a tablet, after setting up the second factor", async ({ page }, info) => {
  await signInEnrolling(page, vigie, "admin", "/admin");
  await expect(page.getByTestId("admin")).toHaveAttribute("data-ready", "true");
  await expect(page.getByTestId("account-bspp")).toBeVisible();
  await page.screenshot({ path: info.outputPath("admin-tablet.png"), fullPage: true });
});

test("a commander's tablet: one tap opens the search, a tap on a hit shows it", async ({ page }, info) => {
  await signIn(page, vigie, "bspp");
  await expect(page.getByTestId("map")).toHaveAttribute("data-ready", "true", { timeout: 20_000 });
  const search = page.getByTestId("search");
  expect((await search.boundingBox())!.height).toBeGreaterThanOrEqual(44);
  await search.tap();
  await expect(search).toBeFocused();
  await page.keyboard.type("vsav");
  const hit = page.getByTestId("search-hit").first();
  await expect(hit).toContainText("VSAV-1");
  expect((await hit.boundingBox())!.height).toBeGreaterThanOrEqual(44);
  await page.screenshot({ path: info.outputPath("search-tablet.png") });
  await hit.tap();
  await expect(page.getByTestId("unit-detail")).toContainText("VSAV-1");
});
