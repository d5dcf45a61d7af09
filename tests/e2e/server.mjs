// Builds the candidate service (crate localrank-server) and the demo site (Vite, as `npm
// start` does), and starts the service on an ephemeral loopback port over a fixture model
// directory and the built site. Resolves once it prints its URL.
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildSite } from '../../scripts/build-site.mjs';

export const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

/** Path to the server binary, building it (debug profile: quick, and enough for tests). */
export function serverBinary() {
  if (process.env.LOCALRANK_SERVER_BIN) return process.env.LOCALRANK_SERVER_BIN;
  execFileSync('cargo', ['build', '--quiet', '-p', 'localrank-server'], { cwd: ROOT, stdio: 'inherit' });
  const target = process.env.CARGO_TARGET_DIR ?? join(ROOT, 'target');
  const bin = join(target, 'debug', 'localrank-server');
  if (!existsSync(bin)) throw new Error(`built, but ${bin} is missing`);
  return bin;
}

/**
 * The demo site built by Vite from www/ (scripts/build-site.mjs, what `npm start` serves), into
 * a temporary folder so a running `npm start` and its www/dist are left alone.
 */
export async function buildDemoSite() {
  const outDir = mkdtempSync(join(tmpdir(), 'localrank-e2e-site-'));
  await buildSite({ outDir, logLevel: 'warn' });
  return outDir;
}

/** `args`: more command-line options, e.g. `['--experiment-split', '1']`. */
export async function startServer({ modelDir, catalogue, args = [] }) {
  const binary = serverBinary();
  const site = await buildDemoSite();
  const child = spawn(binary, ['--addr', '127.0.0.1:0', '--site', site, '--model-dir', modelDir, '--catalogue', catalogue, ...args], {
    cwd: ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const log = [];
  const url = await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`the server did not start:\n${log.join('')}`)), 30_000);
    child.stdout.on('data', (chunk) => {
      log.push(chunk.toString());
      const match = log.join('').match(/http:\/\/(127\.0\.0\.1:\d+)\//);
      if (match) { clearTimeout(timer); resolve(`http://${match[1]}`); }
    });
    child.stderr.on('data', (chunk) => log.push(chunk.toString()));
    child.once('exit', (code) => {
      clearTimeout(timer);
      rmSync(site, { recursive: true, force: true });
      reject(new Error(`the server exited (${code}):\n${log.join('')}`));
    });
  });
  return {
    url,
    log,
    /** The built site the service serves. */
    site,
    /** SIGTERM, then wait for the graceful exit (and delete the built site); resolves with the exit code. */
    stop() {
      return new Promise((resolve) => {
        child.removeAllListeners('exit');
        child.once('exit', (code) => {
          rmSync(site, { recursive: true, force: true });
          resolve(code);
        });
        child.kill('SIGTERM');
      });
    },
  };
}
