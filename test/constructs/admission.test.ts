/**
 * What synth writes is what the watcher admits: every run of the example app is admitted by its own
 * JobConfig as synthesized (chart labels included), and `allowCustomTemplates` is a typed opt-in.
 */
import { Chart } from 'cdk8s';
import { describe, expect, it } from 'vitest';
import { buildApp } from '../../apps/main.js';
import { JobConfig, TaskplaneApp, TaskTemplate } from '../../constructs/index.js';
import { admitRun } from '../../engine/run/admission.js';
import type { JobConfigObject, JobRunObject } from '../../engine/schema/resources.js';
import { parseDocuments, synthToTree, tempOutdir } from '../_synth.js';

const NOW = new Date('2026-11-21T00:00:00Z');

describe('synth output and admission', () => {
  const tree = synthToTree(buildApp({ outdir: tempOutdir() }));
  const runFiles = [...tree.keys()].filter((file) => file.includes('/runs/'));

  it.each(runFiles)('%s: its JobRun is admitted by its JobConfig', (file) => {
    const [run] = parseDocuments(tree.get(file)!) as unknown as JobRunObject[];
    const [config] = parseDocuments(tree.get(file.replace(/runs\/.*$/, 'jobconfig.k8s.yaml'))!) as unknown as JobConfigObject[];
    expect(admitRun({ run: run!, config: config!, now: NOW })).toEqual({ kind: 'admitted' });
  });

  it('chart labels are in the JobConfig\'s template, so its runs carry them without differing from it', () => {
    const [config] = parseDocuments(tree.get('jobs/database-backup/jobconfig.k8s.yaml')!) as unknown as JobConfigObject[];
    expect(config!.spec.template.taskTemplate.pod!.metadata!.labels).toMatchObject({ 'app.kubernetes.io/part-of': 'platform-jobs' });
  });
});

describe('JobConfig allowCustomTemplates', () => {
  const spec = (allowCustomTemplates?: boolean) => {
    const app = new TaskplaneApp({ outdir: tempOutdir() });
    const config = new JobConfig(new Chart(app, 'jobs', { namespace: 'batch' }), 'open', {
      task: TaskTemplate.pod({ spec: { containers: [{ name: 'c', image: 'busybox:1.36' }] } }),
      ...(allowCustomTemplates !== undefined && { allowCustomTemplates }),
    });
    return config._spec;
  };

  it('is written only when opted in', () => {
    expect(spec(true).allowCustomTemplates).toBe(true);
    expect(spec().allowCustomTemplates).toBeUndefined();
    expect(spec(false).allowCustomTemplates).toBeUndefined();
  });
});
