// Issue #14: the field's protocols in the browser. A TAK device speaking Cursor-on-Target to the
// room's listener appears on the map as a unit and moves; a CAP 1.2 alert's area shows on the map
// and fades when it expires.
import { test, expect, Page } from "@playwright/test";
import { connect } from "node:net";
import { freePort, signIn, startVigie, stopVigie, Vigie } from "./support/server";
import { seedRoom } from "./support/seed";

let vigie: Vigie;
let cotPort: number;

test.beforeEach(async () => {
  cotPort = await freePort();
  // The CoT listener acts as PP's dispatcher token: its devices become PP units.
  vigie = await startVigie("serve", (tokens) => ({
    VIGIE_STALE_AFTER_S: "3600",
    VIGIE_COT_ADDR: `127.0.0.1:${cotPort}`,
    VIGIE_COT_TOKEN: tokens["pp"],
  }));
  await seedRoom(vigie);
});
test.afterEach(async () => stopVigie(vigie));

async function openRoom(page: Page) {
  page.on("pageerror", (e) => console.log(`page error: ${e.message}`));
  await signIn(page, vigie, "pp");
  await expect(page.getByTestId("map")).toHaveAttribute("data-ready", "true", { timeout: 20_000 });
}

/** A position report as ATAK sends it (the CoT base schema and ATAK's detail elements). */
function position(uid: string, callsign: string, lat: number, lon: number): string {
  const now = new Date();
  const stale = new Date(now.getTime() + 5 * 60_000);
  return `<?xml version="1.0" encoding="UTF-8" standalone="yes"?><event version="2.0" uid="${uid}" type="a-f-G-U-C" time="${now.toISOString()}" start="${now.toISOString()}" stale="${stale.toISOString()}" how="m-g"><point lat="${lat}" lon="${lon}" hae="35" ce="5" le="9999999"/><detail><contact endpoint="*:-1:stcp" callsign="${callsign}"/><__group name="Cyan" role="Team Member"/><status battery="90"/><track course="90" speed="2"/></detail></event>\n`;
}

/** The map's own record of a unit, by callsign: where it is heading. */
async function mapUnit(page: Page, callsign: string): Promise<[number, number] | null> {
  return page.getByTestId("map").evaluate((el, cs) => {
    const map = (el as unknown as { roomMap: { units: Map<number, { to: [number, number]; props: { cs: string } }> } }).roomMap;
    for (const u of map.units.values()) if (u.props.cs === cs) return u.to;
    return null;
  }, callsign);
}

test("a TAK device joins the room over CoT and moves on the map", async ({ page }, info) => {
  await openRoom(page);
  const socket = connect(cotPort, "127.0.0.1");
  await new Promise((ok) => socket.once("connect", ok));
  socket.write(position("ANDROID-e2e-0001", "TAK-BRAVO", 48.8585, 2.347));
  await expect.poll(() => mapUnit(page, "TAK-BRAVO"), { timeout: 15_000 }).toEqual([2.347, 48.8585]);
  await page.getByTestId("unit-search").fill("TAK-BRAVO");
  await expect(page.getByTestId("unit-TAK-BRAVO").getByTestId("unit-status")).toHaveText("available");
  socket.write(position("ANDROID-e2e-0001", "TAK-BRAVO", 48.8591, 2.3502));
  await expect.poll(() => mapUnit(page, "TAK-BRAVO"), { timeout: 15_000 }).toEqual([2.3502, 48.8591]);
  await page.screenshot({ path: info.outputPath("cot-unit-desktop.png") });
  socket.destroy();
});

/** A CAP 1.2 alert over Châtelet that expires `seconds` from now. */
function alert(identifier: string, seconds: number): string {
  const t = (d: Date) => d.toISOString().replace(/\.\d+Z$/, "-00:00");
  const now = new Date();
  return `<?xml version="1.0" encoding="UTF-8"?>
<alert xmlns="urn:oasis:names:tc:emergency:cap:1.2">
  <identifier>${identifier}</identifier><sender>vigilance@meteo.fr</sender><sent>${t(now)}</sent>
  <status>Actual</status><msgType>Alert</msgType><scope>Public</scope>
  <info><category>Met</category><event>Orages</event><urgency>Immediate</urgency><severity>Severe</severity>
    <certainty>Observed</certainty><expires>${t(new Date(now.getTime() + seconds * 1000))}</expires>
    <headline>Vigilance orange orages</headline>
    <area><areaDesc>Châtelet</areaDesc><polygon>48.862,2.340 48.862,2.356 48.855,2.356 48.855,2.340 48.862,2.340</polygon></area>
  </info>
</alert>`;
}

async function mapAlerts(page: Page): Promise<string[]> {
  return page.getByTestId("map").evaluate((el) => {
    const map = (el as unknown as { roomMap: { alerts?: { features: { properties: { label: string } }[] } } }).roomMap;
    return (map.alerts?.features ?? []).map((f) => f.properties.label);
  });
}

test("a CAP alert's area shows on the map and fades when it expires", async ({ page }, info) => {
  await openRoom(page);
  const res = await fetch(`${vigie.url}/api/v1/cap`, {
    method: "POST",
    headers: { "content-type": "application/cap+xml", authorization: `Bearer ${vigie.tokens["pp"]}` },
    body: alert("E2E-1", 12),
  });
  expect(res.status).toBe(201);
  await expect.poll(() => mapAlerts(page), { timeout: 10_000 }).toEqual(["Vigilance orange orages"]);
  await page.screenshot({ path: info.outputPath("cap-alert-desktop.png") });
  await page.setViewportSize({ width: 1024, height: 768 });
  await page.screenshot({ path: info.outputPath("cap-alert-tablet.png") });
  // On the room's clock, the alert's expiry passes: its area leaves the map by itself.
  await expect.poll(() => mapAlerts(page), { timeout: 25_000 }).toEqual([]);
});
