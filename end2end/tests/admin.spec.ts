// Issue #12: the admin page — accounts, API tokens and sharing between agencies — driven as an
// admin would, and refused to anyone else.
import { test, expect } from "@playwright/test";
import { signIn, signInEnrolling, startVigie, stopVigie, Vigie } from "./support/server";
import { post, seedRoom } from "./support/seed";

let vigie: Vigie;
test.beforeEach(async () => {
  vigie = await startVigie("serve", { VIGIE_STALE_AFTER_S: "3600" });
  await seedRoom(vigie);
});
test.afterEach(async () => stopVigie(vigie));

test("an admin enrols a second factor, adds an account, issues and revokes a token, and shares between agencies", async ({ page, browser }, info) => {
  // An admin must have a second factor: its first sign-in sets one up.
  await signInEnrolling(page, vigie, "admin", "/admin");
  const admin = page.getByTestId("admin");
  await expect(admin).toHaveAttribute("data-ready", "true");
  await expect(page.getByTestId("account-bspp")).toBeVisible();
  await page.screenshot({ path: info.outputPath("admin-signed-in.png") });

  // A new account, then it signs in.
  await page.getByTestId("new-login").fill("gn.officer");
  await page.getByTestId("new-name").fill("Officier GN");
  await page.getByTestId("new-agency").fill("GN");
  await page.getByTestId("new-password").fill("a gendarmerie passphrase");
  await page.getByTestId("new-role-dispatcher").check();
  await page.getByTestId("add-account-submit").click();
  await expect(page.getByTestId("account-gn.officer")).toContainText("dispatcher");

  // A token for the BSPP's AVL gateway: shown once, listed without its secret, then revoked.
  await page.getByTestId("token-login").fill("bspp");
  await page.getByTestId("token-name").fill("AVL gateway");
  await page.getByTestId("scope-positions-write").check();
  await page.getByTestId("issue-token-submit").click();
  const once = page.getByTestId("token-once");
  await expect(once).toContainText("vgt_");
  const token = (await once.textContent())!.trim();
  const row = page.getByTestId("tokens").locator("tr", { hasText: "AVL gateway" });
  await expect(row).not.toContainText(token);
  const state = () => fetch(`${vigie.url}/api/v1/positions`, { method: "POST", headers: { authorization: `Bearer ${token}`, "content-type": "application/json" }, body: JSON.stringify({ reports: [] }) });
  expect((await state()).status).toBe(422); // in, and refused only for its empty batch
  await row.getByRole("button").click();
  await expect(row).toContainText("revoked");
  expect((await state()).status).toBe(401);

  // PP shares its restricted incidents with BSPP: BSPP's screen shows one it could not see.
  await post(vigie, "/api/v1/incidents", { kind: "hostage", priority: "P1", location: { lon: 2.35, lat: 48.86 }, address: "Rue du Secret", restricted: true });
  const bsppContext = await browser.newContext();
  const bspp = await bsppContext.newPage();
  await signIn(bspp, vigie, "bspp");
  await expect(bspp.getByTestId("link")).toHaveText("live");
  await expect(bspp.getByTestId("incident-queue")).not.toContainText("Rue du Secret");
  await page.getByTestId("rule-from").fill("PP");
  await page.getByTestId("rule-to").fill("BSPP");
  await page.getByTestId("rule-share").click();
  await expect(page.getByTestId("rule-PP-BSPP")).toBeVisible();
  await expect(bspp.getByTestId("incident-queue")).toContainText("Rue du Secret");
  // The BKA's accounts must all have a second factor from now on.
  await page.getByTestId("policy-agency").fill("BKA");
  await page.getByTestId("policy-require").click();
  await expect(page.getByTestId("policies")).toContainText("BKA");
  const bka = await fetch(`${vigie.url}/api/v1/session`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ login: "bka", password: "e2e correct horse battery" }) });
  expect((await bka.json()).enrolling).toBe(true);
  await page.screenshot({ path: info.outputPath("admin-desktop.png"), fullPage: true });

  // Not an admin: the page is refused.
  const response = await bspp.goto(`${vigie.url}/admin`);
  expect(response!.status()).toBe(403);
  await bsppContext.close();
});
