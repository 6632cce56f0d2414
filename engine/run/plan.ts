/**
 * planRun: one JobRun and its live tasks in, the status to write and what to do out (see types.ts).
 * Pure and idempotent: planning again on the written status with the same observations gives the
 * same status and no new creates, kills or events.
 */
import { formatFieldError, type FieldError } from '../errors.js';
import { canonicalIndexJson, expandIndexes } from '../indexes.js';
import { validateRun } from '../render.js';
import { indexNamePart } from '../names.js';
import { retryDelayMillis } from '../retry/backoff.js';
import type { FoldedTasks, JobRunObject, JobRunStatus, LiveTasks, TaskRef } from '../schema/resources.js';
import { cacheLookup, cacheRecords } from './cache.js';
import { compact } from './compact.js';
import { decideCreates } from './creates.js';
import { runEvents } from './events.js';
import { backingOffIndexes, foldAttempts, FOLD_THRESHOLD_BYTES, readFolded, statusBytes } from './fold.js';
import { summarize, type IndexView } from './index-status.js';
import { decideKills } from './kills.js';
import { restampConditions, runConditions } from './kstatus.js';
import { attempts, startedOutcome, TERMINAL_PHASES, type RunOutcome } from './phase.js';
import { packLiveTasks, unpackLiveTasks } from './pack.js';
import { boundResults } from './results.js';
import { judgeAttempts } from './retries.js';
import { decideStart } from './start.js';
import { decideStrays } from './strays.js';
import { indexJson, isFinished, mergeTaskRefs, taskKind } from './task-refs.js';
import { templateHash } from './template-hash.js';
import { formatTime, nextAfter, parseTime, type Millis } from './time.js';
import type { RunPlan, RunSnapshot } from './types.js';

export function planRun(snapshot: RunSnapshot): RunPlan {
  const { run } = snapshot;
  const now = snapshot.now.getTime();
  const previous = run.status ?? {};
  const finished = TERMINAL_PHASES.has(previous.phase);
  // Admission errors are final (Furiko's annotation); a finished run is a record that no edit reopens,
  // and one killed while queued never starts.
  if (previous.phase === 'AdmissionError' || (finished && !previous.startTime)) return unchanged(run);
  // A spec that cannot be read is reported as such first: its admission would only say it differs from its config.
  const errors = validateRun(run);
  if (errors.length) return finished ? unchanged(run) : invalidSpec(run, errors, now);
  if (snapshot.rejection) {
    // A finished record stays as it is, even if its kind of task is no longer allowed; without its
    // tasks' observations nothing else can be planned.
    if (finished) return unchanged(run);
    const { reason, message, eventMessage } = snapshot.rejection;
    return admissionError(run, reason, message, eventMessage ?? message, now);
  }
  if (snapshot.hold && !previous.startTime) {
    const { reason, message, until } = snapshot.hold;
    return queued(run, { reason, message, until: until.getTime() }, now);
  }
  const start = decideStart(snapshot, now);
  if (start.kind === 'rejected') return admissionError(run, start.reason, start.message, start.message, now);
  if (start.kind === 'queued') return queued(run, start, now);
  return planStarted(snapshot, start.startTime, now);
}

function unchanged(run: JobRunObject): RunPlan {
  const generation = run.metadata.generation;
  const status = compact({ ...run.status, observedGeneration: generation, conditions: restampConditions(run.status?.conditions, generation) });
  return { status, create: [], kill: [], events: [] };
}

function invalidSpec(run: JobRunObject, errors: readonly FieldError[], now: Millis): RunPlan {
  // The event leaves out the offending values: they may be option values.
  const fields = errors.map((e) => `${e.field}: ${e.message}`).join('; ');
  return admissionError(run, 'InvalidSpec', errors.map(formatFieldError).join('; '), `Run spec is invalid: ${fields}`, now);
}

/** Terminal without creating or killing anything (Furiko's admission-error path). */
function admissionError(run: JobRunObject, reason: string, message: string, eventMessage: string, now: Millis): RunPlan {
  const outcome: RunOutcome = { phase: 'AdmissionError', result: 'AdmissionError', reason, message, finishTime: formatTime(now) };
  return { status: withConditions(run, { ...run.status, ...outcome }, outcome, now), create: [], kill: [], events: [{ type: 'Warning', reason, message: eventMessage }] };
}

function queued(run: JobRunObject, start: { readonly reason: string; readonly message: string; readonly until?: Millis }, now: Millis): RunPlan {
  const killTimestamp = run.spec.killTimestamp;
  const killAt = killTimestamp ? parseTime(killTimestamp) : undefined;
  // Killed before it started: Furiko would show Killing for ever; nothing is left to wait for.
  const outcome: RunOutcome =
    killAt !== undefined && killAt <= now
      ? { phase: 'Killed', result: 'Killed', reason: 'Killed', message: `Run killed at ${killTimestamp} before it started`, finishTime: killTimestamp }
      : { phase: 'Queued', reason: start.reason, message: start.message };
  const status = withConditions(run, { ...outcome }, outcome, now);
  const events = runEvents({ previous: run.status ?? {}, next: status, creates: [], kills: [], deferred: [], maxAttempts: run.spec.template.maxAttempts ?? 1, backingOff: new Set() });
  const requeueAt = outcome.phase === 'Queued' ? nextAfter(now, [start.until, killAt]) : undefined;
  return { status, create: [], kill: [], events, ...(requeueAt !== undefined && { requeueAt: new Date(requeueAt) }) };
}

function planStarted({ run, tasks, issuedCreates, cache, createLimit, foldAboveBytes = FOLD_THRESHOLD_BYTES, packAboveBytes = FOLD_THRESHOLD_BYTES }: RunSnapshot, startTime: Millis, now: Millis): RunPlan {
  const previous = run.status ?? {};
  const template = run.spec.template;
  const runName = run.metadata.name;
  const strategy = template.parallelism?.completionStrategy ?? 'AllSuccessful';
  const maxAttempts = template.maxAttempts ?? 1;
  const indexes = expandIndexes(template.parallelism);
  const kind = taskKind(template.taskTemplate);
  const finished = TERMINAL_PHASES.has(previous.phase);
  const killTimestamp = run.spec.killTimestamp;
  const killedAt = killTimestamp && parseTime(killTimestamp) <= now ? killTimestamp : undefined;
  const folded = readFolded(previous.foldedTasks, indexes);
  const summarizeRefs = (refs: readonly TaskRef[]) => summarize({ runName, indexes, refs, maxAttempts, strategy, folded });

  const knownStrays = new Set((previous.strayTasks ?? []).map((stray) => stray.uid));
  const unpacked = unpackLiveTasks(previous.liveTasks, indexes, runName, kind);
  const previousRefs = [...(previous.tasks ?? []), ...unpacked.refs];
  const observed = mergeTaskRefs(previousRefs, tasks, kind, now, { folded, strays: knownStrays, packed: unpacked.names });
  const strays = observed.strays;
  const finishedBefore = new Set((previous.tasks ?? []).filter(isFinished).map((ref) => ref.name));
  // Retry rules judge each attempt as it ends, before anything reads the index's state.
  const judge = (refs: readonly TaskRef[]) => judgeAttempts(refs, { template, tasks, finishedBefore, folded });
  const merged = judge(boundResults(observed.refs, (ref) => !finishedBefore.has(ref.name)));
  const straying = decideStrays(previous.strayTasks ?? [], strays, kind.kind, now);
  const before = summarizeRefs(merged);
  // Kills go on after the run finished: a late first attempt GitOps applies must not run unchecked.
  const killContext = { now, template, killedAt, strategy };
  // A task stopped before it ran ends at once (see decideKills): the rules judge it too.
  const decideJudgedKills = (refs: readonly TaskRef[], summary: typeof before) => {
    const plan = decideKills(refs, { ...killContext, summary });
    return { ...plan, refs: judge(plan.refs) };
  };
  let killing = decideJudgedKills(merged, before);
  let afterKills = summarizeRefs(killing.refs);
  if (afterKills.complete && !before.complete) {
    // A stopped task that never ran ends at once (see decideKills); if that completed the run, the rest stop now too.
    const more = decideJudgedKills(killing.refs, afterKills);
    // The second pass sees every ref again, so its wake-ups replace the first's (a timeout deadline of a
    // task it just stopped must not linger).
    killing = { refs: more.refs, kills: [...killing.kills, ...more.kills], wakeAt: more.wakeAt };
    afterKills = summarizeRefs(killing.refs);
  }
  const creating = decideCreates(killing.refs, afterKills, {
    runName,
    now,
    retryDelay: (key, retryIndex) => retryDelayMillis(template, `${run.metadata.namespace ?? ''}/${runName}/${key}`, retryIndex),
    rendered: (run.spec.materialization ?? 'Rendered') === 'Rendered',
    kind,
    allowed: !finished && !killedAt && !afterKills.complete,
    issued: issuedCreates,
    cached: cacheLookup(run, cache?.entries, now),
    ...(createLimit !== undefined && { limit: createLimit }),
  });
  // A result copied from the cache counts against the run's results budget like an observed one.
  const refs = creating.cached.length ? boundResults(creating.refs, (ref) => !finishedBefore.has(ref.name)) : creating.refs;
  const summary = summarizeRefs(refs);
  const outcome = finished ? finishedOutcome(previous) : startedOutcome({ summary, refs, killedAt, strategy, now });
  const currentHash = templateHash(template);
  const startedHash = previous.templateHash ?? currentHash;
  const statusOf = (kept: readonly TaskRef[], foldedTasks: readonly FoldedTasks[], liveTasks: readonly LiveTasks[] = []) => {
    const listed = foldedTasks.length || liveTasks.length ? new Set(kept.map(indexJson)) : undefined;
    return withConditions(
      run,
      {
        ...outcome,
        startTime: previous.startTime ?? formatTime(startTime),
        progress: `${summary.succeeded}/${indexes.length}`,
        createdTasks: attempts(summary),
        runningTasks: refs.filter((ref) => ref.runningTimestamp && !ref.finishTimestamp).length,
        tasks: [...kept],
        // Once attempts are folded or packed, the indexes listed are those with refs: foldedTasks and liveTasks have the others.
        indexes: summary.indexes.filter((view) => !listed || listed.has(canonicalIndexJson(view.index))).map(indexStatus),
        strayTasks: straying.records.length ? straying.records : undefined,
        foldedTasks: foldedTasks.length ? [...foldedTasks] : undefined,
        liveTasks: liveTasks.length ? [...liveTasks] : undefined,
        templateHash: startedHash,
      },
      outcome,
      now,
      startedHash !== currentHash,
    );
  };
  const full = statusOf(refs, previous.foldedTasks ?? []);
  const onRecord = new Set(previousRefs.map(indexJson));
  const backingOff = backingOffIndexes(previous, folded, indexes, onRecord, maxAttempts, (index) => indexNamePart(runName, index));
  /**
   * Over budget: fold finished attempts (fold.ts); still over (thousands of indexes at once), fold
   * the latest attempts of indexes waiting to retry too, then pack the tasks still going (pack.ts).
   */
  const bounded = (views: readonly IndexView[], all: readonly TaskRef[], goingNames: ReadonlySet<string>) => {
    const folding = foldAttempts(views, all, goingNames);
    const foldedStatus = statusOf(folding.refs, folding.groups);
    if (statusBytes(foldedStatus) <= packAboveBytes) return foldedStatus;
    const deeper = foldAttempts(views, all, goingNames, { latestToo: true });
    const packing = packLiveTasks(deeper.refs, indexes);
    return statusOf(packing.refs, deeper.groups, packing.groups);
  };
  // Events first: an attempt folded as it finishes still gets its TaskFinished event.
  const events = [
    ...runEvents({ previous, next: full, creates: creating.creates, kills: killing.kills, deferred: creating.deferred, maxAttempts, backingOff }),
    ...straying.events,
    ...creating.cached.map(({ name, key, entry }) => ({ type: 'Normal' as const, reason: 'TaskCached', message: `Index ${key}: result of ${entry.task} (run ${entry.run}, finished ${entry.finishTimestamp}) reused; ${name} was not created` })),
  ];
  const status = statusBytes(full) > foldAboveBytes ? bounded(summary.indexes, refs, going(tasks)) : full;
  const killAt = killTimestamp && !TERMINAL_PHASES.has(outcome.phase) ? parseTime(killTimestamp) : undefined;
  // Creates left over the per-plan limit are planned again at once (after the other runs queued meanwhile).
  const requeueAt = creating.more ? now : nextAfter(now, [...killing.wakeAt, ...creating.wakeAt, ...straying.wakeAt, killAt]);
  return {
    status,
    create: creating.creates.map((issued) => issued.create),
    kill: [...killing.kills.map((issued) => issued.kill), ...straying.kills],
    events,
    ...(requeueAt !== undefined && { requeueAt: new Date(requeueAt) }),
    ...(cache && {
      cache: {
        hits: creating.cached,
        misses: creating.misses,
        // A task rendered from an edited template is not what the key says.
        record: startedHash === currentHash ? cacheRecords(run, merged, finishedBefore, now) : [],
      },
    }),
  };
}

/** Names of the task objects observed still going. */
function going(tasks: RunSnapshot['tasks']): Set<string> {
  return new Set(tasks.filter((task) => task.observation.state !== 'Terminated').map((task) => task.name));
}

function finishedOutcome(previous: JobRunStatus): RunOutcome {
  const { phase, result, reason, message, finishTime } = previous;
  return { phase: phase!, result, reason, message, finishTime };
}

function indexStatus(view: IndexView): NonNullable<JobRunStatus['indexes']>[number] {
  const index = JSON.parse(canonicalIndexJson(view.index)) as Record<string, unknown>;
  return compact({ index, key: view.key, createdTasks: view.attempts, state: view.state, result: view.result });
}

function withConditions(run: JobRunObject, status: JobRunStatus, outcome: RunOutcome, now: Millis, templateChanged?: boolean): JobRunStatus {
  const generation = run.metadata.generation;
  const conditions = runConditions({ ...outcome, templateChanged, strayTasks: status.strayTasks, previous: run.status?.conditions, generation, now: formatTime(now) });
  return compact({ ...status, observedGeneration: generation, conditions });
}
