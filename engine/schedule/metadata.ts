/** The annotations schedules put on JobConfigs and their scheduled runs. */

/** On a JobConfig with a schedule (synth): the schedule in words, with `H` values expanded. */
export const ANNOTATION_SCHEDULE = 'taskplane.dev/schedule';
/** On a scheduled JobRun: its due time in unix seconds (Furiko's `execution.furiko.io/schedule-time`). */
export const ANNOTATION_SCHEDULE_TIME = 'taskplane.dev/schedule-time';
/**
 * On a JobConfig, set by `taskplane schedule pause` (not in Git; the watcher and the CLI own it):
 * no scheduled runs while present. Its value says who paused it and when.
 */
export const ANNOTATION_SCHEDULE_PAUSED = 'taskplane.dev/schedule-paused';

/** A run's schedule time in epoch ms, from its `taskplane.dev/schedule-time` annotation. */
export function scheduleTimeOf(run: { readonly metadata: { readonly annotations?: Readonly<Record<string, string>> } }): number | undefined {
  const text = run.metadata.annotations?.[ANNOTATION_SCHEDULE_TIME];
  return text !== undefined && /^\d+$/.test(text) ? Number(text) * 1000 : undefined;
}

/** Paused with `taskplane schedule pause`. */
export function isSchedulePaused(config: { readonly metadata: { readonly annotations?: Readonly<Record<string, string>> } }): boolean {
  return config.metadata.annotations?.[ANNOTATION_SCHEDULE_PAUSED] !== undefined;
}
