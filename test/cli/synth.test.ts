/**
 * `taskplane synth` (what `npm run synth` runs): the real cdk8s synth over a small app. A failed
 * validation leaves the previous output byte for byte, prints only the problems, and exits 2.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';

const repo = path.resolve(import.meta.dirname, '../..');

function synth(dir: string, env: Record<string, string> = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    // cdk8s-cli is found as `npm run` finds it, from the app's directory up: here only on PATH.
    const PATH = `${path.join(repo, 'node_modules/.bin')}${path.delimiter}${process.env.PATH}`;
    execFile(process.execPath, [path.join(repo, 'bin/taskplane.mjs'), 'synth'], { cwd: dir, env: { ...process.env, PATH, NO_COLOR: '1', ...env } }, (error, stdout, stderr) =>
      resolve({ code: error ? Number(error.code) : 0, stdout, stderr }),
    );
  });
}

/** Every file under `dir` with its content. */
function snapshot(dir: string): Record<string, string> {
  const entries = readdirSync(dir, { recursive: true, withFileTypes: true }).filter((e) => e.isFile());
  return Object.fromEntries(entries.map((e) => path.join(e.parentPath, e.name)).sort().map((file) => [path.relative(dir, file), readFileSync(file, 'utf8')]));
}

describe('taskplane synth', () => {
  it('replaces the output on success, and on a validation error keeps it and prints only the problems', { timeout: 120_000 }, async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'taskplane-synth-'));
    writeFileSync(path.join(dir, 'cdk8s.yaml'), `language: typescript\napp: ${path.join(repo, 'node_modules/.bin/tsx')} ${path.join(repo, 'test/fixtures/synth-app/main.ts')}\noutput: out\n`);

    const good = await synth(dir);
    expect(good.stderr).toBe('');
    expect(good.code).toBe(0);
    expect(good.stdout).toBe('Synthesized 5 files:\n  - out/00-setup/00-namespaces.k8s.yaml\n  - out/Kustomization\n  - out/jobs/nightly/jobconfig.k8s.yaml\n  - out/jobs/weekly/jobconfig.k8s.yaml\n  - out/jobs/weekly/runs/weekly-r1.k8s.yaml\n');
    const before = snapshot(path.join(dir, 'out'));
    expect(Object.keys(before)).toHaveLength(5);

    const bad = await synth(dir, { TASKPLANE_FIXTURE_BROKEN: '1' });
    expect(bad.code).toBe(2);
    expect(bad.stdout).toBe('');
    expect(bad.stderr.split('\n')).toEqual([
      'Validation failed with the following errors:',
      '  [jobs/nightly] spec.template.maxAttempts: must be <= 50 (got 51)',
      expect.stringMatching(/^ {2}\[jobs\/weekly\/r1\] spec\.template\.taskTemplate\.pod\.spec\.containers\[0\]\.args\[0\]: unknown variable \$\{task\.nmae\}.*did you mean \$\{task\.name\}\?$/),
      'out/ was left as it was.',
      '',
    ]);
    expect(snapshot(path.join(dir, 'out'))).toEqual(before);
    // No staging or previous directory is left next to the output.
    expect(readdirSync(dir).sort()).toEqual(['cdk8s.yaml', 'out']);
  });
});
