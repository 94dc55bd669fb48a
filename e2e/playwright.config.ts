// End-to-end tests of the UI: in Debian's Chromium against serve mode
// (serve.spec.ts), and in Electron where a binary is provided
// (electron.spec.ts, skipped with its reason otherwise). Never downloads a
// browser: Chromium is /usr/bin/chromium (apt-get install chromium).
import { defineConfig } from '@playwright/test';

export default defineConfig({
  testDir: '.',
  testMatch: /.*\.spec\.ts/,
  timeout: 60_000,
  workers: 1,
  reporter: [['list']],
  outputDir: '../test-results/e2e',
  use: {
    launchOptions: {
      executablePath: process.env.COROSCOPE_CHROMIUM ?? '/usr/bin/chromium',
      args: [
        '--no-sandbox',
        '--disable-gpu',
        '--disable-background-networking',
        '--disable-component-update',
        '--no-first-run',
        '--disable-sync',
      ],
    },
    viewport: { width: 1400, height: 900 },
  },
});
