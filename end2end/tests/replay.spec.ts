// Issue #4: a trainer replays a past exercise; trainees follow the trainer's clock.
import { test, expect, Page } from "@playwright/test";
import { signIn, startVigie, stopVigie, Vigie } from "./support/server";
import { post, seedRoom } from "./support/seed";

let vigie: Vigie;
let ids: Record<string, number>;
let created: { first: number; second: number };

test.beforeEach(async () => {
  vigie = await startVigie("serve", { VIGIE_STALE_AFTER_S: "3600" });
  ids = await seedRoom(vigie);
  // Two incidents a couple of seconds apart, the second one dispatched: the exercise to debrief.
  const a = await post(vigie, "/api/v1/incidents", { kind: "fire", priority: "P1", location: { lon: 2.347, lat: 48.8589 }, address: "Quai de Gesvres" }, "bspp");
  await new Promise((r) => setTimeout(r, 2_500));
  const b = await post(vigie, "/api/v1/incidents", { kind: "public_order", priority: "P2", location: { lon: 2.36, lat: 48.865 }, address: "Place de la République", lead_agency: "PP" });
  await post(vigie, `/api/v1/incidents/${b.incident_id}/assignments`, { unit_id: ids["PS-12"] });
  created = { first: a.incident_id, second: b.incident_id };
  await new Promise((r) => setTimeout(r, 1_000));
});
test.afterEach(async () => stopVigie(vigie));

function watch(page: Page, who: string) {
  page.on("pageerror", (e) => console.log(`[${who}] page error: ${e.message}`));
  page.on("console", (m) => m.type() === "error" && console.log(`[${who}] console: ${m.text()}`));
}

const replayMs = async (page: Page) => Number(await page.getByTestId("replay-time").getAttribute("data-ms"));
const mapUnits = (page: Page) => page.evaluate(() => (document.querySelector("[data-testid=map]") as any).roomMap.units.size);

test("a trainer scrubs the replay and the map and queue change; a trainee's screen follows", async ({ browser }, info) => {
  const trainerContext = await browser.newContext();
  const trainer = await trainerContext.newPage();
  watch(trainer, "trainer");
  await signIn(trainer, vigie, "pp", "/replay");
  await expect(trainer.getByTestId("replay-home")).toHaveAttribute("data-ready", "true");
  await trainer.getByTestId("replay-title").fill("Debrief Gesvres");
  await trainer.getByTestId("last-1h").click();
  await trainer.getByTestId("replay-start").click();
  await expect(trainer).toHaveURL(/\/replay\/[0-9a-f]{12}$/);
  const sessionUrl = trainer.url();
  await expect(trainer.getByTestId("replay-badge")).toBeVisible();
  await expect(trainer.getByTestId("link")).toHaveText("live");
  await expect(trainer.getByTestId("map")).toHaveAttribute("data-ready", "true", { timeout: 20_000 });
  // Paused at the start of the last hour: the room was empty then, and it is read-only.
  await expect(trainer.getByTestId("incident-queue").locator("li")).toHaveCount(0);
  await expect(trainer.getByTestId("units-total")).toHaveText("0");
  await expect(trainer.getByTestId("new-incident")).toBeHidden();

  // A trainee opens the shared link: same moment, no controls.
  const traineeContext = await browser.newContext();
  const trainee = await traineeContext.newPage();
  watch(trainee, "trainee");
  await signIn(trainee, vigie, "trainee", new URL(sessionUrl).pathname);
  await expect(trainee.getByTestId("following")).toBeVisible();
  await expect(trainee.getByTestId("replay-play")).toHaveCount(0);
  await expect(trainee.getByTestId("replay-scrub")).toBeDisabled();

  // Scrub to the end of the window: both incidents, the units on the map, for both screens.
  const end = Number(await trainer.getByTestId("replay-scrub").getAttribute("max"));
  await trainer.getByTestId("replay-scrub").fill(String(end));
  for (const page of [trainer, trainee]) {
    await expect(page.getByTestId("incident-queue").locator("li")).toHaveCount(2);
    await expect(page.getByTestId("units-total")).toHaveText("5");
    await expect.poll(() => mapUnits(page)).toBe(5);
  }
  await trainer.screenshot({ path: info.outputPath("replay-trainer-end.png") });

  // Jump to the first incident's creation from the timeline: only it exists at that moment.
  const firstItem = trainer.getByTestId("timeline").locator(".item.lane-incidents[title*=\"Quai de Gesvres\"]");
  await firstItem.click();
  for (const page of [trainer, trainee]) {
    await expect(page.getByTestId("incident-queue").locator("li")).toHaveCount(1);
    await expect(page.getByTestId("incident-queue")).toContainText("Quai de Gesvres");
  }
  expect(Math.abs((await replayMs(trainee)) - (await replayMs(trainer)))).toBeLessThan(1_500);

  // The search box searches the replay's room at its moment: the second incident is not there yet.
  await trainee.keyboard.press("/");
  const search = trainee.getByTestId("search");
  await expect(search).toBeFocused();
  await trainee.keyboard.type("republique");
  await expect(trainee.getByTestId("search-none")).toBeVisible();
  await search.fill("gesvres");
  const hit = trainee.getByTestId("search-hit").first();
  await expect(hit).toHaveAttribute("data-kind", "incident");
  await expect(hit.locator("mark")).toHaveText("Gesvres");
  await trainee.screenshot({ path: info.outputPath("replay-search.png") });
  await trainee.keyboard.press("Enter");
  await expect(trainee.getByTestId("incident-detail")).toContainText("Quai de Gesvres");

  // Play at 60×: both clocks run together; the second incident appears; pause holds.
  await trainer.getByTestId("replay-speed").selectOption("60");
  await trainer.getByTestId("replay-play").click();
  for (const page of [trainer, trainee]) await expect(page.getByTestId("incident-queue").locator("li")).toHaveCount(2);
  await trainer.getByTestId("replay-play").click(); // pause
  await expect(trainee.getByTestId("speed-label")).toContainText("❚❚");
  const paused = await replayMs(trainee);
  await trainee.waitForTimeout(1_000);
  expect(await replayMs(trainee)).toBe(paused);
  expect(Math.abs(paused - (await replayMs(trainer)))).toBeLessThan(1_500);

  // A pinned note reaches the trainee; commands are refused in a replay.
  await trainer.getByTestId("pin-text").fill("Second call: PS-12 sent");
  await trainer.getByTestId("pin-add").click();
  await expect(trainee.getByTestId("pins")).toContainText("Second call: PS-12 sent");
  await trainer.keyboard.press("n");
  await expect(trainer.getByTestId("place-incident")).toBeHidden();
  await trainee.screenshot({ path: info.outputPath("replay-trainee.png") });

  // Nothing of the replay reached the live log: the live room still has its two incidents.
  const live = await (await fetch(`${vigie.url}/api/v1/state`, { headers: { authorization: `Bearer ${vigie.tokens.pp}` } })).json();
  expect(Object.keys(live.state.incidents)).toHaveLength(2);
  await trainerContext.close();
  await traineeContext.close();
});

test("an incident's replay starts from its detail card, and an exercise travels by file", async ({ page }, info) => {
  watch(page, "dispatcher");
  await signIn(page, vigie, "pp");
  await expect(page.getByTestId("link")).toHaveText("live");
  await page.getByTestId("incident-queue").locator("li", { hasText: "République" }).click();
  await page.getByTestId("replay-this").click();
  await expect(page).toHaveURL(/\/replay\/[0-9a-f]{12}$/);
  await expect(page.getByTestId("replay-bar")).toContainText(`INC-${created.second}`);
  await expect(page.getByTestId("replay-time")).toBeVisible();

  // Export the last hour as a file, with progress, then import it back as a scenario.
  await page.goto(`${vigie.url}/replay`);
  await expect(page.getByTestId("replay-home")).toHaveAttribute("data-ready", "true");
  await page.getByTestId("replay-title").fill("Gesvres exercise");
  await page.getByTestId("last-1h").click();
  await page.getByTestId("export-start").click();
  await expect(page.getByTestId("replay-status")).toContainText("export done");
  const downloading = page.waitForEvent("download");
  await page.getByTestId("export-download").click();
  const file = await (await downloading).path();
  await page.getByTestId("import-file").setInputFiles(file!);
  await page.getByTestId("import-start").click();
  await expect(page.getByTestId("replay-status")).toContainText("import done");
  await page.getByTestId("replay-scenario").selectOption({ index: 1 });
  await page.getByTestId("replay-start").click();
  await expect(page).toHaveURL(/\/replay\/[0-9a-f]{12}$/);
  const end = Number(await page.getByTestId("replay-scrub").getAttribute("max"));
  await page.getByTestId("replay-scrub").fill(String(end));
  await expect(page.getByTestId("incident-queue").locator("li")).toHaveCount(2);
  await page.screenshot({ path: info.outputPath("replay-scenario.png") });
});

test("a backwards seek removes from the map the units that did not exist yet", async ({ page }) => {
  watch(page, "trainer");
  // A unit that joins after both incidents: at the first incident's moment it was not there.
  const late = await post(vigie, "/api/v1/units", { callsign: "LATE-1", agency: "PP", kind: "motorcycle" });
  await post(vigie, "/api/v1/positions", { reports: [{ unit_id: late.unit_id, lon: 2.352, lat: 48.861, reported_at_ms: Date.now() }] });
  await new Promise((r) => setTimeout(r, 1_000));
  await signIn(page, vigie, "pp", "/replay");
  await expect(page.getByTestId("replay-home")).toHaveAttribute("data-ready", "true");
  await page.getByTestId("last-1h").click();
  await page.getByTestId("replay-start").click();
  await expect(page).toHaveURL(/\/replay\/[0-9a-f]{12}$/);
  await expect(page.getByTestId("map")).toHaveAttribute("data-ready", "true", { timeout: 20_000 });
  const end = Number(await page.getByTestId("replay-scrub").getAttribute("max"));
  await page.getByTestId("replay-scrub").fill(String(end));
  await expect(page.getByTestId("units-total")).toHaveText("6");
  await expect.poll(() => mapUnits(page)).toBe(6);
  // Back to the first incident's creation: five units then, and five on the map.
  await page.getByTestId("timeline").locator(".item.lane-incidents[title*=\"Quai de Gesvres\"]").click();
  await expect(page.getByTestId("units-total")).toHaveText("5");
  await expect.poll(() => mapUnits(page)).toBe(5);
});
