// Prints bench/results/results.jsonl as a table, with Vigie over the Node ws peer as ratios.
import { readFileSync } from "node:fs";

const rows = readFileSync(process.argv[2], "utf8").split("\n").filter(Boolean).map((l) => JSON.parse(l));
const line = (cells) => console.log(cells.map((c, i) => String(c ?? "—").padEnd(i ? 14 : 28)).join(""));
for (const r of rows.filter((r) => r.bench === "ingest")) {
  line(["ingest " + r.target, "pos/s", "ack p50 ms", "ack p99 ms", "peak RSS MiB"]);
  line(["", r.positions_per_s, r.ack_p50_ms, r.ack_p99_ms, r.server_peak_rss_mib]);
}
const fan = rows.filter((r) => r.bench === "fanout");
if (fan.length) line(["fan-out", "deliv/s", "p50 ms", "p99 ms", "deliv/CPU-s", "RSS MiB", "resyncs"]);
for (const r of fan) line([`${r.target} ${r.units}u×${r.clients}c /${r.batch}`, r.deliveries_per_s, r.latency_p50_ms, r.latency_p99_ms, r.deliveries_per_cpu_s, r.server_peak_rss_mib, r.resyncs]);
// Vigie over the peer, shape by shape (same units, clients and batch size).
for (const vigie of fan.filter((r) => r.target === "vigie")) {
  const peer = fan.find((r) => r.target === "node-ws" && r.batch === vigie.batch && r.units === vigie.units && r.clients === vigie.clients);
  if (!peer?.deliveries_per_cpu_s || !vigie.deliveries_per_cpu_s) continue;
  console.log(`Vigie / Node ws, batches of ${vigie.batch}: deliveries per CPU-second ×${(vigie.deliveries_per_cpu_s / peer.deliveries_per_cpu_s).toFixed(2)}, ` +
    `p99 latency ×${(vigie.latency_p99_ms / Math.max(1, peer.latency_p99_ms)).toFixed(2)}, peak RSS ×${(vigie.server_peak_rss_mib / Math.max(1, peer.server_peak_rss_mib)).toFixed(2)}`);
}
for (const r of rows.filter((r) => r.bench === "map_fps")) line([`map ${r.units} units`, `city ${r.city.fps} fps`, `street ${r.street.fps} fps`]);
for (const r of rows.filter((r) => r.bench === "replay_log")) line([`replay log ${r.hours} h`, `${r.events} events`, `${r.fixes} fixes`, `${r.units} units`, `${r.incidents} incidents`]);
for (const r of rows.filter((r) => r.bench === "audit_verify")) line([`audit verify`, `${r.events} events`, `${r.checkpoints} checkpoints`, `${r.wall_ms} ms`]);
for (const r of rows.filter((r) => r.bench === "cot_clients" || r.bench === "cot_upstream")) line([`${r.bench === "cot_clients" ? "CoT clients" : "CoT upstream"} ${r.devices} devices at 1 Hz (${r.target})`, `${r.committed_per_s} fixes/s committed`, `${r.cpu_ms_per_thousand} CPU ms per 1000`, `${r.received_kib_per_s} KiB/s out`]);
for (const r of rows.filter((r) => r.bench === "replay")) {
  line(["replay", "seek p50 ms", "seek p95 ms", "seek max ms", "60× lag p50 ms", "60× lag max ms"]);
  line(["", r.seek_p50_ms, r.seek_p95_ms, r.seek_max_ms, r.play_lag_p50_ms, r.play_lag_max_ms]);
}
for (const r of rows.filter((r) => r.bench === "search")) {
  line([`search (${r.distinct} queries × 2 audiences)`, "p50 ms", "p95 ms", "max ms", "first ms", "hits/answer"]);
  line(["", r.p50_ms, r.p95_ms, r.max_ms, r.first_ms, r.hits_per_answer]);
}
for (const r of rows.filter((r) => r.bench === "search_replay")) {
  line([`search in a replay (no index)`, "p50 ms", "p95 ms", "max ms", "", "hits/answer"]);
  line(["", r.p50_ms, r.p95_ms, r.max_ms, "", r.hits_per_answer]);
}
for (const r of rows.filter((r) => r.bench === "soak")) {
  line([`soak ${r.seconds} s (hostile mix)`, "RSS MiB", "fds", "cmd p99 ms", "failed cmds", "functions"]);
  line(["  first window", r.rss_mib_start, r.fds_start, r.command_p99_ms_start, "", ""]);
  line(["  last window", r.rss_mib_end, r.fds_end, r.command_p99_ms_end, `${r.commands_failed}/${r.commands}`, Object.values(r.functions).every(Boolean) ? "all ok" : JSON.stringify(r.functions)]);
}
