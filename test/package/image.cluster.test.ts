/**
 * The watcher image as a container runtime would start it: built by `npm run image` (image/build.ts),
 * its layers unpacked in order into a root filesystem, its entrypoint run under chroot as the image's
 * user with the image's environment and nothing from the host, against the test control plane. It
 * must become ready and drive a run through a retry.
 */
import { execFileSync } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Duration } from 'cdk8s';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TaskTemplate } from '../../constructs/index.js';
import { jobConfigCrd, jobRunCrd } from '../../engine/schema/crd.js';
import { applyCrds, clusterInfo, createNamespace, finishPod, waitUntil, type TestNamespace } from '../cluster/client.js';
import { httpGet } from '../cluster/http.js';
import { applyAsGitOps, ARGOCD, getRun, podTask, spawnWatcher, synthRun, testClient, type WatcherProcess } from '../watcher/helpers.js';

const repo = path.resolve(import.meta.dirname, '../..');
const layout = path.join(repo, 'image/out/layout');

interface ImageConfig {
  config: { User: string; Env: string[]; Entrypoint: string[]; Cmd: string[]; Labels: Record<string, string> };
}

const blob = (digest: string) => readFileSync(path.join(layout, 'blobs/sha256', digest.replace('sha256:', '')));

describe('the watcher image', () => {
  const client = testClient();
  let rootfs: string;
  let config: ImageConfig['config'];
  let ns: TestNamespace;
  let watcher: WatcherProcess | undefined;

  beforeAll(() => {
    execFileSync(path.join(repo, 'node_modules/.bin/tsx'), [path.join(repo, 'image/build.ts')], { cwd: repo, stdio: ['ignore', 'ignore', 'inherit'] });
    const index = JSON.parse(readFileSync(path.join(layout, 'index.json'), 'utf8')) as { manifests: { digest: string }[] };
    const manifest = JSON.parse(blob(index.manifests[0]!.digest).toString('utf8')) as { config: { digest: string }; layers: { digest: string }[] };
    config = (JSON.parse(blob(manifest.config.digest).toString('utf8')) as ImageConfig).config;
    rootfs = mkdtempSync(path.join(tmpdir(), 'taskplane-image-rootfs-'));
    chmodSync(rootfs, 0o755); // a container's / (mkdtemp makes it 0700, which the image's user could not enter)
    for (const layer of manifest.layers) execFileSync('tar', ['-xzf', path.join(layout, 'blobs/sha256', layer.digest.replace('sha256:', '')), '-C', rootfs]);
  }, 600_000);

  afterAll(async () => {
    await watcher?.kill();
    await ns?.delete();
    if (rootfs) rmSync(rootfs, { recursive: true, force: true });
  });

  it('runs as a non-root user, labelled, with node and the compiled CLI as its entrypoint', () => {
    expect(config.User).toBe('1000:1000');
    expect(config.Entrypoint).toEqual(['/usr/local/bin/node', '/app/bin/taskplane.mjs']);
    expect(config.Cmd).toEqual(['watch']);
    expect(config.Labels).toMatchObject({ 'org.opencontainers.image.title': 'taskplane-watcher', 'org.opencontainers.image.version': expect.any(String) });
    // Production dependencies only: no tsx, no TypeScript, no cdk8s (the watcher needs none of them).
    for (const absent of ['tsx', 'typescript', 'cdk8s', 'vitest']) expect(() => readFileSync(path.join(rootfs, 'app/node_modules', absent, 'package.json')), absent).toThrow();
    expect(() => readFileSync(path.join(rootfs, 'app/cli/main.ts'))).toThrow();
  });

  it('starts from its own filesystem and drives a run through a retry', { timeout: 180_000 }, async () => {
    await applyCrds([jobConfigCrd(), jobRunCrd()] as never, { fieldManager: ARGOCD, force: true });
    ns = await createNamespace('tp-image');
    const flaky = synthRun(ns.name, { name: 'flaky', maxAttempts: 2, retryDelay: Duration.seconds(0), task: TaskTemplate.pod({ spec: podTask(['exit 1']) }) }, (c) => c.run('first', {}));
    await applyAsGitOps([flaky.config, flaky.run, ...flaky.tasks]);

    writeFileSync(path.join(rootfs, 'tmp/kubeconfig'), readFileSync(clusterInfo().kubeconfigPath));
    const [uid, gid] = config.User.split(':');
    const started = Date.now();
    watcher = await spawnWatcher({
      kubeconfig: '/tmp/kubeconfig',
      namespace: ns.name,
      // The image's environment only (env -i), its root filesystem, its user, its entrypoint.
      command: ['/usr/bin/env', '-i', ...config.Env, '/usr/sbin/chroot', `--userspec=${uid}:${gid}`, rootfs, ...config.Entrypoint],
    });
    await waitUntil('the watcher in the image is ready', async () => {
      if ((await Promise.race([watcher!.exited, Promise.resolve(undefined)])) !== undefined) throw new Error(`the watcher exited:\n${watcher!.output()}`);
      return (await httpGet(`${watcher!.url}/readyz`).catch(() => ({ status: 0 }))).status === 200 || undefined;
    }, 60_000);
    console.log(`image: watcher ready ${Date.now() - started} ms after start`);
    expect(readFileSync(`/proc/${watcher.pid}/status`, 'utf8')).toMatch(new RegExp(`\\nUid:\\s+${uid}\\s`));

    await finishPod(ns.name, 'flaky-first-0-0', 'Failed');
    await waitUntil('the retry', () => client.get('v1', 'Pod', ns.name, 'flaky-first-0-1'), 60_000);
    const run = await getRun(client, ns.name, 'flaky-first');
    expect(JSON.stringify(run.status)).toContain('flaky-first-0-1');
  });
});
