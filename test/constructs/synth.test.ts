import { describe, expect, it, vi } from 'vitest';
import { buildApp } from '../../apps/main.js';
import { expandIndexes } from '../../engine/indexes.js';
import { renderTask } from '../../engine/render.js';
import { parseDocuments, synthToTree, tempOutdir } from '../_synth.js';

const tree = synthToTree(buildApp({ outdir: tempOutdir() }));
const runFiles = [...tree.keys()].filter((file) => file.includes('/runs/'));

describe('apps/main.ts synth output', () => {
  it.each([...tree.keys()])('%s matches its YAML snapshot', async (file) => {
    await expect(tree.get(file)).toMatchFileSnapshot(`__snapshots__/dist/${file}`);
  });

  it('lays out one folder per JobConfig and one file per run', () => {
    expect([...tree.keys()]).toEqual([
      '00-setup/00-namespaces.k8s.yaml',
      '00-setup/jobs/database-backup.k8s.yaml',
      '00-setup/jobs/release-build.k8s.yaml',
      'jobs/cache-warm/jobconfig.k8s.yaml',
      'jobs/cache-warm/runs/cache-warm-release-2026-11-20.k8s.yaml',
      'jobs/colonies-hello/jobconfig.k8s.yaml',
      'jobs/colonies-hello/runs/colonies-hello-first.k8s.yaml',
      'jobs/database-backup/jobconfig.k8s.yaml',
      'jobs/database-backup/runs/database-backup-2026-11-21-full.k8s.yaml',
      'jobs/database-backup/runs/database-backup-2026-11-22.k8s.yaml',
      'jobs/database-backup/runs/database-backup-restore-drill.k8s.yaml',
      'jobs/event-ingest/jobconfig.k8s.yaml',
      'jobs/event-ingest/runs/event-ingest-2026-11-21.k8s.yaml',
      'jobs/image-scan/jobconfig.k8s.yaml',
      'jobs/image-scan/runs/image-scan-2026-11-21.k8s.yaml',
      'jobs/release-build/jobconfig.k8s.yaml',
      'jobs/release-build/runs/release-build-v2-4-0.k8s.yaml',
      'jobs/report-export/jobconfig.k8s.yaml',
      'jobs/report-export/runs/report-export-2026-10.k8s.yaml',
      'jobs/search-index/jobconfig.k8s.yaml',
      'jobs/search-index/runs/search-index-snapshot-2026-11-20.k8s.yaml',
      'Kustomization',
      'taskplane.k8s.yaml',
      'watcher.k8s.yaml',
    ]);
  });

  it.each(runFiles)('%s: a Rendered run has exactly one first attempt per index, all variables resolved', (file) => {
    const [run, ...tasks] = parseDocuments(tree.get(file)!);
    expect(run.kind).toBe('JobRun');
    if (run.spec.materialization === 'Deferred') {
      expect(tasks).toEqual([]);
      return;
    }
    const indexes = expandIndexes(run.spec.template.parallelism);
    expect(tasks).toHaveLength(indexes.length);
    expect(tasks.map((t) => JSON.parse(t.metadata.annotations['taskplane.dev/parallel-index']))).toEqual(indexes);
    for (const task of tasks) {
      expect(task.metadata.labels['taskplane.dev/retry-index']).toBe('0');
      expect(task.metadata.labels['taskplane.dev/run']).toBe(run.metadata.name);
      expect(JSON.stringify(task)).not.toMatch(/\$\{(option|job|jobconfig|task)\./);
    }
  });

  it.each(runFiles)('%s: render parity, the watcher renders the same tasks from the JobRun alone', (file) => {
    const [run, ...tasks] = parseDocuments(tree.get(file)!);
    for (const task of tasks) {
      const index = JSON.parse(task.metadata.annotations['taskplane.dev/parallel-index']);
      const { task: rendered, errors } = renderTask(run, index, 0);
      expect(errors).toEqual([]);
      expect(rendered!.manifest).toEqual(task);
    }
  });

  it('keeps chosen names, and puts no namespace on cluster-scoped objects', () => {
    const crds = parseDocuments(tree.get('taskplane.k8s.yaml')!);
    const wave = { 'argocd.argoproj.io/sync-wave': '-1' };
    expect(crds.map((c) => c.metadata)).toEqual([{ name: 'jobconfigs.taskplane.dev', annotations: wave }, { name: 'jobruns.taskplane.dev', annotations: wave }, { name: 'httptasks.taskplane.dev', annotations: wave }, { name: 'taskcacheentries.taskplane.dev', annotations: wave }]);
    const [config] = parseDocuments(tree.get('jobs/report-export/jobconfig.k8s.yaml')!);
    expect(config.metadata).toMatchObject({ name: 'report-export', namespace: 'batch' });
  });

  it('is deterministic: a second synth writes the same bytes', () => {
    expect(synthToTree(buildApp({ outdir: tempOutdir() }))).toEqual(tree);
  });

  it.each(['1970-01-01T00:00:00Z', '2026-11-24T00:00:00Z', '2100-06-30T12:00:00Z'])('does not depend on the date: synth at %s writes the same bytes', (now) => {
    vi.useFakeTimers({ toFake: ['Date'], now: new Date(now) });
    try {
      expect(synthToTree(buildApp({ outdir: tempOutdir() }))).toEqual(tree);
    } finally {
      vi.useRealTimers();
    }
  });
});
