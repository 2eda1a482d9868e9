// Issue #14: one search box over everything the room knows. `/` focuses it; it finds a unit, an
// incident (accents aside) and an arrondissement of a real base-map layer (read from
// ../shared/data, that part skipped where it is absent), and choosing a hit shows it on the map and
// in the panels.
import { test, expect, Page } from "@playwright/test";
import { execFileSync } from "node:child_process";
import { existsSync } from "node:fs";
import { resolve } from "node:path";
import { signIn, startVigie, stopVigie, Vigie, vigieBin } from "./support/server";
import { post, seedRoom } from "./support/seed";

const arrondissements = resolve(__dirname, "../../../shared/data/paris-arrondissements.geojson");
let vigie: Vigie;

test.beforeEach(async () => {
  vigie = await startVigie("serve", { VIGIE_STALE_AFTER_S: "3600" });
  await seedRoom(vigie);
  await post(vigie, "/api/v1/incidents", { kind: "fire", priority: "P1", location: { lon: 2.3522, lat: 48.8566 }, address: "Hôtel de Ville, façade nord", lead_agency: "BSPP" }, "bspp");
});
test.afterEach(async () => stopVigie(vigie));

/** The map's centre, as MapLibre has it. */
async function mapCentre(page: Page): Promise<[number, number]> {
  return page.getByTestId("map").evaluate((el) => {
    const c = (el as unknown as { roomMap: { map: { getCenter(): { lng: number; lat: number } } } }).roomMap.map.getCenter();
    return [c.lng, c.lat] as [number, number];
  });
}

test("the search box finds a unit, an incident and an arrondissement, and shows each", async ({ page }, info) => {
  const withLayer = existsSync(arrondissements);
  if (withLayer) {
    // Imported while the room runs, as an administrator would: the gazetteer reads it within seconds.
    execFileSync(vigieBin, ["basemap", "import", arrondissements], {
      env: { ...process.env, VIGIE_DATABASE_URL: `sqlite://${vigie.dataDir}/vigie.db`, RUST_LOG: "warn" },
    });
  } else {
    console.log(`skipped the arrondissement: ${arrondissements} is absent`);
  }
  page.on("pageerror", (e) => console.log(`page error: ${e.message}`));
  await signIn(page, vigie, "pp");
  await expect(page.getByTestId("map")).toHaveAttribute("data-ready", "true", { timeout: 20_000 });
  const search = page.getByTestId("search");
  const hits = page.getByTestId("search-hit");

  // A unit, by the start of its callsign; Enter takes the first hit.
  await page.keyboard.press("/");
  await expect(search).toBeFocused();
  await page.keyboard.type("fpt 2");
  await expect(hits.first()).toContainText("FPT-2");
  await expect(hits.first()).toHaveAttribute("data-kind", "unit");
  await page.keyboard.press("Enter");
  await expect(page.getByTestId("unit-detail")).toContainText("FPT-2");
  await expect(page.getByTestId("search-hits")).toBeHidden();

  // An incident, typed without its accents; the matched word is marked.
  await search.fill("facade");
  const incident = hits.filter({ hasText: "Hôtel de Ville, façade nord" });
  await expect(incident).toHaveAttribute("data-kind", "incident");
  await expect(incident.locator("mark")).toHaveText("façade");
  await incident.click();
  await expect(page.getByTestId("incident-detail")).toContainText("Hôtel de Ville, façade nord");

  if (withLayer) {
    // An arrondissement of the imported layer: the map goes to it.
    await search.fill("elysee");
    const place = hits.filter({ hasText: "Élysée" });
    await expect(place).toHaveAttribute("data-kind", "place", { timeout: 15_000 });
    await expect(place).toContainText("paris-arrondissements");
    await page.screenshot({ path: info.outputPath("search-desktop.png") });
    await place.click();
    await expect.poll(async () => {
      const [lon, lat] = await mapCentre(page);
      return lon > 2.29 && lon < 2.33 && lat > 48.865 && lat < 48.885;
    }, { timeout: 10_000 }).toBe(true);
  }

  // Nothing found says so; a message is found and shown in its channel.
  await search.fill("zzqx");
  await expect(page.getByTestId("search-none")).toBeVisible();
  await post(vigie, "/api/v1/messages", { channel_id: "room", priority: "routine", body: "Périmètre de sécurité rue de Rivoli" }, "bspp");
  await search.fill("perimetre rivoli");
  await hits.filter({ hasText: "Périmètre" }).click();
  await expect(page.getByTestId("message-list").locator(".message.found")).toContainText("Périmètre de sécurité");
  await page.screenshot({ path: info.outputPath("search-message-desktop.png") });

  // An alert, in French: its detail line in the screen's language.
  const sent = new Date().toISOString().replace(/\.\d+Z$/, "-00:00");
  const cap = `<?xml version="1.0" encoding="UTF-8"?>
<alert xmlns="urn:oasis:names:tc:emergency:cap:1.2"><identifier>E2E-1</identifier><sender>vigilance@meteo.fr</sender>
  <sent>${sent}</sent><status>Actual</status><msgType>Alert</msgType><scope>Public</scope>
  <info><category>Met</category><event>Orages</event><urgency>Expected</urgency><severity>Severe</severity><certainty>Likely</certainty>
    <headline>Vigilance orange orages</headline><area><areaDesc>Châtelet</areaDesc>
    <polygon>48.862,2.340 48.862,2.356 48.855,2.356 48.855,2.340 48.862,2.340</polygon></area></info></alert>`;
  const res = await fetch(`${vigie.url}/api/v1/cap`, {
    method: "POST",
    headers: { "content-type": "application/cap+xml", authorization: `Bearer ${vigie.tokens["pp"]}` },
    body: cap,
  });
  expect(res.status).toBe(201);
  await page.getByTestId("lang").click();
  await search.fill("orages chatelet");
  const alertHit = hits.filter({ hasText: "Vigilance orange orages" });
  await expect(alertHit).toHaveAttribute("data-kind", "alert");
  await expect(alertHit).toContainText("Alerte");
  await expect(alertHit).toContainText("Orages · sévère · en vigueur");
  await page.screenshot({ path: info.outputPath("search-alert-fr-desktop.png") });
});
