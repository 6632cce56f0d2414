import { readFileSync } from 'node:fs';
import { Chart } from 'cdk8s';
import { describe, expect, it } from 'vitest';
import {
  argoCdHealthChecks,
  fluxHealthCheckExprs,
  GitOpsHealthChecks,
  JobConfig,
  Materialization,
  TaskplaneApp,
  TaskTemplate,
  type GitOpsHealthChecksProps,
} from '../../constructs/index.js';
import { parseDocuments, synthToTree, tempOutdir } from '../_synth.js';

const task = TaskTemplate.pod({ spec: { containers: [{ name: 'main', image: 'busybox:1.36' }] } });

/** A jobs chart with two configs and three runs, and the health checks in a chart of their own. */
function build(props: GitOpsHealthChecksProps, jobsNamespace: string | null = 'batch') {
  const app = new TaskplaneApp({ outdir: tempOutdir() });
  const jobs = new Chart(app, 'jobs', { namespace: jobsNamespace ?? undefined });
  const backup = new JobConfig(jobs, 'db-backup', { task });
  backup.run('2026-11-21', {});
  const health = new GitOpsHealthChecks(new Chart(app, 'gitops'), 'health', props);
  // Runs added after the construct are listed too: the list is made at synth.
  backup.run('2026-11-22', { materialization: Materialization.DEFERRED });
  new JobConfig(jobs, 'report', { task, namespace: 'reports' }).run('october', {});
  return { app, health };
}

const FLUX = { path: './dist/jobs', dependsOn: [{ name: 'taskplane-system' }, { name: 'taskplane-setup' }] };

describe('GitOpsHealthChecks', () => {
  it('matches its YAML snapshot (Argo CD and Flux)', async () => {
    const tree = synthToTree(build({ argoCd: {}, flux: FLUX }).app);
    await expect(tree.get('gitops.k8s.yaml')).toMatchFileSnapshot('__snapshots__/gitops-health.k8s.yaml');
  });

  it('Argo CD: argocd-cm with only the two health keys, holding the scripts exactly, as readable literal blocks', () => {
    const { app, health } = build({ argoCd: { namespace: 'gitops' } });
    const text = synthToTree(app).get('gitops.k8s.yaml')!;
    const [cm, ...rest] = parseDocuments(text);
    expect(rest).toEqual([]);
    expect(cm.metadata).toEqual({
      name: 'argocd-cm',
      namespace: 'gitops',
      labels: { 'app.kubernetes.io/name': 'argocd-cm', 'app.kubernetes.io/part-of': 'argocd' },
      annotations: { 'argocd.argoproj.io/sync-options': 'ServerSideApply=true' },
    });
    expect(cm.data).toEqual(argoCdHealthChecks());
    expect(Object.keys(cm.data)).toEqual(['resource.customizations.health.taskplane.dev_JobConfig', 'resource.customizations.health.taskplane.dev_JobRun']);
    expect(text).toContain('resource.customizations.health.taskplane.dev_JobRun: |\n');
    expect(health.fluxKustomization).toBeUndefined();
  });

  it('Flux: every JobConfig and JobRun of the app in healthChecks, JobRun healthCheckExprs, wait: false', () => {
    const { app, health } = build({ flux: FLUX });
    const [kustomization, ...rest] = parseDocuments(synthToTree(app).get('gitops.k8s.yaml')!);
    expect(rest).toEqual([]);
    expect(health.argoCdConfigMap).toBeUndefined();
    expect(kustomization.apiVersion).toBe('kustomize.toolkit.fluxcd.io/v1');
    expect(kustomization.metadata).toEqual({ name: 'taskplane-jobs', namespace: 'flux-system' });
    expect(kustomization.spec.wait).toBe(false);
    expect(kustomization.spec.healthChecks.map((r: any) => `${r.kind} ${r.namespace}/${r.name}`)).toEqual([
      'JobConfig batch/db-backup',
      'JobConfig reports/report',
      'JobRun batch/db-backup-2026-11-21',
      'JobRun batch/db-backup-2026-11-22',
      'JobRun reports/report-october',
    ]);
    expect(kustomization.spec.healthCheckExprs).toEqual(fluxHealthCheckExprs());
  });

  it('Flux options: name, namespace, source, interval, timeout, and only the charts given', () => {
    const app = new TaskplaneApp({ outdir: tempOutdir() });
    const teamA = new Chart(app, 'team-a', { namespace: 'a' });
    const teamB = new Chart(app, 'team-b', { namespace: 'b' });
    new JobConfig(teamA, 'one', { task }).run('r', {});
    new JobConfig(teamB, 'two', { task }).run('r', {});
    new GitOpsHealthChecks(new Chart(app, 'gitops'), 'health', {
      flux: { path: './out/team-a', name: 'team-a-jobs', namespace: 'team-a', sourceRef: { kind: 'OCIRepository', name: 'jobs', namespace: 'flux-system' }, interval: '2m', timeout: '1m', charts: [teamA] },
    });
    const [kustomization] = parseDocuments(synthToTree(app).get('gitops.k8s.yaml')!);
    expect(kustomization.metadata).toEqual({ name: 'team-a-jobs', namespace: 'team-a' });
    expect(kustomization.spec).toMatchObject({ interval: '2m', timeout: '1m', path: './out/team-a', sourceRef: { kind: 'OCIRepository', name: 'jobs', namespace: 'flux-system' } });
    expect(kustomization.spec.dependsOn).toBeUndefined();
    expect(kustomization.spec.healthChecks.map((r: any) => r.name)).toEqual(['one', 'one-r']);
  });

  it('docs/gitops.md shows exactly what it emits', () => {
    const app = new TaskplaneApp({ outdir: tempOutdir() });
    const jobs = new Chart(app, 'jobs', { namespace: 'batch' });
    new JobConfig(jobs, 'database-backup', { task: TaskTemplate.pod({ spec: { containers: [{ name: 'backup', image: 'postgres:17' }] } }) }).run('2026-11-21-full', {});
    new GitOpsHealthChecks(new Chart(app, 'gitops'), 'health', { argoCd: {}, flux: { path: './dist/jobs', dependsOn: [{ name: 'taskplane-system' }, { name: 'taskplane-setup' }] } });
    const [configMap, kustomization] = synthToTree(app).get('gitops.k8s.yaml')!.split('---\n');
    const docs = readFileSync(new URL('../../docs/gitops.md', import.meta.url), 'utf8');
    const block = (marker: string) => new RegExp(`<!-- emitted: ${marker} -->\n\`\`\`yaml\n([\\s\\S]*?)\`\`\`\n`).exec(docs)?.[1];
    expect(block('argocd-cm')).toBe(configMap);
    expect(block('flux-kustomization')).toBe(kustomization);
  });

  it('stops synth when nothing is asked for, or when a run has no namespace Flux could name', () => {
    expect(() => build({}).app.synth()).toThrow(/argoCd and flux are both unset/);
    expect(() => build({ flux: FLUX }, null).app.synth()).toThrow(/JobConfig db-backup has no namespace, and Flux healthChecks must name one/);
    // Argo CD needs no names: fine without namespaces.
    expect(() => build({ argoCd: {} }, null).app.synth()).not.toThrow();
  });
});
