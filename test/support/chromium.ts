/**
 * Debian's Chromium for the browser tests (playwright-core drives it; it never downloads a
 * browser of its own). The integration set-up installs it when it is missing, as CI's fresh
 * Debian machine needs: `apt-get install chromium`, only as root with apt-get present; anywhere
 * else a missing browser fails the run, naming the command, rather than skipping the test.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';

export const CHROMIUM = '/usr/bin/chromium';

/**
 * Launch flags for this machine's closed network (no background connections to Google's hosts)
 * and for running as root (no sandbox); playwright adds `--headless` and a new, empty profile.
 */
export const CHROMIUM_ARGS = ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];

function aptGet(args: readonly string[]): { ok: boolean; output: string } {
  const result = spawnSync('apt-get', args, { env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' }, encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  return { ok: result.status === 0, output: `${result.stdout ?? ''}${result.stderr ?? ''}${result.error ? String(result.error) : ''}` };
}

export function ensureChromium(): void {
  if (existsSync(CHROMIUM)) {
    return;
  }
  const manual = `The browser test needs Debian's Chromium at ${CHROMIUM}: run "apt-get update && apt-get install -y --no-install-recommends chromium" as root`;
  if (process.getuid?.() !== 0 || !existsSync('/usr/bin/apt-get')) {
    throw new Error(`${manual} (this set-up installs it only as root on a machine with apt-get)`);
  }
  console.log(`Installing Debian's chromium (${CHROMIUM} is missing) …`);
  const install = ['install', '-y', '--no-install-recommends', 'chromium'];
  // A fresh machine's package lists may be empty or stale: update them once if the install fails.
  let attempt = aptGet(install);
  if (!attempt.ok) {
    const update = aptGet(['update']);
    attempt = update.ok ? aptGet(install) : update;
  }
  if (!attempt.ok || !existsSync(CHROMIUM)) {
    throw new Error(`${manual}; apt-get failed:\n${attempt.output.slice(-4000)}`);
  }
}
