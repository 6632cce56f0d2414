import { ApiObject, Chart } from 'cdk8s';
import { describe, expect, it } from 'vitest';
import { buildApp } from '../../apps/main.js';
import { JobConfig, TaskplaneApp, TaskplaneCrds, TaskTemplate } from '../../constructs/index.js';
import { parseDocuments, synthToTree, tempOutdir } from '../_synth.js';

describe('output layout for GitOps', () => {
  it('adding a JobConfig and a run adds files and changes no other file', () => {
    const before = synthToTree(buildApp({ outdir: tempOutdir() }));
    const app = buildApp({ outdir: tempOutdir() });
    const jobs = app.charts.find((c) => c.node.id === 'jobs')!;
    new JobConfig(jobs, 'cache-warmup', { task: TaskTemplate.pod({ spec: { containers: [{ name: 'warm', image: 'curlimages/curl:8.10.1' }] } }) }).run('now', {});
    const after = synthToTree(app);
    const added = [...after.keys()].filter((file) => !before.has(file));
    expect(added).toEqual(['jobs/cache-warmup/jobconfig.k8s.yaml', 'jobs/cache-warmup/runs/cache-warmup-now.k8s.yaml']);
    // Only the Kustomization's file list changes with them (one line per added file).
    for (const [file, content] of before) if (file !== 'Kustomization') expect(after.get(file), file).toBe(content);
    expect(after.get('Kustomization')).toBe(before.get('Kustomization')!.replace(
      '  - jobs/colonies-hello/jobconfig.k8s.yaml\n',
      '  - jobs/cache-warmup/jobconfig.k8s.yaml\n  - jobs/cache-warmup/runs/cache-warmup-now.k8s.yaml\n  - jobs/colonies-hello/jobconfig.k8s.yaml\n',
    ));
  });

  it('objects outside JobConfigs go to one file per chart', () => {
    const app = new TaskplaneApp({ outdir: tempOutdir() });
    new JobConfig(new Chart(app, 'team-a'), 'report', { task: TaskTemplate.pod({ spec: { containers: [{ name: 'r', image: 'busybox' }] } }) });
    new Chart(app, 'empty');
    expect([...synthToTree(app).keys()]).toEqual(['Kustomization', 'team-a/report/jobconfig.k8s.yaml']);
  });

  it('emits the namespaces objects use (not built-in or declared ones) first, and lists Namespaces and CRDs first for kustomize', () => {
    const app = new TaskplaneApp({ outdir: tempOutdir() });
    const task = TaskTemplate.pod({ spec: { containers: [{ name: 'r', image: 'busybox' }] } });
    new JobConfig(new Chart(app, 'a', { namespace: 'team-b' }), 'report', { task });
    new JobConfig(new Chart(app, 'b', { namespace: 'default' }), 'other', { task });
    new TaskplaneCrds(new Chart(app, 'z-crds'), 'crds');
    const tree = synthToTree(app);
    expect(tree.get('00-setup/00-namespaces.k8s.yaml')).toBe('apiVersion: v1\nkind: Namespace\nmetadata:\n  labels:\n    app.kubernetes.io/managed-by: taskplane\n  name: team-b\n');
    expect(tree.get('Kustomization')).toBe([
      'apiVersion: kustomize.config.k8s.io/v1beta1',
      'kind: Kustomization',
      'resources:',
      '  - 00-setup/00-namespaces.k8s.yaml',
      '  - z-crds.k8s.yaml',
      '  - a/report/jobconfig.k8s.yaml',
      '  - b/other/jobconfig.k8s.yaml',
      '',
    ].join('\n'));
  });

  it("writes a JobConfig's ServiceAccounts, Roles and RoleBindings to 00-setup/, which a Flux Kustomization applies before the runs", () => {
    const app = new TaskplaneApp({ outdir: tempOutdir() });
    const chart = new Chart(app, 'team', { namespace: 'team-b' });
    const config = new JobConfig(chart, 'report', { task: TaskTemplate.pod({ spec: { serviceAccountName: 'report', containers: [{ name: 'r', image: 'busybox' }] } }) });
    new ApiObject(config, 'sa', { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'report' } });
    new ApiObject(config, 'role', { apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'Role', metadata: { name: 'report' } });
    new ApiObject(config, 'binding', { apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'RoleBinding', metadata: { name: 'report' } });
    new ApiObject(config, 'settings', { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'report' } });
    new ApiObject(chart, 'shared', { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'shared' } });
    config.run('r1', {});
    const tree = synthToTree(app);
    const kinds = (file: string) => parseDocuments(tree.get(file)!).map((o) => o.kind);
    expect(kinds('00-setup/team/report.k8s.yaml')).toEqual(['ServiceAccount', 'Role', 'RoleBinding']);
    expect(kinds('team/report/jobconfig.k8s.yaml')).toEqual(['JobConfig', 'ConfigMap']);
    expect(kinds('team.k8s.yaml')).toEqual(['ServiceAccount']); // not a JobConfig's: the chart's file, as before
    expect(parseDocuments(tree.get('Kustomization')!)[0].resources).toEqual([
      '00-setup/00-namespaces.k8s.yaml',
      '00-setup/team/report.k8s.yaml',
      'team.k8s.yaml',
      'team/report/jobconfig.k8s.yaml',
      'team/report/runs/report-r1.k8s.yaml',
    ]);
  });

  it('emits neither namespaces nor a Kustomization when told not to', () => {
    const app = new TaskplaneApp({ outdir: tempOutdir(), namespaces: false, kustomization: false });
    new JobConfig(new Chart(app, 'a', { namespace: 'team-b' }), 'report', { task: TaskTemplate.pod({ spec: { containers: [{ name: 'r', image: 'busybox' }] } }) });
    expect([...synthToTree(app).keys()]).toEqual(['a/report/jobconfig.k8s.yaml']);
  });
});
