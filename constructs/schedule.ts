import { describeSchedule } from '../engine/schedule/describe.js';
import { ANNOTATION_SCHEDULE } from '../engine/schedule/metadata.js';
import { compileSchedule } from '../engine/schedule/schedule.js';
import type { ScheduleSpec } from '../engine/schema/resources.js';

export interface CronScheduleOptions {
  /**
   * The zone the expressions are read in: an IANA name (`Europe/Berlin`) or a fixed offset
   * (`UTC+05:30`). Daylight saving is followed: see docs/synth.md.
   * @default 'UTC' - Furiko's default; a fixed zone, so runs never move with daylight saving
   */
  readonly timezone?: string;
  /**
   * Create no scheduled runs (a change in Git; `taskplane schedule pause` is the one that is not).
   * @default false
   */
  readonly disabled?: boolean;
  /**
   * No scheduled run before this time; a run due exactly then is created.
   * @default - from when the watcher first sees the schedule
   */
  readonly notBefore?: Date;
  /**
   * No scheduled run after this time.
   * @default - no end
   */
  readonly notAfter?: Date;
  /**
   * Succeeded scheduled runs kept; the watcher deletes older ones (never a run from Git).
   * @default 3 - like a CronJob's successfulJobsHistoryLimit
   */
  readonly keepSucceeded?: number;
  /**
   * Scheduled runs that did not succeed (Failed, Killed, AdmissionError...) kept.
   * @default 1 - like a CronJob's failedJobsHistoryLimit
   */
  readonly keepFailed?: number;
  /**
   * Lists the first run times after this instant in the JobConfig's `taskplane.dev/schedule`
   * annotation, for review. A fixed instant, so the output does not change from one synth to the next.
   * @default - no run times listed (synth never reads the clock)
   */
  readonly previewFrom?: Date;
}

/**
 * When the watcher creates runs of a JobConfig: cron expressions in Furiko's syntax, with `H` spreading
 * configs over the hour (`H 2 * * *`: once between 02:00 and 02:59, the minute hashed from the
 * JobConfig's namespace and name).
 */
export class Schedule {
  /**
   * One or more cron expressions: `min hour day-of-month month day-of-week`, a 6th field for the year,
   * or 7 with seconds first; `H`, `H/n`, `H(a-b)`, `L`, `W`, `#`, names and `@daily`-style aliases.
   * With several, coinciding times are one run.
   */
  public static cron(expression: string | readonly string[], options: CronScheduleOptions = {}): Schedule {
    const cron = {
      ...(typeof expression === 'string' ? { expression } : { expressions: [...expression] }),
      ...(options.timezone !== undefined && { timezone: options.timezone }),
    };
    const constraints = {
      ...(options.notBefore && { notBefore: timestamp(options.notBefore) }),
      ...(options.notAfter && { notAfter: timestamp(options.notAfter) }),
    };
    const history = {
      ...(options.keepSucceeded !== undefined && { succeeded: options.keepSucceeded }),
      ...(options.keepFailed !== undefined && { failed: options.keepFailed }),
    };
    return new Schedule(
      {
        cron,
        ...(options.disabled !== undefined && { disabled: options.disabled }),
        ...(Object.keys(constraints).length > 0 && { constraints }),
        ...(Object.keys(history).length > 0 && { history }),
      },
      options.previewFrom,
    );
  }

  private constructor(
    private readonly spec: ScheduleSpec,
    /** @internal */
    public readonly _previewFrom?: Date,
  ) {}

  /** @internal */
  public _toSpec(): ScheduleSpec {
    return structuredClone(this.spec);
  }

  /**
   * The JobConfig's review annotation: the schedule in words with `H` expanded for this JobConfig.
   * Undefined when the schedule is invalid (validation reports it).
   * @internal
   */
  public _annotations(namespace: string | undefined, name: string): Record<string, string> | undefined {
    const { schedule } = compileSchedule(this.spec, namespace ?? '', name);
    if (!schedule) return undefined;
    if (!namespace && schedule.expressions.some((e) => e.hashed.length > 0)) {
      const written = schedule.expressions.map((e) => e.text).join('; ');
      return { [ANNOTATION_SCHEDULE]: `${written}; ${schedule.zone.name}; H is hashed from <namespace>/${name}: set the JobConfig's or the chart's namespace to see its times` };
    }
    return { [ANNOTATION_SCHEDULE]: describeSchedule(schedule, { ...(this._previewFrom && { previewFrom: this._previewFrom.getTime() }) }) };
  }
}

/** RFC 3339 in UTC, whole seconds; an invalid Date stays visible (synth reports it) instead of throwing here. */
function timestamp(date: Date): string {
  return Number.isNaN(date.getTime()) ? String(date) : date.toISOString().replace('.000Z', 'Z');
}
