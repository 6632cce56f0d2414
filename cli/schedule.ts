/**
 * `taskplane schedule pause|resume <config>`: sets or removes the `taskplane.dev/schedule-paused`
 * annotation on a JobConfig. An annotation that is not in Git, owned by the CLI's field manager, so
 * Argo CD and Flux (server-side apply) leave it alone: pausing never fights Git. Git's own switch is
 * `spec.schedule.disabled`. Also the schedules table of `taskplane status`.
 */
import { ANNOTATION_SCHEDULE_PAUSED, isSchedulePaused, scheduleTimeOf } from '../engine/schedule/metadata.js';
import { describeExpression, zonedIso } from '../engine/schedule/describe.js';
import { compileSchedule, nextRunTime } from '../engine/schedule/schedule.js';
import { GROUP_VERSION, type JobConfigObject, type JobRunObject } from '../engine/schema/resources.js';
import { KubeClient, type KubeObject } from '../watcher/kube/client.js';
import { getOrExplain } from './errors.js';
import { CLI_FIELD_MANAGER, contextNamespace, loadKubeConfig, UsageError, type ConnectionFlags } from './kube.js';
import { duration, table, type Painter } from './output.js';

type Config = JobConfigObject & KubeObject;

export async function pauseSchedule(configName: string, pause: boolean, flags: ConnectionFlags & { readonly namespace?: string }, now = new Date()): Promise<string> {
  const kc = loadKubeConfig(flags);
  const namespace = flags.namespace ?? contextNamespace(kc);
  const client = new KubeClient(kc, CLI_FIELD_MANAGER);
  const config = await getOrExplain<Config>(client, GROUP_VERSION, 'JobConfig', namespace, configName);
  if (!config.spec.schedule) throw new UsageError(`JobConfig "${configName}" has no schedule; add one with Schedule.cron(...) in its construct`);
  if (isSchedulePaused(config) === pause) return `jobconfig ${namespace}/${configName}: schedule already ${pause ? 'paused' : 'running'}`;
  const value = pause ? `paused at ${now.toISOString().replace(/\.\d{3}Z$/, 'Z')} with taskplane schedule pause` : null;
  await client.mergePatch(config, { metadata: { annotations: { [ANNOTATION_SCHEDULE_PAUSED]: value } } });
  return pause
    ? `jobconfig ${namespace}/${configName}: schedule paused (no scheduled runs until: taskplane schedule resume ${configName} -n ${namespace})`
    : `jobconfig ${namespace}/${configName}: schedule resumed (runs missed while paused are not created)`;
}

/** One row per scheduled JobConfig: its schedule, zone, state, last and next run. */
export function scheduleList(configs: readonly Config[], runs: readonly JobRunObject[], now: number, paint: Painter, withNamespace: boolean): string {
  const scheduled = configs.filter((c) => c.spec.schedule).sort((a, b) => a.metadata.name.localeCompare(b.metadata.name));
  const rows = scheduled.map((config) => {
    const spec = config.spec.schedule!;
    const { schedule } = compileSchedule(spec, config.metadata.namespace ?? '', config.metadata.name);
    const state = !schedule ? paint('Invalid', 'red') : spec.disabled ? paint('Disabled', 'dim') : isSchedulePaused(config) ? paint('Paused', 'yellow') : 'Active';
    const mine = runs.filter((r) => r.spec.configName === config.metadata.name && r.metadata.namespace === config.metadata.namespace);
    const last = Math.max(...mine.map(scheduleTimeOf).filter((t): t is number => t !== undefined), config.status?.lastScheduled ? Date.parse(config.status.lastScheduled) : -Infinity);
    const next = schedule && state === 'Active' ? nextRunTime(schedule, Math.max(now, Number.isFinite(last) ? last : 0)) : undefined;
    const cells = [
      config.metadata.name,
      spec.cron.expression ?? (spec.cron.expressions ?? []).join(' | '),
      schedule?.zone.name ?? spec.cron.timezone ?? 'UTC',
      state,
      Number.isFinite(last) ? `${duration(now - last)} ago` : '-',
      next !== undefined && schedule ? `${zonedIso(next, schedule.zone)} (in ${duration(next - now)})` : '-',
      schedule ? schedule.expressions.map(describeExpression).join('; ') : '',
    ];
    return withNamespace ? [config.metadata.namespace ?? '', ...cells] : cells;
  });
  const header = ['SCHEDULE OF', 'CRON', 'TIMEZONE', 'STATE', 'LAST', 'NEXT', 'MEANING'];
  return rows.length === 0 ? '' : table(withNamespace ? ['NAMESPACE', ...header] : header, rows);
}
