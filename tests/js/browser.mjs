// Shared by the JS tests and the browser benchmarks: Debian's Chromium driven by
// playwright-core (never a downloaded browser), and the project's static server.
import { chromium } from 'playwright-core';
import { startServer } from '../../scripts/serve.mjs';

export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

/** Quiet, offline-friendly flags; WebGPU (SwiftShader here) only when asked for. */
export function chromiumArgs({ webgpu }) {
  return [
    ...(webgpu ? ['--enable-unsafe-webgpu'] : []),
    '--disable-background-networking',
    '--disable-component-update',
    '--disable-sync',
    '--no-first-run',
  ];
}

export async function launch({ webgpu = true } = {}) {
  return chromium.launch({ executablePath: CHROMIUM, headless: true, args: chromiumArgs({ webgpu }) });
}

/**
 * Starts the static server and a browser; returns them with a `close()` for both. `isolate`:
 * cross-origin isolated pages (scripts/serve.mjs), for fine-grained timers.
 */
export async function session({ webgpu = true, isolate = false } = {}) {
  const { server, url } = await startServer({ isolate });
  const browser = await launch({ webgpu });
  return {
    url,
    browser,
    async close() {
      await browser.close();
      await new Promise((done) => server.close(done));
    },
  };
}

/** A page on the blank test page (same origin as the package), with console capture. */
export async function blankPage(browser, url) {
  const page = await browser.newPage();
  const logs = [];
  page.on('console', (message) => logs.push(message.text()));
  page.on('pageerror', (error) => logs.push(`pageerror: ${error.message}`));
  await page.goto(`${url}/tests/js/pages/blank.html`);
  return { page, logs };
}
