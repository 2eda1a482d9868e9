// One search's latency on a log (scripts/bench.sh runs it on the replay benchmark's 24-hour log):
// a fixed mix of what operators type — callsigns, streets with and without their accents, kinds,
// short prefixes, several words — asked one after the other, `rounds` times, as the room (every
// hit visible) and as a liaison of another agency (need-to-know filters every hit). Then, given the
// log's window, the same mix in a replay of it standing at its end (one pass over the replay's room,
// no index), as the trainer's picture. Prints one JSON line each: the latency percentiles, the first
// answer's (after the server's start), and the hits per answer.
// Usage: node bench/search.mjs URL ROUNDS [FROM_MS TO_MS] (tokens in VIGIE_TOKEN and VIGIE_READ_TOKEN)
import { poster } from "./post.mjs";

const [url, rounds] = [process.argv[2], Number(process.argv[3] ?? 20)];
const [from, to] = [Number(process.argv[4]), Number(process.argv[5])];
const QUERIES = [
  "U-17", "U-1999", "u", "rivoli", "champs elysees", "Champs-Élysées", "prefecture", "INC-4321", "inc 12",
  "evacuation salpetriere", "feu", "accident circulation", "malaise", "pl", "bastille", "hotel de ville",
  "perimetre etabli", "renforts", "quai", "boulevard saint", "patrol car", "fire engine", "BSPP", "seine", "zzqx",
];

/** Asks every query `rounds` times with each token; the latencies and hits. */
async function timed(path, tokens) {
  const times = [];
  let hits = 0;
  for (const token of tokens) {
    const headers = { authorization: `Bearer ${token}` };
    for (let r = 0; r < rounds; r++) {
      for (const q of QUERIES) {
        const t0 = performance.now();
        const res = await fetch(`${url}${path}?q=${encodeURIComponent(q)}`, { headers });
        const body = await res.json();
        times.push(performance.now() - t0);
        if (!res.ok) throw new Error(`${q}: ${res.status} ${JSON.stringify(body)}`);
        hits += body.hits.length;
      }
    }
  }
  times.sort((a, b) => a - b);
  const at = (p) => Math.round(times[Math.min(times.length - 1, Math.floor(p * times.length))] * 10) / 10;
  return { queries: times.length, distinct: QUERIES.length, p50_ms: at(0.5), p95_ms: at(0.95), max_ms: at(1), hits_per_answer: Math.round((hits / times.length) * 10) / 10 };
}

// The first answer waits for the index to hold the whole room (built at start): timed apart.
const auth = { authorization: `Bearer ${process.env.VIGIE_TOKEN}` };
const t0 = performance.now();
const first = await fetch(`${url}/api/v1/search?q=u`, { headers: auth });
if (!first.ok) throw new Error(`first search: ${first.status}`);
await first.json();
const firstMs = Math.round(performance.now() - t0);
const live = await timed("/api/v1/search", [process.env.VIGIE_TOKEN, process.env.VIGIE_READ_TOKEN]);
console.log(JSON.stringify({ bench: "search", ...live, first_ms: firstMs }));

if (Number.isFinite(from) && Number.isFinite(to)) {
  // A replay of the whole log, seeked to its end; nobody follows it (the search holds its room at
  // its clock), and after the first query it stands still, as a paused debrief does.
  const post = poster(url, auth);
  const session = await post("/api/v1/replays", { from_ms: from, to_ms: to, title: "search bench" });
  await post(`/api/v1/replays/${session.session_id}/control`, { action: "seek", at_ms: to }, session.trainer_key);
  const past = await timed(`/api/v1/replays/${session.session_id}/search`, [process.env.VIGIE_TOKEN]);
  console.log(JSON.stringify({ bench: "search_replay", ...past }));
}
