/** `npm run demo` keeps working as the README shows it (it starts its own control plane). */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

describe('npm run demo', () => {
  it('runs the whole loop and shows the runs as the README does', async () => {
    const { stdout } = await promisify(execFile)(process.execPath, ['--import', 'tsx', 'scripts/demo.ts'], { env: { ...process.env, NO_COLOR: '1' }, timeout: 150_000 });
    expect(stdout).toMatch(/database-backup-2026-11-21-full\s+database-backup\s+RetryBackoff\s+0\/1/);
    expect(stdout).toMatch(/database-backup-restore-drill\s+database-backup\s+Queued\s.*pending other concurrent runs/);
    expect(stdout).toMatch(/release-build-v2-4-0\s+release-build\s+Retrying\s+5\/6/);
    expect(stdout).toMatch(/report-export-2026-10\s+report-export\s+Succeeded\s+1\/3/);
    expect(stdout).toMatch(/arm64-windows\s+Failed \d+s \(Failed\)\s+Starting/);
    // The nightly backup's schedule: the watcher creates its run when the demo clock reaches it.
    expect(stdout).toMatch(/database-backup\s+H 2 \* \* \*\s+Europe\/Berlin\s+Active\s+-\s+2026-11-23T02:\d\d:00\+01:00/);
    expect(stdout).toMatch(/database-backup-\d{10}\s+\(JobConfig database-backup, Deferred, scheduled for 2026-11-23T01:\d\d:00Z\)\nPhase:\s+Queued/);
    expect(stdout).toContain('==> Stopping the watcher and the control plane');
  }, 180_000);
});
