/**
 * The `taskplane` command as a person runs it: the real bin/taskplane.mjs in a child process against
 * the real control plane, checking what it prints, its exit code, and what it changed in the cluster.
 */
import { execFile } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Duration } from 'cdk8s';
import { parseAllDocuments } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Option, Parallelism, TaskTemplate } from '../../constructs/index.js';
import { jobConfigCrd, jobRunCrd } from '../../engine/schema/crd.js';
import type { Watcher } from '../../watcher/controller.js';
import { applyCrds, clusterInfo, createNamespace, finishPod, waitUntil, type TestNamespace } from '../cluster/client.js';
import { tempOutdir } from '../_synth.js';
import { applyAsGitOps, ARGOCD, listTasks, podTask, startWatcher, synthRun, testClient, waitForRun } from '../watcher/helpers.js';

const run = promisify(execFile);
const client = testClient();
let ns: TestNamespace;
let watcher: Watcher;

/** Runs the CLI; never throws: returns what a person would see and the exit code. */
async function taskplane(args: string[], kubeconfig = clusterInfo().kubeconfigPath): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(process.execPath, ['bin/taskplane.mjs', ...args, '--kubeconfig', kubeconfig], { env: { ...process.env, NO_COLOR: '1' } });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const e = error as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

beforeAll(async () => {
  await applyCrds([jobConfigCrd(), jobRunCrd()] as never, { fieldManager: ARGOCD, force: true });
  ns = await createNamespace('tp-cli');
  watcher = await startWatcher({ namespace: ns.name });
  const nightly = synthRun(
    ns.name,
    {
      name: 'nightly',
      maxAttempts: 2,
      retryDelay: Duration.seconds(0),
      parallelism: Parallelism.withKeys(['eu', 'us']),
      options: { region: Option.select({ values: ['eu', 'us'], default: 'eu' }), dryRun: Option.bool({ default: false }) },
      task: TaskTemplate.pod({ spec: podTask(['sync --region=${option.region} --dry-run=${option.dryRun} --shard=${task.index_key}']) }),
    },
    (c) => c.run('first', {}),
  );
  await applyAsGitOps([nightly.config, nightly.run, ...nightly.tasks]);
  await finishPod(ns.name, 'nightly-first-eu-0', 'Failed');
  await waitUntil('the retry of eu', () => client.get('v1', 'Pod', ns.name, 'nightly-first-eu-1'));
  await finishPod(ns.name, 'nightly-first-us-0', 'Succeeded');
});

afterAll(async () => {
  await watcher?.stop();
  await ns?.delete();
});

describe('taskplane status', () => {
  it('lists the runs of a namespace as a table', async () => {
    const { code, stdout } = await taskplane(['status', '-n', ns.name]);
    expect(code).toBe(0);
    const [header, row] = stdout.trimEnd().split('\n');
    expect(header).toMatch(/^NAME\s+CONFIG\s+PHASE\s+PROGRESS\s+DURATION\s+AGE\s+MESSAGE$/);
    expect(row).toMatch(/^nightly-first\s+nightly\s+(Pending|Running|Retrying)\s+1\/2\s/);
  });

  it('shows one run as a grid of indexes x attempts', async () => {
    const { code, stdout } = await taskplane(['status', 'nightly-first', '-n', ns.name]);
    expect(code).toBe(0);
    expect(stdout).toContain('nightly-first  (JobConfig nightly, Rendered)');
    expect(stdout).toMatch(/INDEX\s+ATTEMPT 0\s+ATTEMPT 1/);
    expect(stdout).toMatch(/\neu\s+Failed \d+s \(Error\)\s+Starting/);
    expect(stdout).toMatch(/\nus\s+Succeeded \d+s\s+-/);
  });

  it('prints JSON and YAML for programs', async () => {
    const json = await taskplane(['status', 'nightly-first', '-n', ns.name, '-o', 'json']);
    expect(JSON.parse(json.stdout).status.progress).toBe('1/2');
    const yaml = await taskplane(['status', '-n', ns.name, '-o', 'yaml']);
    expect(parseAllDocuments(yaml.stdout)[0]!.toJS().map((r: { metadata: { name: string } }) => r.metadata.name)).toEqual(['nightly-first']);
  });
});

describe('taskplane run and render', () => {
  it('run creates a Deferred JobRun with typed options, which the watcher starts', async () => {
    const { code, stdout } = await taskplane(['run', 'nightly', '-n', ns.name, '--name', 'nightly-manual', '--option', 'region=us', '--option', 'dryRun=true']);
    expect(code).toBe(0);
    expect(stdout).toBe(`jobrun ${ns.name}/nightly-manual created; the watcher starts it (follow it with: taskplane status nightly-manual -n ${ns.name} --watch)\n`);
    const pods = await waitUntil('the watcher creates both tasks', async () => {
      const list = await listTasks(client, ns.name, 'v1', 'Pod', 'nightly-manual');
      return list.length === 2 ? list : undefined;
    });
    expect((pods[0] as unknown as { spec: { containers: { args: string[] }[] } }).spec.containers[0]!.args).toEqual(['sync --region=us --dry-run=true --shard=eu']);
    const created = await waitForRun(client, ns.name, 'nightly-manual', 'started', (r) => Boolean(r.status?.startTime));
    // A string rendered unchanged is stored once, in substitutions.
    expect(created.spec).toMatchObject({ materialization: 'Deferred', optionValues: { dryRun: true }, substitutions: { 'option.region': 'us' } });
    expect(created.spec.optionValues).not.toHaveProperty('region');
  });

  it('a bad option value: one line with every problem, exit 2, nothing created', async () => {
    const before = (await client.list('taskplane.dev/v1alpha1', 'JobRun', {}, ns.name)).items.length;
    const { code, stdout, stderr } = await taskplane(['run', 'nightly', '-n', ns.name, '--option', 'region=mars', '--option', 'regoin=eu']);
    expect(code).toBe(2);
    expect(stdout).toBe('');
    expect(stderr).toBe(
      'taskplane: cannot run nightly: spec.optionValues.region: unsupported value (got "mars"); valid: one of: eu, us; ' +
        'spec.optionValues.regoin: unknown option "regoin"; valid: did you mean "region"? (one of: region, dryRun)\n',
    );
    expect((await client.list('taskplane.dev/v1alpha1', 'JobRun', {}, ns.name)).items).toHaveLength(before);
  });

  it('render prints the JobRun and its first attempts from the cluster, creating nothing', async () => {
    const { code, stdout } = await taskplane(['render', 'nightly', '-n', ns.name, '--name', 'preview', '--option', 'region=us']);
    expect(code).toBe(0);
    const documents = parseAllDocuments(stdout).map((d) => d.toJS());
    expect(documents.map((d) => `${d.kind}/${d.metadata.name}`)).toEqual(['JobRun/preview', 'Pod/preview-eu-0', 'Pod/preview-us-0']);
    expect(documents[1].spec.containers[0].args).toEqual(['sync --region=us --dry-run=false --shard=eu']);
    await expect(client.get('taskplane.dev/v1alpha1', 'JobRun', ns.name, 'preview')).rejects.toThrow(/404/);
  });

  it('render reads a JobConfig from a synth output file, no cluster needed', async () => {
    const { config } = synthRun('batch', { name: 'offline', task: TaskTemplate.pod({ spec: podTask(['echo ${job.name}']) }) }, (c) => c.run('x', {}));
    const file = join(tempOutdir(), 'jobconfig.yaml');
    writeFileSync(file, JSON.stringify(config));
    const { code, stdout } = await taskplane(['render', 'offline', '-f', file, '--name', 'offline-now', '-o', 'json'], '/nonexistent/kubeconfig');
    expect(code).toBe(0);
    expect(JSON.parse(stdout).map((d: { kind: string }) => d.kind)).toEqual(['JobRun', 'Pod']);
  });
});

describe('errors people see', () => {
  it('an unknown run or config: one line naming it and how to list what exists, exit 2', async () => {
    expect(await taskplane(['status', 'nope', '-n', ns.name])).toMatchObject({
      code: 2,
      stderr: `taskplane: no JobRun "nope" in namespace "${ns.name}"; list them with: kubectl get jobruns -n ${ns.name}\n`,
    });
    expect(await taskplane(['run', 'nope', '-n', ns.name])).toMatchObject({ code: 2, stderr: expect.stringContaining('no JobConfig "nope"') });
    expect(await taskplane(['kill', 'nope', '-n', ns.name])).toMatchObject({ code: 2, stderr: expect.stringContaining('no JobRun "nope"') });
  });

  it('an unreachable cluster: one line, exit 1', async () => {
    const unreachable = join(tempOutdir(), 'kubeconfig');
    writeFileSync(
      unreachable,
      JSON.stringify({
        apiVersion: 'v1',
        kind: 'Config',
        clusters: [{ name: 'c', cluster: { server: 'https://127.0.0.1:1', 'insecure-skip-tls-verify': true } }],
        users: [{ name: 'u', user: { token: 'x' } }],
        contexts: [{ name: 'c', context: { cluster: 'c', user: 'u' } }],
        'current-context': 'c',
      }),
    );
    const { code, stderr } = await taskplane(['status', '-n', 'default'], unreachable);
    expect(code).toBe(1);
    expect(stderr).toBe('taskplane: cannot reach the cluster: connect ECONNREFUSED 127.0.0.1:1; check --kubeconfig and --context\n');
  });

  it('access denied: one line, exit 1, nothing changed', async () => {
    // A ServiceAccount with no permissions, through a real token.
    await client.create({ apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'nobody', namespace: ns.name } });
    const token = await client.request<{ status: { token: string } }>('POST', `/api/v1/namespaces/${ns.name}/serviceaccounts/nobody/token`, {
      body: { apiVersion: 'authentication.k8s.io/v1', kind: 'TokenRequest', spec: { expirationSeconds: 600 } },
    });
    const denied = join(tempOutdir(), 'kubeconfig');
    writeFileSync(
      denied,
      JSON.stringify({
        apiVersion: 'v1',
        kind: 'Config',
        clusters: [{ name: 'c', cluster: { server: clusterInfo().server, 'insecure-skip-tls-verify': true } }],
        users: [{ name: 'u', user: { token: token.status.token } }],
        contexts: [{ name: 'c', context: { cluster: 'c', user: 'u' } }],
        'current-context': 'c',
      }),
    );
    const { code, stderr } = await taskplane(['kill', 'nightly-first', '-n', ns.name], denied);
    expect(code).toBe(1);
    expect(stderr).toMatch(/^taskplane: the cluster denied access: .*cannot patch resource "jobruns".*; ask for RBAC permission or use another --context\n$/);
    const live = await client.get<{ spec: { killTimestamp?: string } } & import('../../watcher/kube/client.js').KubeObject>('taskplane.dev/v1alpha1', 'JobRun', ns.name, 'nightly-first');
    expect(live.spec.killTimestamp).toBeUndefined();
  });
});
