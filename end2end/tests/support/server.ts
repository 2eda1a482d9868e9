// Starts the real `vigie` binary on a free loopback port with its own temporary log, and stops it.
import { execFileSync, spawn, ChildProcess } from "node:child_process";
import { expect, type Page } from "@playwright/test";
import { totp } from "./totp";
import { mkdtempSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { homedir, tmpdir } from "node:os";
import { join, resolve } from "node:path";

const repo = resolve(__dirname, "../../..");
const targetDir = process.env.CARGO_TARGET_DIR ?? join(homedir(), ".cache/vigie/target");

export const vigieBin = process.env.VIGIE_BIN ?? join(targetDir, "debug/vigie");

/** The accounts of an empty room (`serve`), all with {@link PASSWORD}: `pp` and `bspp` act for
 * their agency (`pp` also trains); `bka` is a liaison; `admin` sets the room up (through its
 * token; signing in, it must enrol a second factor); `auditor` reads the record (a second factor
 * too). */
export const ACCOUNTS: [string, string, string[]][] = [
  ["admin", "PP", ["admin"]],
  ["pp", "PP", ["dispatcher", "commander", "trainer"]],
  ["bspp", "BSPP", ["dispatcher", "commander"]],
  ["bka", "BKA", ["liaison"]],
  ["trainee", "PP", ["trainee"]],
  ["auditor", "PP", ["auditor"]],
];
export const PASSWORD = "e2e correct horse battery";
const SCOPES = ["room:read", "positions:write", "units:write", "incidents:write", "messages:write", "replay", "admin", "audit"];

export interface Vigie {
  url: string;
  /** API tokens by login (`serve` rooms), as the load generator and the seed use them. */
  tokens: Record<string, string>;
  addr: string;
  dataDir: string;
  process: ChildProcess;
  stop(): Promise<void>;
  /** Starts the binary again on the same address and log (a restart). */
  restart(): Promise<void>;
}

export async function freePort(): Promise<number> {
  return new Promise((ok, fail) => {
    const srv = createServer();
    srv.listen(0, "127.0.0.1", () => {
      const port = (srv.address() as { port: number }).port;
      srv.close(() => ok(port));
    });
    srv.on("error", fail);
  });
}

async function waitHealthy(url: string, child: ChildProcess, log: () => string): Promise<void> {
  const deadline = Date.now() + 30_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`vigie exited with ${child.exitCode}:\n${log()}`);
    try {
      const res = await fetch(`${url}/healthz`);
      if (res.ok) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`vigie did not become healthy at ${url}:\n${log()}`);
}

/** `mode` is `demo` (the live exercise) or `serve` (an empty room the test drives itself). */
/** `env` may be computed from the room's tokens (a CoT listener acting as one of them). */
export async function startVigie(
  mode: "demo" | "serve",
  env: Record<string, string> | ((tokens: Record<string, string>) => Record<string, string>) = {},
): Promise<Vigie> {
  const port = await freePort();
  const addr = `127.0.0.1:${port}`;
  const url = `http://${addr}`;
  const dataDir = mkdtempSync(join(tmpdir(), "vigie-e2e-"));
  let output = "";
  const cli = (args: string[]) =>
    execFileSync(vigieBin, ["user", ...args], {
      env: { ...process.env, VIGIE_DATABASE_URL: `sqlite://${dataDir}/vigie.db`, VIGIE_PASSWORD: PASSWORD, RUST_LOG: "warn" },
      encoding: "utf8",
    }).trim();
  // An empty room has no accounts (and `vigie serve` would not start): the administrator's
  // commands create them, as in a real room; a demo makes its own.
  const tokens: Record<string, string> = {};
  if (mode === "serve") {
    for (const [login, agency, roles] of ACCOUNTS) {
      cli(["add", login, "--agency", agency, ...roles.flatMap((r) => ["--role", r])]);
      tokens[login] = cli(["token", login, "--name", "e2e", ...SCOPES.flatMap((s) => ["--scope", s])]);
    }
  }
  const launch = async () => {
    const child = spawn(vigieBin, [mode], {
      env: {
        ...process.env,
        VIGIE_ADDR: addr,
        VIGIE_DATABASE_URL: `sqlite://${dataDir}/vigie.db`,
        VIGIE_SITE_ROOT: join(repo, "target/site"),
        RUST_LOG: process.env.RUST_LOG ?? "warn",
        ...(typeof env === "function" ? env(tokens) : env),
      },
      stdio: ["ignore", "pipe", "pipe"],
    });
    child.stdout!.on("data", (d) => (output += d));
    child.stderr!.on("data", (d) => (output += d));
    await waitHealthy(url, child, () => output);
    return child;
  };
  const vigie: Vigie = {
    url,
    tokens,
    addr,
    dataDir,
    process: await launch(),
    async stop() {
      const child = vigie.process;
      if (child.exitCode !== null) return;
      const exited = new Promise((r) => child.once("exit", r));
      child.kill("SIGTERM");
      await exited;
    },
    async restart() {
      await vigie.stop();
      vigie.process = await launch();
    },
  };
  return vigie;
}

export async function stopVigie(vigie: Vigie): Promise<void> {
  await vigie.stop();
  rmSync(vigie.dataDir, { recursive: true, force: true });
}

/** Signs `page`'s browser context in as `login` (the session cookie is the context's), then opens
 * `path`. Through the API, as the sign-in page does; the page itself is tested on its own. */
export async function signIn(page: Page, vigie: Vigie, login: string, path = "/", password = PASSWORD): Promise<void> {
  await signInOnly(page, vigie, login, password);
  await page.goto(`${vigie.url}${path}`);
}

/** Signs in through the API without opening a page. */
async function signInOnly(page: Page, vigie: Vigie, login: string, password: string): Promise<void> {
  const res = await page.request.post(`${vigie.url}/api/v1/session`, { data: { login, password } });
  if (!res.ok()) throw new Error(`signing in as ${login}: ${res.status()} ${await res.text()}`);
}

/** Signs in as an account that must have a second factor and has none: the room sends the page
 * to enrol, where the test's authenticator reads the key and gives the first code; then `path`. */
export async function signInEnrolling(page: Page, vigie: Vigie, login: string, path: string): Promise<string> {
  await signInOnly(page, vigie, login, PASSWORD);
  await page.goto(`${vigie.url}${path}`);
  await expect(page).toHaveURL(/\/enrol\?next=/);
  await expect(page.getByTestId("enrol")).toHaveAttribute("data-ready", "true");
  await expect(page.getByTestId("qr").locator("svg")).toBeVisible();
  const secret = (await page.getByTestId("totp-secret").textContent())!.trim();
  await page.getByTestId("enrol-code").fill(totp(secret));
  await page.getByTestId("enrol-submit").click();
  await expect(page).toHaveURL(`${vigie.url}${path}`);
  return secret;
}
