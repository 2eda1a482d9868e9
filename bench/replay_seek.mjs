// Replay speed on a generated log (scripts/bench.sh makes it with replaygen): the time from a
// trainer's seek to the follower holding the room at that moment, over `seeks` random moments,
// then 60× playback: how far the follower's room trails the replay clock.
// Usage: node bench/replay_seek.mjs URL FROM_MS TO_MS [seeks] [play_seconds]
import WebSocket from "ws";
import { poster } from "./post.mjs";

const [url, from, to] = [process.argv[2], Number(process.argv[3]), Number(process.argv[4])];
const seeks = Number(process.argv[5] ?? 20);
const playSeconds = Number(process.argv[6] ?? 10);
// The trainer's API token (scripts/bench.sh makes one with `vigie user token`).
const auth = { authorization: `Bearer ${process.env.VIGIE_TOKEN}` };
const post = poster(url, auth);
const session = await post("/api/v1/replays", { from_ms: from, to_ms: to, title: "bench" });
const ws = new WebSocket(`${url.replace("http", "ws")}/api/v1/replays/${session.session_id}/stream`, { headers: auth });
let waiter = null;
let lastEventAt = 0;
let clock = null;
let offset = 0;
ws.on("message", (data) => {
  const m = JSON.parse(data.toString());
  if (m.type === "replay") { clock = m.session.clock; offset = m.server_ms - Date.now(); }
  if (m.type === "snapshot") lastEventAt = m.state.at_ms;
  if (m.type === "event") lastEventAt = m.at_ms;
  if (waiter && waiter.test(m)) { const w = waiter; waiter = null; w.resolve(m); }
});
const next = (test) => new Promise((resolve) => (waiter = { test, resolve }));
await next((m) => m.type === "snapshot");
const times = [];
let rng = 42;
const random = () => ((rng = (rng * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
for (let i = 0; i < seeks; i++) {
  const at = Math.round(from + random() * (to - from));
  const t0 = performance.now();
  const snapshot = next((m) => m.type === "snapshot");
  await post(`/api/v1/replays/${session.session_id}/control`, { action: "seek", at_ms: at }, session.trainer_key);
  const m = await snapshot;
  times.push(performance.now() - t0);
  if (m.state.at_ms > at) throw new Error(`seek to ${at} showed a room at ${m.state.at_ms}`);
}
times.sort((a, b) => a - b);
const pct = (p) => Math.round(times[Math.min(times.length - 1, Math.floor(p * times.length))]);
// 60× from the start of the window's second hour (or its start).
await post(`/api/v1/replays/${session.session_id}/control`, { action: "seek", at_ms: Math.min(from + 3_600_000, to - 1) }, session.trainer_key);
await post(`/api/v1/replays/${session.session_id}/control`, { action: "speed", speed: 60 }, session.trainer_key);
await post(`/api/v1/replays/${session.session_id}/control`, { action: "play" }, session.trainer_key);
const lags = [];
const stop = Date.now() + playSeconds * 1000;
while (Date.now() < stop) {
  await new Promise((r) => setTimeout(r, 250));
  if (!clock?.playing) continue;
  const expected = Math.min(clock.to_ms, clock.at_ms + (Date.now() + offset - clock.wall_ms) * clock.speed);
  lags.push(Math.max(0, expected - lastEventAt));
}
lags.sort((a, b) => a - b);
ws.close();
console.log(JSON.stringify({
  bench: "replay", seeks, seek_p50_ms: pct(0.5), seek_p95_ms: pct(0.95), seek_max_ms: Math.round(times[times.length - 1]),
  play_speed: 60, play_seconds: playSeconds,
  // Replay-time distance between the clock and the newest event the follower holds (events come
  // every second of replay time, so about 1 000 ms is "keeping up").
  play_lag_p50_ms: lags[Math.floor(lags.length / 2)] ?? null, play_lag_max_ms: lags[lags.length - 1] ?? null,
}));
process.exit(0);
