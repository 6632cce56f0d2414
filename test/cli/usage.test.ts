/**
 * The `taskplane` command without a cluster: help, version, and the one-line errors for a mistyped
 * command or flag, a missing kubeconfig, and a cluster that lacks taskplane's CRDs.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { describeError } from '../../cli/errors.js';
import { ApiError } from '../../watcher/kube/client.js';

const repo = path.resolve(import.meta.dirname, '../..');

function taskplane(args: string[], env: Record<string, string | undefined> = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [path.join(repo, 'bin/taskplane.mjs'), ...args], { env: { ...process.env, NO_COLOR: '1', ...env } }, (error, stdout, stderr) =>
      resolve({ code: error ? Number(error.code) : 0, stdout, stderr }),
    );
  });
}

describe('taskplane usage', () => {
  it('--version prints the package version', async () => {
    const { version } = JSON.parse(readFileSync(path.join(repo, 'package.json'), 'utf8')) as { version: string };
    expect(await taskplane(['--version'])).toEqual({ code: 0, stdout: `taskplane ${version}\n`, stderr: '' });
  });

  it('help <command> and <command> --help print that command\'s usage', async () => {
    const help = await taskplane(['help', 'kill']);
    expect(help).toMatchObject({ code: 0, stderr: '' });
    expect(help.stdout).toMatch(/^usage: taskplane kill <run>/);
    expect(help.stdout).toContain('--at TIME');
    expect(help.stdout).not.toContain('--workers');
    expect(await taskplane(['kill', '--help'])).toEqual(help);
    expect((await taskplane(['--help'])).stdout).toMatch(/commands:\n {2}status .*\n {2}run /);
  });

  it('a mistyped command or flag: one line with a did-you-mean, exit 2', async () => {
    expect(await taskplane(['stauts'])).toEqual({ code: 2, stdout: '', stderr: 'taskplane: unknown command "stauts"; did you mean "status"? (taskplane --help lists them)\n' });
    expect(await taskplane(['status', '--namspace', 'batch'])).toEqual({ code: 2, stdout: '', stderr: 'taskplane: unknown flag --namspace; did you mean "--namespace"?\n' });
    expect(await taskplane(['status', '--at', 'now'])).toEqual({ code: 2, stdout: '', stderr: 'taskplane: status does not take --at; see: taskplane help status\n' });
  });

  it('no kubeconfig, or an unreadable one: one line with the fix, exit 2', async () => {
    const home = mkdtempSync(path.join(tmpdir(), 'taskplane-home-'));
    expect(await taskplane(['status'], { HOME: home, KUBECONFIG: undefined, KUBERNETES_SERVICE_HOST: undefined })).toEqual({
      code: 2,
      stdout: '',
      stderr: `taskplane: no kubeconfig: KUBECONFIG is not set, ${home}/.kube/config does not exist, and this is not a Pod in a cluster; pass --kubeconfig FILE or set KUBECONFIG\n`,
    });
    expect(await taskplane(['status', '--kubeconfig', `${home}/missing`])).toEqual({
      code: 2,
      stdout: '',
      stderr: `taskplane: cannot read the kubeconfig ${home}/missing: no such file; pass --kubeconfig FILE or set KUBECONFIG\n`,
    });
  });

  it('a cluster without the CRDs (discovery 404) is named as such, not as a missing object', () => {
    const fix = 'the taskplane CRDs are not installed: apply dist/taskplane.k8s.yaml (TaskplaneCrds), e.g. kubectl apply -f dist/taskplane.k8s.yaml';
    expect(describeError(new ApiError(404, 'NotFound', 'GET /apis/taskplane.dev/v1alpha1: 404 404 page not found'))).toBe(fix);
    expect(describeError(new ApiError(404, 'NotFound', 'the server has no JobRun in taskplane.dev/v1alpha1 (is its CRD installed?)'))).toBe(fix);
    expect(describeError(new ApiError(404, 'NotFound', 'GET /apis/taskplane.dev/v1alpha1/namespaces/b/jobruns/x: 404 not found'))).not.toBe(fix);
  });
});
