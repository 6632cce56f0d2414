/** `cache` on a JobConfig at synth: what it writes, and the runs and keys it refuses. */
import { Chart, Duration } from 'cdk8s';
import { describe, expect, it } from 'vitest';
import { JobConfig, Materialization, Option, TaskplaneApp, TaskTemplate } from '../../constructs/index.js';
import { parseDocuments, readTree, tempOutdir } from '../_synth.js';

const task = TaskTemplate.pod({ spec: { containers: [{ name: 'main', image: 'busybox:1.36', args: ['report', '${option.day}'] }] } });
const options = { day: Option.string({ default: '2026-11-21' }) };

function app() {
  const outdir = tempOutdir();
  const tp = new TaskplaneApp({ outdir });
  return { tp, outdir, chart: new Chart(tp, 'jobs', { namespace: 'batch' }) };
}

describe('JobConfig cache', () => {
  it('writes the cache into the template its runs snapshot; Deferred runs and skipCache runs synthesize', () => {
    const { tp, outdir, chart } = app();
    const config = new JobConfig(chart, 'report', { options, task, cache: { version: '3', key: '${option.day}', maxAge: Duration.hours(12), maxEntries: 20 } });
    config.run('deferred', { materialization: Materialization.DEFERRED });
    config.run('forced', { skipCache: true });
    tp.synth();
    const files = readTree(outdir);
    const [jobConfig] = parseDocuments(files.get('jobs/report/jobconfig.k8s.yaml')!);
    expect((jobConfig as any).spec.template.cache).toEqual({ version: '3', key: '${option.day}', maxAgeSeconds: 43200, maxEntries: 20 });
    const [deferred, ...noTasks] = parseDocuments(files.get('jobs/report/runs/report-deferred.k8s.yaml')!);
    expect(noTasks).toEqual([]);
    expect((deferred as any).spec.template.cache.version).toBe('3');
    expect((deferred as any).spec.skipCache).toBeUndefined();
    const [forced, firstAttempt] = parseDocuments(files.get('jobs/report/runs/report-forced.k8s.yaml')!);
    expect((forced as any).spec).toMatchObject({ materialization: 'Rendered', skipCache: true });
    expect(firstAttempt!.kind).toBe('Pod');
  });

  it('refuses a Rendered run that would use the cache, a key with an unknown variable and too many entries, all at once, writing nothing', () => {
    const { tp, outdir, chart } = app();
    const config = new JobConfig(chart, 'report', { options, task, cache: { version: '1', key: '${option.dya}', maxAge: Duration.days(1), maxEntries: 5000 } });
    config.run('rendered', {});
    let message = '';
    try {
      tp.synth();
    } catch (error) {
      message = (error as Error).message;
    }
    expect(message.split('\n').slice(1)).toEqual([
      '  [jobs/report] spec.template.cache.maxEntries: must be <= 1000 (got 5000)',
      '  [jobs/report] spec.template.cache.key: unknown variable ${option.dya} (got "${option.dya}"); valid: did you mean ${option.day}?',
      "  [jobs/report/rendered] spec.materialization: a Rendered run cannot use its JobConfig's cache: GitOps applies its first attempts whatever a cached result says (got \"Rendered\"); valid: materialization: Materialization.DEFERRED (the watcher creates the tasks, and answers them from the cache), or skipCache: true (every task runs)",
    ]);
    expect([...readTree(outdir).keys()]).toEqual([]);
  });
});
