import { Chart } from 'cdk8s';
import { describe, expect, it } from 'vitest';
import { buildApp } from '../../apps/main.js';
import { JobConfig, TaskplaneApp, TaskTemplate } from '../../constructs/index.js';
import { synthToTree, tempOutdir } from '../_synth.js';

describe('output layout for GitOps', () => {
  it('adding a JobConfig and a run adds files and changes no other file', () => {
    const before = synthToTree(buildApp({ outdir: tempOutdir() }));
    const app = buildApp({ outdir: tempOutdir() });
    const jobs = app.charts.find((c) => c.node.id === 'jobs')!;
    new JobConfig(jobs, 'cache-warmup', { task: TaskTemplate.pod({ spec: { containers: [{ name: 'warm', image: 'curlimages/curl:8.10.1' }] } }) }).run('now', {});
    const after = synthToTree(app);
    const added = [...after.keys()].filter((file) => !before.has(file));
    expect(added).toEqual(['jobs/cache-warmup/jobconfig.k8s.yaml', 'jobs/cache-warmup/runs/cache-warmup-now.k8s.yaml']);
    for (const [file, content] of before) expect(after.get(file), file).toBe(content);
  });

  it('objects outside JobConfigs go to one file per chart', () => {
    const app = new TaskplaneApp({ outdir: tempOutdir() });
    new JobConfig(new Chart(app, 'team-a'), 'report', { task: TaskTemplate.pod({ spec: { containers: [{ name: 'r', image: 'busybox' }] } }) });
    new Chart(app, 'empty');
    expect([...synthToTree(app).keys()]).toEqual(['team-a/report/jobconfig.k8s.yaml']);
  });
});
