// The benchmark's peer: a plain Node.js `ws` broadcast server relaying position batches to every
// WebSocket client, with no persistence, no validation beyond JSON and no catch-up. It speaks
// just enough of Vigie's API for the same load generator: POST /api/v1/positions, GET /healthz,
// and WebSocket /api/v1/stream. Loopback only.
//
//   node bench/peer/ws_peer.mjs PORT
import { createServer } from "node:http";
import { createRequire } from "node:module";

const require = createRequire(import.meta.url);
const { WebSocketServer } = require("ws");
const port = Number(process.argv[2] ?? 3100);
let seq = 0;

const wss = new WebSocketServer({ noServer: true });
const server = createServer((req, res) => {
  if (req.method === "GET" && req.url === "/healthz") {
    res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify({ status: "ok", seq }));
    return;
  }
  if (req.method === "POST" && req.url === "/api/v1/positions") {
    const chunks = [];
    req.on("data", (c) => chunks.push(c));
    req.on("end", () => {
      let body;
      try {
        body = JSON.parse(Buffer.concat(chunks));
      } catch {
        res.writeHead(400).end();
        return;
      }
      seq += 1;
      // Vigie's `positions` message: [unit_id, lon, lat, heading_deg, speed_mps, accuracy_m, reported_at_ms].
      const fixes = body.reports.map((r) => [r.unit_id, r.lon, r.lat, r.heading_deg ?? null, r.speed_mps ?? null, null, r.reported_at_ms]);
      // Serialised once, sent to everyone: the fairest plain broadcast.
      const frame = JSON.stringify({ type: "positions", prev_seq: seq - 1, seq, at_ms: Date.now(), actor: "peer", fixes });
      for (const client of wss.clients) if (client.readyState === 1) client.send(frame);
      res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify({ seq, accepted: fixes.length }));
    });
    return;
  }
  res.writeHead(404).end();
});
server.on("upgrade", (req, socket, head) => {
  if (!req.url.startsWith("/api/v1/stream")) return socket.destroy();
  wss.handleUpgrade(req, socket, head, (ws) => wss.emit("connection", ws, req));
});
server.listen(port, "127.0.0.1", () => console.error(`ws peer on 127.0.0.1:${port}`));
