/**
 * A JobConfig's `spec.schedule`, compiled: its expressions (with `H` resolved for the JobConfig),
 * its zone and its window. Used by synth (validation, the review annotation) and the watcher (when
 * to create which run); reference/furiko.md §7.
 */
import { MAX_RUN_NAME_LENGTH } from '../names.js';
import type { FieldError } from '../errors.js';
import type { ScheduleSpec } from '../schema/resources.js';
import { parseCron, type CronExpression } from './cron.js';
import { nextTime } from './next.js';
import { parseTimezone, type Zone } from './zone.js';

export interface CompiledSchedule {
  readonly expressions: readonly CronExpression[];
  readonly zone: Zone;
  readonly disabled: boolean;
  /** Epoch ms; runs before it are not created (it is itself eligible). */
  readonly notBefore?: number;
  /** Epoch ms; runs after it are not created, and scheduling ends. */
  readonly notAfter?: number;
}

/** `<config>-<unixSeconds>`: the same due time always gives the same name. */
export function scheduledRunName(configName: string, dueMs: number): string {
  return `${configName}-${Math.floor(dueMs / 1000)}`;
}

/** Unix seconds take 10 characters until 2286. */
const UNIX_SECONDS_SUFFIX = '-0000000000'.length;
/** The longest JobConfig name that can have a schedule: its runs' names must fit MAX_RUN_NAME_LENGTH. */
export const MAX_SCHEDULED_CONFIG_NAME_LENGTH = MAX_RUN_NAME_LENGTH - UNIX_SECONDS_SUFFIX;

/** Every expression of a spec (`expression` or `expressions`), with its field path. */
export function scheduleExpressions(spec: ScheduleSpec): { readonly field: string; readonly text: string }[] {
  const { expression, expressions } = spec.cron ?? {};
  if (expression !== undefined) return [{ field: 'spec.schedule.cron.expression', text: expression }];
  return (expressions ?? []).map((text, i) => ({ field: `spec.schedule.cron.expressions[${i}]`, text }));
}

/**
 * The schedule of the JobConfig `<namespace>/<name>` (the `H` hash input), or every problem with it.
 * The namespace is the one the JobConfig lives in: the same spec in another namespace runs at other `H` times.
 */
export function compileSchedule(spec: ScheduleSpec, namespace: string, name: string): { schedule?: CompiledSchedule; errors: FieldError[] } {
  const errors: FieldError[] = [];
  const { expression, expressions, timezone } = spec.cron ?? {};
  if (expression !== undefined && expressions !== undefined) {
    errors.push({ field: 'spec.schedule.cron', message: 'has both expression and expressions', valid: 'exactly one of them' });
  } else if (expression === undefined && (expressions ?? []).length === 0) {
    errors.push({ field: 'spec.schedule.cron.expression', message: 'is required', valid: 'a cron expression such as "H 2 * * *", or a non-empty expressions list' });
  }
  const compiled: CronExpression[] = [];
  for (const { field, text } of scheduleExpressions(spec)) {
    const parsed = parseCron(text, { hashId: `${namespace}/${name}` });
    if ('error' in parsed) errors.push({ field, message: `cannot parse cron schedule: ${parsed.error}`, value: text, valid: CRON_HELP });
    else compiled.push(parsed.expression);
  }
  const zone = parseTimezone(timezone ?? '');
  if ('error' in zone) errors.push({ field: 'spec.schedule.cron.timezone', message: `cannot parse timezone: ${zone.error}`, value: timezone, valid: zone.valid });
  const notBefore = instant(spec.constraints?.notBefore, 'spec.schedule.constraints.notBefore', errors);
  const notAfter = instant(spec.constraints?.notAfter, 'spec.schedule.constraints.notAfter', errors);
  if (notBefore !== undefined && notAfter !== undefined && notAfter < notBefore) {
    errors.push({ field: 'spec.schedule.constraints.notAfter', message: 'is before notBefore, so the schedule would never run', value: spec.constraints?.notAfter, valid: `a time at or after ${spec.constraints?.notBefore}` });
  }
  if (name.length > MAX_SCHEDULED_CONFIG_NAME_LENGTH) {
    errors.push({ field: 'metadata.name', message: `is too long for a schedule: its runs are named <name>-<unixSeconds>, at most ${MAX_RUN_NAME_LENGTH} characters`, value: name, valid: `at most ${MAX_SCHEDULED_CONFIG_NAME_LENGTH} characters` });
  }
  if (errors.length > 0 || 'error' in zone) return { errors };
  return {
    schedule: { expressions: compiled, zone, disabled: spec.disabled ?? false, ...(notBefore !== undefined && { notBefore }), ...(notAfter !== undefined && { notAfter }) },
    errors,
  };
}

const CRON_HELP = '5 fields "min hour day-of-month month day-of-week", a 6th for the year, 7 with seconds first; H, H/n, H(a-b), L, W, #, names, @daily...';

function instant(text: string | undefined, field: string, errors: FieldError[]): number | undefined {
  if (text === undefined) return undefined;
  const ms = Date.parse(text);
  if (Number.isNaN(ms)) errors.push({ field, message: 'is not a timestamp', value: text, valid: 'RFC 3339, e.g. 2026-12-01T00:00:00Z' });
  return Number.isNaN(ms) ? undefined : ms;
}

/**
 * The first run time strictly after `afterMs` (second granularity) within the schedule's window:
 * the earliest over its expressions (coinciding times are one run). Undefined when none is left.
 */
export function nextRunTime(schedule: CompiledSchedule, afterMs: number): number | undefined {
  // notBefore itself is eligible: search from just before it.
  const from = schedule.notBefore !== undefined ? Math.max(afterMs, schedule.notBefore - 1000) : afterMs;
  let best: number | undefined;
  for (const expression of schedule.expressions) {
    const next = nextTime(expression, schedule.zone, from);
    if (next !== undefined && (best === undefined || next < best)) best = next;
  }
  return best !== undefined && schedule.notAfter !== undefined && best > schedule.notAfter ? undefined : best;
}

/** The first `count` run times after `afterMs`. */
export function nextRunTimes(schedule: CompiledSchedule, afterMs: number, count: number): number[] {
  const times: number[] = [];
  for (let t = nextRunTime(schedule, afterMs); t !== undefined && times.length < count; t = nextRunTime(schedule, t)) times.push(t);
  return times;
}

/** Furiko's catch-up settings (`cronController` config). */
export interface CatchUpPolicy {
  /**
   * Runs created per JobConfig per pass; missed runs past this are skipped. 0 turns catch-up off.
   * @default 5
   */
  readonly maxMissedSchedules?: number;
  /**
   * How far back a (re)started scheduler looks for missed runs, in ms.
   * @default 300_000 - Furiko's maxDowntimeThresholdSeconds
   */
  readonly downtimeThresholdMs?: number;
}

export const DEFAULT_MAX_MISSED_SCHEDULES = 5;
export const DEFAULT_DOWNTIME_THRESHOLD_MS = 300_000;

/**
 * Where a scheduler that has no memory (it just started, or the schedule changed) starts looking:
 * the last schedule time (but no further back than the downtime threshold), raised to when the
 * schedule last changed, and to just before notBefore. Without a last schedule time, now.
 */
export function scheduleFrom(
  schedule: CompiledSchedule,
  state: { readonly now: number; readonly lastScheduled?: number; readonly lastUpdated?: number },
  policy: CatchUpPolicy = {},
): number {
  const threshold = policy.downtimeThresholdMs ?? DEFAULT_DOWNTIME_THRESHOLD_MS;
  const catchUp = (policy.maxMissedSchedules ?? DEFAULT_MAX_MISSED_SCHEDULES) > 0;
  let from = state.lastScheduled !== undefined && catchUp ? Math.max(state.lastScheduled, state.now - threshold) : state.now;
  if (state.lastUpdated !== undefined && state.lastUpdated > from) from = state.lastUpdated;
  if (schedule.notBefore !== undefined && from < schedule.notBefore) from = schedule.notBefore - 1;
  return from;
}

export interface DueRuns {
  /** Due run times, oldest first, to create now. */
  readonly due: readonly number[];
  /** Due run times left out because more than maxMissedSchedules were due. */
  readonly skipped: number;
  /** Where the next pass starts looking (the last due time, or now after a skip). */
  readonly from: number;
  /** The next run time after this pass, if any. */
  readonly next?: number;
}

/** Counting skipped runs stops here (an every-second schedule after a long stall); the count is then a lower bound. */
const MAX_SKIPPED_COUNTED = 1000;

/** The run times in (from, now] to create in one pass, at most maxMissedSchedules (one with 0). */
export function dueRuns(schedule: CompiledSchedule, from: number, now: number, policy: CatchUpPolicy = {}): DueRuns {
  const limit = Math.max(1, policy.maxMissedSchedules ?? DEFAULT_MAX_MISSED_SCHEDULES);
  const due: number[] = [];
  let cursor = from;
  let next = nextRunTime(schedule, cursor);
  while (next !== undefined && next <= now && due.length < limit) {
    due.push(next);
    cursor = next;
    next = nextRunTime(schedule, cursor);
  }
  if (next === undefined || next > now) return { due, skipped: 0, from: cursor, ...(next !== undefined && { next }) };
  let skipped = 0;
  for (let t: number | undefined = next; t !== undefined && t <= now && skipped < MAX_SKIPPED_COUNTED; t = nextRunTime(schedule, t)) skipped++;
  const after = nextRunTime(schedule, now);
  return { due, skipped, from: now, ...(after !== undefined && { next: after }) };
}
