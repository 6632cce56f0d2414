/**
 * `taskplane status` with schedules and `taskplane schedule pause|resume`, as a person runs them (the
 * real bin/taskplane.mjs in a child process); the watcher reacts to the pause annotation. The CLI
 * reads the real clock, so next times are matched by shape, never by date: every shape `duration` prints
 * (`12s`, `44m40s`, `3h`, `1d2h`), whatever the time of day the test runs at.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { Chart } from 'cdk8s';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { JobConfig, Schedule, TaskplaneApp, TaskTemplate } from '../../constructs/index.js';
import { jobConfigCrd, jobRunCrd } from '../../engine/schema/crd.js';
import type { JobConfigObject } from '../../engine/schema/resources.js';
import type { Watcher } from '../../watcher/controller.js';
import type { KubeObject } from '../../watcher/kube/client.js';
import { applyCrds, clusterInfo, createNamespace, waitUntil, type TestNamespace } from '../cluster/client.js';
import { parseDocuments, readTree, tempOutdir } from '../_synth.js';
import { applyAsGitOps, ARGOCD, podTask, startWatcher, testClient } from './helpers.js';

const client = testClient();
/** Each CLI call starts Node and tsx (seconds on a busy machine); a test makes up to six. */
const CLI_TIMEOUT = 240_000;
let ns: TestNamespace;
let watcher: Watcher;

async function taskplane(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await promisify(execFile)(process.execPath, ['bin/taskplane.mjs', ...args, '--kubeconfig', clusterInfo().kubeconfigPath], { env: { ...process.env, NO_COLOR: '1' } });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const e = error as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

const getConfig = (name: string) => client.get<JobConfigObject & KubeObject>('taskplane.dev/v1alpha1', 'JobConfig', ns.name, name);

beforeAll(async () => {
  await applyCrds([jobConfigCrd(), jobRunCrd()] as never, { fieldManager: ARGOCD, force: true });
  ns = await createNamespace('tp-sched-cli');
  const app = new TaskplaneApp({ outdir: tempOutdir() });
  const chart = new Chart(app, 'jobs', { namespace: ns.name });
  new JobConfig(chart, 'nightly', { task: TaskTemplate.pod({ spec: podTask() }), schedule: Schedule.cron('H 3 * * *', { timezone: 'Europe/Berlin' }) });
  new JobConfig(chart, 'adhoc', { task: TaskTemplate.pod({ spec: podTask() }) });
  app.synth();
  const files = readTree(app.outdir);
  await applyAsGitOps(['nightly', 'adhoc'].map((name) => parseDocuments(files.get(`jobs/${name}/jobconfig.k8s.yaml`)!)[0]));
  watcher = await startWatcher({ namespace: ns.name });
});

afterAll(async () => {
  await watcher?.stop();
  await ns?.delete();
});

describe('schedules in the CLI', () => {
  it('status lists each schedule with its zone, state, last and next run, and what it means', async () => {
    const { code, stdout } = await taskplane(['status', '-n', ns.name]);
    expect(code).toBe(0);
    const [header, row, , noRuns] = stdout.split('\n');
    expect(header).toMatch(/^SCHEDULE OF\s+CRON\s+TIMEZONE\s+STATE\s+LAST\s+NEXT\s+MEANING$/);
    expect(row).toMatch(/^nightly\s+H 3 \* \* \*\s+Europe\/Berlin\s+Active\s+-\s+\d{4}-\d\d-\d\dT03:\d\d:00\+0[12]:00 \(in \d+[dhms](\d+[hms])?\)\s+at 03:\d\d every day$/);
    expect(noRuns).toBe(`No JobRuns in namespace ${ns.name}.`);
  }, CLI_TIMEOUT);

  it('pause sets an annotation the watcher reads (Git has no such field), resume removes it', async () => {
    const paused = await taskplane(['schedule', 'pause', 'nightly', '-n', ns.name]);
    expect(paused).toMatchObject({ code: 0, stdout: `jobconfig ${ns.name}/nightly: schedule paused (no scheduled runs until: taskplane schedule resume nightly -n ${ns.name})\n` });
    expect((await getConfig('nightly')).metadata.annotations?.['taskplane.dev/schedule-paused']).toMatch(/^paused at .* with taskplane schedule pause$/);
    const status = await waitUntil('the watcher reports the pause', async () => ((await getConfig('nightly')).status?.schedulePaused ? (await getConfig('nightly')).status : undefined));
    expect(status.state).toBe('ReadyDisabled');
    expect(status.nextScheduled).toBeUndefined();
    expect((await taskplane(['status', '-n', ns.name])).stdout).toMatch(/\nnightly\s+H 3 \* \* \*\s+Europe\/Berlin\s+Paused\s+-\s+-\s+/);
    // Re-applying the JobConfig as Argo CD does keeps the pause: the annotation is not Argo's.
    await applyAsGitOps([{ apiVersion: 'taskplane.dev/v1alpha1', kind: 'JobConfig', metadata: { name: 'nightly', namespace: ns.name }, spec: (await getConfig('nightly')).spec }]);
    expect((await getConfig('nightly')).metadata.annotations?.['taskplane.dev/schedule-paused']).toBeDefined();

    expect((await taskplane(['schedule', 'pause', 'nightly', '-n', ns.name])).stdout).toBe(`jobconfig ${ns.name}/nightly: schedule already paused\n`);
    const resumed = await taskplane(['schedule', 'resume', 'nightly', '-n', ns.name]);
    expect(resumed).toMatchObject({ code: 0, stdout: `jobconfig ${ns.name}/nightly: schedule resumed (runs missed while paused are not created)\n` });
    const after = await waitUntil('the watcher reports the resume', async () => {
      const c = await getConfig('nightly');
      return !c.status?.schedulePaused && c.status?.nextScheduled ? c : undefined;
    });
    expect(after.metadata.annotations?.['taskplane.dev/schedule-paused']).toBeUndefined();
    expect(after.status?.state).toBe('ReadyEnabled');
  }, CLI_TIMEOUT);

  it('a config without a schedule, or a bad command: one line, exit 2', async () => {
    expect(await taskplane(['schedule', 'pause', 'adhoc', '-n', ns.name])).toMatchObject({ code: 2, stderr: 'taskplane: JobConfig "adhoc" has no schedule; add one with Schedule.cron(...) in its construct\n' });
    expect(await taskplane(['schedule', 'stop', 'nightly', '-n', ns.name])).toMatchObject({ code: 2, stderr: 'taskplane: usage: taskplane schedule pause|resume <config> [-n NS]\n' });
    expect((await taskplane(['schedule', 'resume', 'missing', '-n', ns.name])).code).toBe(2);
  }, CLI_TIMEOUT);
});
