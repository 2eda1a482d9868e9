// Issue #13: the auditor's screen — who did what, an entry with its proof, an export, the last
// verification — driven as an inspector would, at desktop and tablet sizes; refused to others.
import { test, expect, Page } from "@playwright/test";
import { signIn, signInEnrolling, startVigie, stopVigie, Vigie } from "./support/server";
import { post, seedRoom } from "./support/seed";

let vigie: Vigie;
test.beforeEach(async () => {
  vigie = await startVigie("serve", { VIGIE_STALE_AFTER_S: "3600" });
  await seedRoom(vigie);
  await post(vigie, "/api/v1/agencies", { code: "BKA", short_name: "BKA", full_name: "Bundeskriminalamt", kind: "liaison", country: "DE", colour: "#444444" }, "admin");
});
test.afterEach(async () => stopVigie(vigie));

async function restrictedSharedWithBka(): Promise<number> {
  const created = await post(vigie, "/api/v1/incidents", { kind: "hostage", priority: "P1", location: { lon: 2.35, lat: 48.86 }, address: "Rue du Secret", restricted: true });
  const id = created.incident_id as number;
  await post(vigie, `/api/v1/incidents/${id}/shares`, { agency: "BKA" });
  return id;
}

async function shot(page: Page, name: string, info: { outputPath: (n: string) => string }) {
  await page.screenshot({ path: info.outputPath(name), fullPage: true });
}

test("an auditor finds who shared a restricted incident with the liaison, opens its proof, verifies and exports", async ({ page, browser }, info) => {
  const id = await restrictedSharedWithBka();
  // The liaison opens it in its room: the opening is recorded.
  const bkaContext = await browser.newContext();
  const bka = await bkaContext.newPage();
  await signIn(bka, vigie, "bka");
  await bka.getByTestId("incident-queue").getByText("Rue du Secret").click();
  await expect(bka.getByTestId("card-restricted")).toBeVisible();

  // The auditor must have a second factor: its first sign-in sets one up.
  await signInEnrolling(page, vigie, "auditor", "/audit");
  await expect(page.getByTestId("audit")).toHaveAttribute("data-ready", "true");
  await expect(page.getByTestId("audit-entries").locator("tr[data-kind='audit.restricted_viewed']").first()).toContainText("bka");
  await shot(page, "audit-desktop.png", info);

  // Who shared it, and when.
  await page.getByTestId("filter-incident").fill(String(id));
  await page.getByTestId("filter-kind").selectOption("incident_shared");
  await page.getByTestId("audit-search").click();
  const row = page.getByTestId("audit-entries").locator("tr[data-kind='incident_shared']");
  await expect(row).toHaveCount(1);
  await expect(row).toContainText("BKA");
  await expect(row).toContainText("pp (PP");
  // Its stored form, leaf and inclusion proof against the signed checkpoint.
  await row.click();
  const proof = page.getByTestId("audit-proof");
  await expect(proof.getByTestId("checkpoint")).toContainText("vigie.room");
  await expect(proof.getByTestId("leaf")).toHaveText(/^[A-Za-z0-9+/]{43}=$/);
  await expect(proof.getByTestId("stored")).toContainText("incident_shared");
  await expect(proof.getByTestId("inclusion").locator("li").first()).toBeVisible();
  await shot(page, "audit-proof-desktop.png", info);

  // A verification on demand.
  await page.getByTestId("verify-now").click();
  await expect(page.getByTestId("verdict")).toContainText("Intact", { timeout: 30_000 });

  // The export link gives the file an inspector verifies at home.
  const href = await page.getByTestId("audit-export").getAttribute("href");
  const res = await page.request.get(`${vigie.url}${href}`);
  expect(res.status()).toBe(200);
  const file = await res.json();
  expect(file.format).toBe("vigie-audit-export/1");
  expect(file.events.some((e: { kind: string }) => e.kind === "incident_shared")).toBe(true);

  // Nobody else opens the record.
  const ppContext = await browser.newContext();
  const pp = await ppContext.newPage();
  await signIn(pp, vigie, "pp", "/audit");
  await expect(pp.locator("body")).toContainText(/403|not open|pas ouverte|may not/i);
});

test("the record on a tablet, in French", async ({ browser }, info) => {
  await restrictedSharedWithBka();
  const context = await browser.newContext({ viewport: { width: 1024, height: 768 }, hasTouch: true, locale: "fr-FR" });
  const page = await context.newPage();
  await signInEnrolling(page, vigie, "auditor", "/audit");
  await expect(page.getByTestId("audit")).toHaveAttribute("data-ready", "true");
  await expect(page.locator("h2").first()).toHaveText(/Vérification/i);
  await expect(page.getByTestId("audit-entries").locator("tr").nth(1)).toBeVisible();
  const search = page.getByTestId("audit-search");
  expect((await search.boundingBox())!.height).toBeGreaterThanOrEqual(44);
  await shot(page, "audit-tablet-fr.png", info);
});
