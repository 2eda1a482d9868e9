// Issue #3: the room's flows, each against the real binary on an empty room seeded over the API.
import { test, expect, Page, BrowserContext } from "@playwright/test";
import { signIn, startVigie, stopVigie, Vigie } from "./support/server";
import { post, seedRoom } from "./support/seed";

let vigie: Vigie;
let ids: Record<string, number>;

test.beforeEach(async () => {
  vigie = await startVigie("serve", { VIGIE_STALE_AFTER_S: "3600" });
  ids = await seedRoom(vigie);
});
test.afterEach(async () => stopVigie(vigie));

/** Signs in as `login` (BSPP's dispatcher by default) and waits for the live room. */
async function openRoom(page: Page, login = "bspp") {
  await page.addInitScript(() => {
    // Anything the Content-Security-Policy blocks (a script, the map's worker, a style) is recorded.
    const w = window as unknown as { cspViolations: string[] };
    w.cspViolations = [];
    document.addEventListener("securitypolicyviolation", (e) => w.cspViolations.push(`${e.violatedDirective} ${e.blockedURI}`));
  });
  page.on("pageerror", (e) => console.log(`[${login}] page error: ${e.message}`));
  page.on("console", (m) => m.type() === "error" && console.log(`[${login}] console: ${m.text()}`));
  await signIn(page, vigie, login);
  await expect(page.getByTestId("operator-user")).toHaveText(login);
  await expect(page.getByTestId("link")).toHaveText("live");
  await expect(page.getByTestId("map")).toHaveAttribute("data-ready", "true", { timeout: 20_000 });
  expect(await page.evaluate(() => (window as unknown as { cspViolations: string[] }).cspViolations)).toEqual([]);
}

test("create an incident on the map, then assign the recommended unit and see it dispatched", async ({ page }, info) => {
  await openRoom(page);
  await page.screenshot({ path: info.outputPath("room-desktop.png") });
  const map = page.getByTestId("map");
  const box = (await map.boundingBox())!;
  await map.click({ button: "right", position: { x: box.width / 2, y: box.height / 2 } });
  const form = page.getByTestId("place-incident");
  await expect(form).toBeVisible();
  await form.getByTestId("new-kind").selectOption("fire");
  await form.getByTestId("new-priority").selectOption("P1");
  await form.getByTestId("new-address").fill("12 rue de Rivoli");
  await form.getByTestId("create-incident").click();

  const row = page.getByTestId("incident-queue").locator("li").first();
  await expect(row).toContainText("12 rue de Rivoli");
  await expect(page.getByTestId("incidents-P1")).toHaveText("1");
  await row.click();
  const detail = page.getByTestId("incident-detail");
  // A fire: engines and ambulances fit, nearest first; patrol cars are not recommended.
  const recommended = detail.getByTestId("recommended").locator("li");
  await expect(detail.getByTestId("recommended")).toContainText("FPT-1");
  const km = await recommended.locator(".distance").allTextContents();
  expect(km.map(parseFloat)).toEqual([...km.map(parseFloat)].sort((a, b) => a - b));
  await expect(detail.getByTestId("recommended")).not.toContainText("PS-11");
  const first = (await recommended.first().locator(".callsign").textContent())!;
  await recommended.first().getByRole("button", { name: "Assign" }).click();
  await expect(detail.getByTestId("assigned")).toContainText(first);
  await expect(detail.getByTestId("incident-status")).toHaveText("dispatched");
  await page.getByTestId("unit-search").fill(first);
  await expect(page.getByTestId(`unit-${first}`).getByTestId("unit-status")).toHaveText("dispatched");
  await page.screenshot({ path: info.outputPath("room-incident.png") });
});

test("a change in one browser appears in another within a second", async ({ browser }) => {
  const a: BrowserContext = await browser.newContext();
  const b: BrowserContext = await browser.newContext();
  const pa = await a.newPage();
  const pb = await b.newPage();
  await openRoom(pa, "pp");
  await openRoom(pb, "bspp");
  await pa.getByTestId("unit-search").fill("PS-12");
  await pb.getByTestId("unit-search").fill("PS-12");
  await expect(pb.getByTestId("unit-PS-12").getByTestId("unit-status")).toHaveText("available");
  await pa.getByTestId("unit-PS-12").locator("select").selectOption("out_of_service");
  // From the moment A's change is made, B has one second to show it.
  await expect(pb.getByTestId("unit-PS-12").getByTestId("unit-status")).toHaveText("out of service", { timeout: 1_000 });
  await a.close();
  await b.close();
});

test("a flash message demands attention until acknowledged, and the sender sees who acknowledged", async ({ browser }) => {
  const contexts = [await browser.newContext(), await browser.newContext()];
  const [sender, receiver] = [await contexts[0].newPage(), await contexts[1].newPage()];
  await receiver.addInitScript(() => {
    // Count the tones the page plays.
    (window as any).__tones = 0;
    const Real = window.AudioContext;
    (window as any).AudioContext = class extends Real {
      constructor(...args: any[]) {
        super(...args);
        (window as any).__tones++;
      }
    };
  });
  await openRoom(sender, "pp");
  await openRoom(receiver, "bspp");
  await receiver.getByTestId("sound").click();
  await expect(receiver.getByTestId("sound")).toHaveAttribute("aria-pressed", "true");
  await sender.getByTestId("tab-messages").click();
  await sender.getByTestId("compose-priority").selectOption("flash");
  await sender.getByTestId("compose-body").fill("Second device suspected <b>near</b> the exit");
  await sender.getByTestId("compose-send").click();

  const banner = receiver.getByTestId("flash-banner");
  await expect(banner).toBeVisible();
  expect(await receiver.evaluate(() => (window as any).__tones)).toBe(1);
  // User text is text, never HTML.
  await expect(banner).toContainText("<b>near</b>");
  await expect(sender.getByTestId("flash-banner")).toHaveCount(0);
  await expect(sender.getByTestId("ack-state")).toHaveText("acknowledged by 0 of 1 agencies");
  await banner.getByTestId("flash-ack").click();
  await expect(banner).toHaveCount(0);
  await expect(sender.getByTestId("ack-state")).toHaveText("acknowledged by 1 of 1 agencies");
  for (const c of contexts) await c.close();
});

test("the server restarts during a session: the page recovers without reload, nothing lost or doubled", async ({ page }) => {
  await openRoom(page);
  await page.evaluate(() => ((window as any).__marker = "same page"));
  await vigie.stop();
  await expect(page.getByTestId("link")).toHaveText("reconnecting…");
  await vigie.restart();
  await expect(page.getByTestId("link")).toHaveText("live", { timeout: 20_000 });
  await post(vigie, "/api/v1/incidents", {
    kind: "explosion", priority: "P1", location: { lon: 2.35, lat: 48.86 }, address: "after the restart", lead_agency: "PP",
  });
  await expect(page.getByTestId("incident-queue")).toContainText("after the restart");
  const health = await (await fetch(`${vigie.url}/healthz`)).json();
  await expect(page.getByTestId("seq")).toHaveText(`seq ${health.seq}`);
  await expect(page.getByTestId("seq")).toHaveAttribute("data-anomalies", "0");
  expect(await page.evaluate(() => (window as any).__marker)).toBe("same page");
});

test("a dispatcher works from the keyboard: help, new incident, next incident, panels", async ({ page }) => {
  await openRoom(page);
  await post(vigie, "/api/v1/incidents", {
    kind: "shooting", priority: "P1", location: { lon: 2.35, lat: 48.86 }, address: "Place du Châtelet", lead_agency: "PP",
  });
  await post(vigie, "/api/v1/incidents", {
    kind: "road_accident", priority: "P3", location: { lon: 2.34, lat: 48.85 }, address: "Pont Neuf", lead_agency: "PP",
  });
  await expect(page.getByTestId("incident-queue").locator("li")).toHaveCount(2);
  await page.keyboard.press("?");
  await expect(page.getByTestId("help")).toContainText("next / previous incident");
  await page.keyboard.press("Escape");
  await expect(page.getByTestId("help")).toHaveCount(0);
  await page.keyboard.press("j");
  await expect(page.getByTestId("incident-detail")).toContainText("Place du Châtelet"); // P1 first
  await page.keyboard.press("j");
  await expect(page.getByTestId("incident-detail")).toContainText("Pont Neuf");
  await page.keyboard.press("m");
  await expect(page.getByTestId("compose-body")).toBeVisible();
  await page.keyboard.press("/");
  await expect(page.getByTestId("search")).toBeFocused();
  await page.keyboard.type("n"); // typing in a field is not a shortcut
  await expect(page.getByTestId("place-incident")).toHaveCount(0);
  await page.keyboard.press("Escape");
  await page.getByTestId("map").click({ position: { x: 5, y: 300 } });
  await page.keyboard.press("n");
  await expect(page.getByTestId("place-incident")).toBeVisible();
});

test("the timeline shows the log, filters it, zooms, and a click selects the item", async ({ page }, info) => {
  // Something that happened before the page was opened comes from the log…
  await post(vigie, "/api/v1/incidents", {
    kind: "suspicious_package", priority: "P2", location: { lon: 2.35, lat: 48.86 }, address: "Gare du Nord", lead_agency: "PP",
  });
  await openRoom(page);
  const timeline = page.getByTestId("timeline");
  await expect(timeline.locator(".item.lane-incidents")).toHaveCount(1);
  // …and what happens now arrives on the stream.
  await post(vigie, "/api/v1/incidents", {
    kind: "fire", priority: "P1", location: { lon: 2.34, lat: 48.85 }, address: "Rue de Rivoli",
  }, "bspp");
  await expect(timeline.locator(".item.lane-incidents")).toHaveCount(2);
  await post(vigie, "/api/v1/messages", { channel_id: "room", priority: "routine", body: "ok" }, "pp");
  await expect(timeline.locator(".item.lane-messages")).toHaveCount(1);

  await timeline.getByTestId("timeline-agency").selectOption("BSPP");
  await expect(timeline.locator(".item")).toHaveCount(1);
  await timeline.locator(".item.lane-incidents").click();
  await expect(page.getByTestId("incident-detail")).toContainText("Rue de Rivoli");
  await expect(timeline.locator(".item.selected")).toHaveCount(1);
  await timeline.getByTestId("timeline-agency").selectOption("");

  await timeline.getByTestId("span-15min").click();
  const ticks15 = await timeline.locator(".tick").count();
  await timeline.getByTestId("span-24h").click();
  await expect(timeline.locator(".item")).toHaveCount(3); // still in the window
  expect(await timeline.locator(".tick").count()).toBeLessThanOrEqual(12);
  expect(ticks15).toBeGreaterThan(0);
  await page.screenshot({ path: info.outputPath("room-timeline.png") });
});

test("French by default for a French browser, switchable to English, and the choice is kept", async ({ browser }) => {
  const context = await browser.newContext({ locale: "fr-FR" });
  const page = await context.newPage();
  await signIn(page, vigie, "bspp");
  await expect(page.getByTestId("tab-units")).toHaveText("Moyens"); // rendered in French by the server
  // The link's state is words too: French on a French screen (issue 11 asked for no English left).
  await expect(page.getByTestId("link")).toHaveText("en direct");
  await page.getByTestId("unit-search").fill("PS-11");
  await expect(page.getByTestId("unit-PS-11").getByTestId("unit-status")).toHaveText("disponible");
  await page.getByTestId("lang").click();
  await expect(page.getByTestId("tab-units")).toHaveText("Units");
  await expect(page.getByTestId("unit-PS-11").getByTestId("unit-status")).toHaveText("available");
  await page.reload();
  await expect(page.getByTestId("link")).toHaveText("live");
  await expect(page.getByTestId("tab-units")).toHaveText("Units");
  await context.close();
});

test("unit detail, placing by a click on the map, and the per-agency summary", async ({ page }) => {
  await openRoom(page);
  await page.getByTestId("unit-search").fill("FPT-1");
  await page.getByTestId("unit-FPT-1").getByRole("button", { name: "FPT-1" }).click();
  const card = page.getByTestId("unit-detail");
  await expect(card).toContainText("Brigade de sapeurs-pompiers de Paris");
  await expect(card.getByTestId("unit-detail-status")).toHaveText("available");
  await expect(card).toContainText("48.85700, 2.35000");
  await card.getByTestId("unit-follow").click();
  await expect(card.getByTestId("unit-follow")).toHaveText("Stop following");

  await page.getByTestId("new-incident").click();
  const where = page.getByTestId("new-where");
  const before = await where.textContent();
  const map = page.getByTestId("map");
  await card.getByTestId("unit-follow").click(); // stop following, so the map holds still
  const box = (await map.boundingBox())!;
  await map.click({ position: { x: 40, y: box.height - 60 } });
  await expect(where).not.toHaveText(before!);

  await page.getByTestId("tab-summary").click();
  const summary = page.getByTestId("summary-tab");
  await expect(summary).toContainText("BSPP");
  await expect(summary).toContainText("PP");
});

// English words an operator could meet on the room; none may be left on the French screen.
const ENGLISH = [
  "available", "dispatched", "on scene", "stale", "live", "connecting", "reconnecting", "sending", "units", "agencies",
  "all agencies", "summary", "timeline", "assign", "release", "follow", "replay", "new incident", "nearest", "patrol car",
  "fire engine", "acknowledge", "open incidents", "any status", "search", "priority", "immediate", "all room",
];

test("the French room, live, shows no English word", async ({ browser }, info) => {
  const context = await browser.newContext({ locale: "fr-FR" });
  const page = await context.newPage();
  await signIn(page, vigie, "bspp");
  await expect(page.getByTestId("link")).toHaveText("en direct");
  await expect(page.getByTestId("map")).toHaveAttribute("data-ready", "true", { timeout: 20_000 });
  for (const tab of ["tab-units", "tab-messages", "tab-summary"]) {
    await page.getByTestId(tab).click();
    const text = (await page.locator("body").innerText()).toLowerCase();
    const left = ENGLISH.filter((w) => new RegExp(`(^|[^\\p{L}])${w}([^\\p{L}]|$)`, "u").test(text));
    expect(left, `English on the French room (${tab}):\n${text}`).toEqual([]);
  }
  await page.screenshot({ path: info.outputPath("room-fr.png") });
  await context.close();
});
