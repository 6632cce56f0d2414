/** `taskplane status [run]`: the schedules and runs of a namespace, or one run as a grid of indexes x attempts. */
import { canonicalIndexJson, expandIndexes } from '../engine/indexes.js';
import { readFolded } from '../engine/run/fold.js';
import { unpackLiveTasks } from '../engine/run/pack.js';
import { indexNamePart } from '../engine/names.js';
import { GROUP_VERSION, type JobConfigObject, type JobRunObject, type TaskRef } from '../engine/schema/resources.js';
import { KubeClient, type KubeObject } from '../watcher/kube/client.js';
import { contextNamespace, loadKubeConfig, type ConnectionFlags } from './kube.js';
import { duration, painter, serialize, table, type Colour, type OutputFormat, type Painter } from './output.js';
import { getOrExplain } from './errors.js';
import { scheduleList } from './schedule.js';
import { scheduleTimeOf } from '../engine/schedule/metadata.js';

export interface StatusFlags extends ConnectionFlags {
  readonly namespace?: string;
  readonly allNamespaces?: boolean;
  readonly output: OutputFormat;
  readonly watch?: boolean;
}

type Run = JobRunObject & KubeObject;

const PHASE_COLOURS: Record<string, Colour> = {
  Succeeded: 'green', Failed: 'red', AdmissionError: 'red', FinishedUnknown: 'red', Killed: 'yellow', Killing: 'yellow',
  Running: 'cyan', Terminating: 'cyan', Queued: 'dim',
};

export async function status(runName: string | undefined, flags: StatusFlags, write = (text: string) => process.stdout.write(text)): Promise<void> {
  const kc = loadKubeConfig(flags);
  const client = new KubeClient(kc, 'taskplane-cli');
  const namespace = flags.allNamespaces ? undefined : (flags.namespace ?? contextNamespace(kc));
  const render = async (): Promise<string> => {
    const now = Date.now();
    if (runName) {
      const run = await getOrExplain<Run>(client, GROUP_VERSION, 'JobRun', namespace!, runName);
      return flags.output === 'table' ? runDetail(run, now, painter()) : serialize(run, flags.output);
    }
    const runs = (await client.list<Run>(GROUP_VERSION, 'JobRun', {}, namespace)).items;
    if (flags.output !== 'table') return serialize(runs, flags.output);
    const configs = (await client.list<JobConfigObject & KubeObject>(GROUP_VERSION, 'JobConfig', {}, namespace)).items;
    const schedules = scheduleList(configs, runs, now, painter(), !namespace);
    if (runs.length === 0) return `${schedules ? `${schedules}\n` : ''}No JobRuns in ${namespace ? `namespace ${namespace}` : 'any namespace'}.\n`;
    return `${schedules ? `${schedules}\n` : ''}${runList(runs, now, painter(), !namespace)}`;
  };
  if (!flags.watch) return void write(await render());
  // --watch: redraw every second until interrupted (on a terminal the screen is cleared each time).
  for (;;) {
    const text = await render();
    write(process.stdout.isTTY ? `\u001b[2J\u001b[H${text}` : `${text}\n`);
    await new Promise((resolve) => setTimeout(resolve, 1000));
  }
}

export function runList(runs: readonly Run[], now: number, paint: Painter, withNamespace: boolean): string {
  const sorted = [...runs].sort((a, b) => (a.metadata.creationTimestamp ?? '').localeCompare(b.metadata.creationTimestamp ?? '') || a.metadata.name.localeCompare(b.metadata.name));
  const rows = sorted.map((run) => {
    const phase = run.status?.phase ?? 'Pending';
    const cells = [
      run.metadata.name,
      run.spec.configName,
      paint(phase, PHASE_COLOURS[phase] ?? 'cyan'),
      run.status?.progress ?? '-',
      runDuration(run, now),
      duration(now - Date.parse(run.metadata.creationTimestamp ?? new Date(now).toISOString())),
      run.status?.message ?? '',
    ];
    return withNamespace ? [run.metadata.namespace ?? '', ...cells] : cells;
  });
  const header = ['NAME', 'CONFIG', 'PHASE', 'PROGRESS', 'DURATION', 'AGE', 'MESSAGE'];
  return table(withNamespace ? ['NAMESPACE', ...header] : header, rows);
}

function runDuration(run: Run, now: number): string {
  const start = run.status?.startTime;
  if (!start) return '-';
  return duration((run.status?.finishTime ? Date.parse(run.status.finishTime) : now) - Date.parse(start));
}

/** One run: a header, then one row per index and one column per attempt. */
export function runDetail(run: Run, now: number, paint: Painter): string {
  const status = run.status ?? {};
  const phase = status.phase ?? 'Pending';
  const maxAttempts = run.spec.template.maxAttempts ?? 1;
  const lines = [
    `${paint(run.metadata.name, 'bold')}  (JobConfig ${run.spec.configName}, ${run.spec.materialization ?? 'Rendered'}${scheduledFor(run)})`,
    `Phase:     ${paint(phase, PHASE_COLOURS[phase] ?? 'cyan')}${status.result ? ` (${status.result})` : ''}`,
    `Progress:  ${status.progress ?? '-'} indexes succeeded`,
    `Duration:  ${runDuration(run, now)}`,
    ...(status.message ? [`Message:   ${status.message}`] : []),
    '',
  ];
  const byIndex = new Map<string, TaskRef[]>();
  const indexes = expandIndexes(run.spec.template.parallelism);
  // Packed tasks (a large run): the rows need only their state and times, not their kind.
  const packed = unpackLiveTasks(status.liveTasks, indexes, run.metadata.name, { kind: '', apiVersion: '' }).refs;
  for (const ref of [...(status.tasks ?? []), ...packed]) {
    const key = indexNamePart(run.metadata.name, ref.parallelIndex as never);
    byIndex.set(key, [...(byIndex.get(key) ?? []), ref]);
  }
  const folded = readFolded(status.foldedTasks, indexes);
  // RetryNotCounted retries (retry rules) can make more attempts than maxAttempts.
  const made = [...(status.tasks ?? []).map((ref) => ref.retryIndex + 1), ...[...folded.values()].map((entry) => entry.attempts)];
  const columns = Math.max(maxAttempts, ...made);
  const rows = indexes.map((index) => {
    const key = indexNamePart(run.metadata.name, index);
    const refs = byIndex.get(key) ?? [];
    const attempts = folded.get(canonicalIndexJson(index));
    const at = (attempt: number) => {
      const ref = refs.find((r) => r.retryIndex === attempt);
      if (ref || !attempts || attempt >= attempts.attempts) return cell(ref, now, paint);
      // Folded (a large run): only the last folded attempt's outcome is kept; its event has the rest.
      return attempt === attempts.attempts - 1 ? cell({ status: attempts.lastStatus }, now, paint) : paint('ended', 'dim');
    };
    return [key, ...Array.from({ length: columns }, (_, attempt) => at(attempt))];
  });
  const header = ['INDEX', ...Array.from({ length: columns }, (_, i) => `ATTEMPT ${i}`)];
  return `${lines.join('\n')}\n${table(header, rows)}`;
}

/** `, scheduled for 2026-11-23T01:50:00Z` for a run the schedule created. */
function scheduledFor(run: Run): string {
  const due = scheduleTimeOf(run);
  return run.spec.type === 'Scheduled' && due !== undefined ? `, scheduled for ${new Date(due).toISOString().replace('.000Z', 'Z')}` : '';
}

function cell(ref: Pick<TaskRef, 'status' | 'runningTimestamp' | 'creationTimestamp' | 'finishTimestamp'> | undefined, now: number, paint: Painter): string {
  if (!ref) return paint('-', 'dim');
  const { state, result, reason } = ref.status;
  const label = result ?? state;
  const colour: Colour = result === 'Succeeded' ? 'green' : result === 'Failed' ? 'red' : result === 'Killed' ? 'yellow' : state === 'Running' ? 'cyan' : 'dim';
  const from = ref.runningTimestamp ?? ref.creationTimestamp;
  const took = from ? ` ${duration((ref.finishTimestamp ? Date.parse(ref.finishTimestamp) : now) - Date.parse(from))}` : '';
  const why = reason && result !== 'Succeeded' ? ` (${reason})` : '';
  return paint(`${label}${took}${why}`, colour);
}
