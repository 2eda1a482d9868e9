// Seeds an empty room over the public API: two agencies, a few units reporting near Châtelet.
import { Vigie } from "./server";

/** Calls the API as test account `login` (its token): the server takes who acts from it. */
async function call(vigie: Vigie, method: string, path: string, body?: unknown, login = "pp") {
  const res = await fetch(`${vigie.url}${path}`, {
    method,
    headers: { "content-type": "application/json", authorization: `Bearer ${vigie.tokens[login]}` },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const json = await res.json();
  if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${JSON.stringify(json)}`);
  return json;
}

export const post = (vigie: Vigie, path: string, body: unknown, login?: string) => call(vigie, "POST", path, body, login);

export async function seedRoom(vigie: Vigie) {
  await post(vigie, "/api/v1/agencies", { code: "PP", short_name: "PP", full_name: "Préfecture de police", kind: "police", country: "FR", colour: "#2f6fde" }, "admin");
  await post(vigie, "/api/v1/agencies", { code: "BSPP", short_name: "BSPP", full_name: "Brigade de sapeurs-pompiers de Paris", kind: "fire_rescue", country: "FR", colour: "#d1352b" }, "admin");
  const units: [string, string, string, number, number][] = [
    ["PS-11", "PP", "patrol_car", 2.3480, 48.8590],
    ["PS-12", "PP", "patrol_car", 2.3600, 48.8650],
    ["FPT-1", "BSPP", "fire_engine", 2.3500, 48.8570],
    ["FPT-2", "BSPP", "fire_engine", 2.3300, 48.8500],
    ["VSAV-1", "BSPP", "ambulance", 2.3450, 48.8600],
  ];
  const ids: Record<string, number> = {};
  for (const [callsign, agency, kind] of units) {
    ids[callsign] = (await post(vigie, "/api/v1/units", { callsign, agency, kind }, "admin")).unit_id;
  }
  await reportAll(vigie, ids, units);
  return ids;
}

/** The agency of each seeded unit (its own dispatcher reports its positions). */
function agencyOf(callsign: string): string {
  return callsign.startsWith("PS-") || callsign.startsWith("LATE-") ? "pp" : "bspp";
}

/** Reports every seeded unit's position now (keeps them from going stale). */
export async function reportAll(vigie: Vigie, ids: Record<string, number>, units?: [string, string, string, number, number][]) {
  const now = Date.now();
  for (const login of ["pp", "bspp"]) {
    const reports = Object.entries(ids)
      .map(([callsign, unit_id], i) => {
        const u = units?.find((u) => u[0] === callsign);
        return { callsign, unit_id, lon: u ? u[3] : 2.35 + i * 0.001, lat: u ? u[4] : 48.858, heading_deg: 90, reported_at_ms: now };
      })
      .filter((r) => agencyOf(r.callsign) === login)
      .map(({ callsign: _, ...report }) => report);
    if (reports.length) await post(vigie, "/api/v1/positions", { reports }, login);
  }
}
