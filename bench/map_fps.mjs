// Map frame rate on the real page: N units reporting every second, headless Chromium (Debian's,
// software WebGL), requestAnimationFrame timing. Prints one JSON line per case.
//
//   node bench/map_fps.mjs [units...]          e.g. node bench/map_fps.mjs 2000 10000
//   VIGIE_BIN=... MEASURE_S=10 node bench/map_fps.mjs 2000
//
// Loopback only; bounded in count and time. Needs the site built (cargo leptos build [--release]).
import { execFileSync, spawn } from "node:child_process";
import { mkdtempSync, rmSync, existsSync } from "node:fs";
import { createRequire } from "node:module";
import { createServer } from "node:net";
import { homedir, tmpdir } from "node:os";
import { join, resolve } from "node:path";

const repo = resolve(import.meta.dirname, "..");
const require = createRequire(join(repo, "end2end/package.json"));
const { chromium } = require("playwright-core");
const target = process.env.CARGO_TARGET_DIR ?? join(homedir(), ".cache/vigie/target");
const bin = process.env.VIGIE_BIN ?? [join(target, "release/vigie"), join(target, "debug/vigie")].find(existsSync);
const measureS = Number(process.env.MEASURE_S ?? 10);
const cases = process.argv.slice(2).map(Number).filter((n) => n > 0);
if (!cases.length) cases.push(2000, 10000);

const port = await new Promise((ok) => {
  const s = createServer().listen(0, "127.0.0.1", () => {
    const p = s.address().port;
    s.close(() => ok(p));
  });
});

// The room's one account (PP: admin and dispatcher), made with `vigie user` before it starts.
const PASSWORD = "bench passphrase 2026";
let token = "";
function account(db) {
  const cli = (args) => execFileSync(bin, ["user", ...args], { env: { ...process.env, VIGIE_DATABASE_URL: db, VIGIE_PASSWORD: PASSWORD, RUST_LOG: "warn" }, encoding: "utf8" }).trim();
  cli(["add", "bench", "--agency", "PP", "--role", "admin", "--role", "dispatcher"]);
  token = cli(["token", "bench", "--name", "map-fps", "--scope", "admin", "--scope", "units:write", "--scope", "positions:write"]);
}

async function api(url, path, body) {
  const res = await fetch(url + path, { method: "POST", headers: { "content-type": "application/json", authorization: `Bearer ${token}` }, body: JSON.stringify(body) });
  if (!res.ok) throw new Error(`${path}: ${res.status} ${await res.text()}`);
  return res.json();
}

async function runCase(units) {
  const dir = mkdtempSync(join(tmpdir(), "vigie-mapfps-"));
  const url = `http://127.0.0.1:${port}`;
  account(`sqlite://${dir}/v.db`);
  const server = spawn(bin, ["serve"], {
    env: { ...process.env, VIGIE_ADDR: `127.0.0.1:${port}`, VIGIE_DATABASE_URL: `sqlite://${dir}/v.db`, VIGIE_SITE_ROOT: join(repo, "target/site"), RUST_LOG: "warn" },
    stdio: "inherit",
  });
  try {
    for (let i = 0; i < 100; i++) {
      try { if ((await fetch(url + "/healthz")).ok) break; } catch {}
      await new Promise((r) => setTimeout(r, 100));
    }
    await api(url, "/api/v1/agencies", { code: "PP", short_name: "PP", full_name: "Préfecture de police", kind: "police", country: "FR", colour: "#2f6fde" });
    const ids = [];
    const batch = 50;
    for (let i = 0; i < units; i += batch) {
      const made = await Promise.all(Array.from({ length: Math.min(batch, units - i) }, (_, k) =>
        api(url, "/api/v1/units", { callsign: `U-${i + k}`, agency: "PP", kind: "patrol_car" })));
      ids.push(...made.map((m) => m.unit_id));
    }
    // Units drive in straight lines across Paris, turning at random; every unit reports every second.
    const state = ids.map((id, i) => ({ id, lon: 2.25 + ((i * 7919) % 1000) / 1000 * 0.2, lat: 48.82 + ((i * 104729) % 1000) / 1000 * 0.08, h: (i * 37) % 360 }));
    let reporting = true;
    const reporter = (async () => {
      while (reporting) {
        const now = Date.now();
        for (const u of state) {
          if (Math.random() < 0.05) u.h = (u.h + 90) % 360;
          u.lon += Math.sin((u.h * Math.PI) / 180) * 0.00012;
          u.lat += Math.cos((u.h * Math.PI) / 180) * 0.00008;
        }
        for (let i = 0; i < state.length; i += 10000) {
          const reports = state.slice(i, i + 10000).map((u) => ({ unit_id: u.id, lon: u.lon, lat: u.lat, heading_deg: u.h, speed_mps: 9, reported_at_ms: now }));
          await api(url, "/api/v1/positions", { reports });
        }
        await new Promise((r) => setTimeout(r, Math.max(0, 1000 - (Date.now() - now))));
      }
    })();

    const browser = await chromium.launch({
      executablePath: process.env.VIGIE_CHROMIUM ?? "/usr/bin/chromium",
      args: ["--no-sandbox", "--disable-gpu", "--enable-unsafe-swiftshader", "--disable-background-networking", "--disable-component-update", "--disable-sync", "--disable-quic"],
    });
    const page = await browser.newPage({ viewport: { width: 1920, height: 1080 } });
    await page.request.post(`${url}/api/v1/session`, { data: { login: "bench", password: PASSWORD } });
    await page.goto(url);
    await page.waitForSelector("[data-testid=map][data-ready=true]", { timeout: 60_000 });
    const results = {};
    for (const [view, zoom] of [["city", null], ["street", 15]]) {
      if (zoom) await page.evaluate((z) => document.querySelector("[data-testid=map]").roomMap.map.jumpTo({ center: [2.35, 48.86], zoom: z }), zoom);
      await page.waitForTimeout(3000);
      results[view] = await page.evaluate((ms) => new Promise((done) => {
        const gaps = [];
        let last = performance.now();
        const end = last + ms;
        const tick = (t) => {
          gaps.push(t - last);
          last = t;
          if (t < end) requestAnimationFrame(tick);
          else {
            gaps.sort((a, b) => a - b);
            const q = (p) => gaps[Math.min(gaps.length - 1, Math.floor(p * gaps.length))];
            done({ fps: +(gaps.length / (ms / 1000)).toFixed(1), frame_p50_ms: +q(0.5).toFixed(1), frame_p95_ms: +q(0.95).toFixed(1), frame_max_ms: +q(1).toFixed(1) });
          }
        };
        requestAnimationFrame(tick);
      }), measureS * 1000);
    }
    const seq = await page.getByTestId("seq").textContent();
    console.log(JSON.stringify({ bench: "map_fps", units, reports_per_s: units, ...Object.fromEntries(Object.entries(results).map(([k, v]) => [k, v])), page_seq: seq }));
    reporting = false;
    await reporter;
    await browser.close();
  } finally {
    server.kill("SIGTERM");
    await new Promise((r) => server.once("exit", r));
    rmSync(dir, { recursive: true, force: true });
  }
}

for (const n of cases) await runCase(n);
