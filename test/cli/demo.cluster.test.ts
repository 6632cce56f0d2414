/** `npm run demo` (and `-- --flux`) keep working as the README shows it (each starts its own control plane). */
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
    // The nightly backup's schedule (dates by shape: the demo runs on today's date), and the run the
    // watcher creates when its clock is moved to the next due time.
    expect(stdout).toMatch(/database-backup\s+H 2 \* \* \*\s+Europe\/Berlin\s+Active\s+-\s+\d{4}-\d\d-\d\dT02:\d\d:00\+0[12]:00 \(in /);
    expect(stdout).toMatch(/database-backup-\d{10}\s+\(JobConfig database-backup, Deferred, scheduled for \d{4}-\d\d-\d\dT0[01]:\d\d:00Z\)\nPhase:\s+Queued/);
    expect(stdout).toContain('==> Stopping the watcher and the control plane');
  }, 180_000);

  it('--flux: Flux applies dist/ from Git on an empty cluster and KWOK runs the Pods; the same story', async () => {
    const { stdout } = await promisify(execFile)(process.execPath, ['--import', 'tsx', 'scripts/demo.ts', '--flux'], { env: { ...process.env, NO_COLOR: '1' }, timeout: 240_000 });
    expect(stdout).toMatch(/Kustomization setup: 3 objects applied at main@sha1:[0-9a-f]{40}/);
    expect(stdout).toMatch(/Kustomization jobs: \d+ objects applied at main@sha1:[0-9a-f]{40}/);
    // KWOK ran the backups' first attempts on its nodes (exit 3, from the annotations the demo adds).
    expect(stdout).toMatch(/database-backup-2026-11-21-full-0-0: Failed on kwok-node-\d/);
    expect(stdout).toMatch(/database-backup-2026-11-21-full\s+database-backup\s+RetryBackoff\s+0\/1/);
    expect(stdout).toMatch(/0\s+Failed \d+s \(Error\)/);
    expect(stdout).toMatch(/release-build-v2-4-0\s+release-build\s+Retrying\s+5\/6/);
    // The report export's Jobs: Pods from the job controller, run by KWOK.
    expect(stdout).toMatch(/report-export-2026-10\s+report-export\s+Succeeded\s+\d\/3/);
    expect(stdout).toMatch(/database-backup-\d{10}\s+\(JobConfig database-backup, Deferred, scheduled for \d{4}-\d\d-\d\dT0[01]:\d\d:00Z\)\nPhase:\s+Queued/);
    expect(stdout).toContain('==> Stopping the watcher and the control plane');
  }, 300_000);
});
