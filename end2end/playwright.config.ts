import { defineConfig, devices } from "@playwright/test";

// Debian's Chromium, never a downloaded browser. The flags keep it off the (closed) network:
// without them it keeps trying to reach Google's hosts.
const chromium = {
  executablePath: process.env.VIGIE_CHROMIUM ?? "/usr/bin/chromium",
  args: [
    "--no-sandbox",
    "--disable-gpu",
    "--enable-unsafe-swiftshader",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-quic",
    "--no-first-run",
  ],
};

export default defineConfig({
  testDir: "tests",
  outputDir: "test-results",
  // Each test file starts its own vigie on its own port and log; two workers suit the 2-core machines.
  workers: 2,
  fullyParallel: false,
  retries: 0,
  timeout: 60_000,
  expect: { timeout: 10_000 },
  reporter: [["list"], ["html", { open: "never", outputFolder: "playwright-report" }]],
  use: {
    launchOptions: chromium,
    screenshot: "only-on-failure",
    trace: "retain-on-failure",
  },
  projects: [
    { name: "desktop", testIgnore: /tablet/, use: { ...devices["Desktop Chrome"], viewport: { width: 1920, height: 1080 }, launchOptions: chromium } },
    { name: "tablet", testMatch: /tablet/, use: { ...devices["Galaxy Tab S4"], launchOptions: chromium } },
  ],
});
