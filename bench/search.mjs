// One search's latency on a log (scripts/bench.sh runs it on the replay benchmark's 24-hour log):
// a fixed mix of what operators type — callsigns, streets with and without their accents, kinds,
// short prefixes, several words — asked one after the other, `rounds` times, as the room (every
// hit visible) and as a liaison of another agency (need-to-know filters every hit). Prints one
// JSON line: the latency percentiles, the first answer's (after the server's start), and the hits
// per answer.
// Usage: node bench/search.mjs URL ROUNDS (tokens in VIGIE_TOKEN and VIGIE_READ_TOKEN)
const [url, rounds] = [process.argv[2], Number(process.argv[3] ?? 20)];
const QUERIES = [
  "U-17", "U-1999", "u", "rivoli", "champs elysees", "Champs-Élysées", "prefecture", "INC-4321", "inc 12",
  "evacuation salpetriere", "feu", "accident circulation", "malaise", "pl", "bastille", "hotel de ville",
  "perimetre etabli", "renforts", "quai", "boulevard saint", "patrol car", "fire engine", "BSPP", "seine", "zzqx",
];
// The first answer waits for the index to hold the whole room (built at start): timed apart.
const t0 = performance.now();
const first = await fetch(`${url}/api/v1/search?q=u`, { headers: { authorization: `Bearer ${process.env.VIGIE_TOKEN}` } });
if (!first.ok) throw new Error(`first search: ${first.status}`);
await first.json();
const firstMs = Math.round(performance.now() - t0);
const times = [];
let hits = 0;
let answers = 0;
for (const token of [process.env.VIGIE_TOKEN, process.env.VIGIE_READ_TOKEN]) {
  const headers = { authorization: `Bearer ${token}` };
  for (let r = 0; r < rounds; r++) {
    for (const q of QUERIES) {
      const t0 = performance.now();
      const res = await fetch(`${url}/api/v1/search?q=${encodeURIComponent(q)}`, { headers });
      const body = await res.json();
      times.push(performance.now() - t0);
      if (!res.ok) throw new Error(`${q}: ${res.status} ${JSON.stringify(body)}`);
      hits += body.hits.length;
      answers += 1;
    }
  }
}
times.sort((a, b) => a - b);
const at = (p) => Math.round(times[Math.min(times.length - 1, Math.floor(p * times.length))] * 10) / 10;
console.log(JSON.stringify({ bench: "search", queries: times.length, distinct: QUERIES.length, p50_ms: at(0.5), p95_ms: at(0.95), max_ms: at(1), first_ms: firstMs, hits_per_answer: Math.round((hits / answers) * 10) / 10 }));
