// Builds the candidate service (crate localrank-server) and starts it on an ephemeral
// loopback port over a fixture model directory. Resolves once it prints its URL.
import { execFileSync, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

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

export async function startServer({ modelDir, catalogue }) {
  const child = spawn(serverBinary(), ['--addr', '127.0.0.1:0', '--site', ROOT, '--model-dir', modelDir, '--catalogue', catalogue], {
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
    child.once('exit', (code) => { clearTimeout(timer); reject(new Error(`the server exited (${code}):\n${log.join('')}`)); });
  });
  return {
    url,
    log,
    /** SIGTERM, then wait for the graceful exit; resolves with the exit code. */
    stop() {
      return new Promise((resolve) => {
        child.removeAllListeners('exit');
        child.once('exit', (code) => resolve(code));
        child.kill('SIGTERM');
      });
    },
  };
}
