/**
 * `npm run bench [-- --quick] [-- --only synth|watcher|startup|http|shards|scale] [-- --kwok] [-- --scale]`: taskplane's benchmarks (not part of the test
 * suite). `scale` (100,000 tasks, about 15 minutes) runs only when asked: `--only scale`, or `--scale` beside the rest. Prints a short table and writes bench/results/latest.md and latest.json. Machines are shared
 * and noisy, so every figure that matters is a ratio against a baseline measured in the same run.
 * `--kwok`: the watcher part drives its Pods through kube-scheduler and KWOK instead of status patches.
 */
import { execFileSync } from 'node:child_process';
import { cpus, totalmem } from 'node:os';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { OUTPUT_BASE, runSynth, type SynthResult } from './synth.js';
import { runStartupBench, type StartupResult } from './startup.js';
import { runWatcherBench, runWatcherKwokBench, SCALE_PLAN, type KwokResult, type WatcherResult } from './watcher.js';
import { runHttpBench, type HttpBenchResult } from './http.js';
import { runShardsBench, shardsReport, type ShardsBenchResult } from './shards.js';
import { fmtMs, fmtRatio, REPO_ROOT, table } from './util.js';
import { CHART } from './workload.js';

const args = process.argv.slice(2);
const quick = args.includes('--quick');
const only = args.includes('--only') ? args[args.indexOf('--only') + 1] : undefined;
const write = !args.includes('--no-write');
const kwok = args.includes('--kwok');
const scale = only === 'scale' || args.includes('--scale');
const kwokParallelism = args.includes('--kwok-parallelism') ? Number(args[args.indexOf('--kwok-parallelism') + 1]) : undefined;
// For diagnosis: the watcher child runs with --cpu-prof into this directory.
const watcherCpuProf = args.includes('--watcher-cpu-prof') ? args[args.indexOf('--watcher-cpu-prof') + 1] : undefined;
// For diagnosis: the watcher's --workers (its default otherwise).
const watcherWorkers = args.includes('--watcher-workers') ? Number(args[args.indexOf('--watcher-workers') + 1]) : undefined;

const FULL_SIZES = [[10, 10], [100, 10], [1000, 10], [100, 100], [1000, 100]] as const;
const QUICK_SIZES = [[10, 10], [100, 10], [100, 100]] as const;

const log = (line: string) => console.error(line);
/** Small sizes take a second a run and are the noisiest: more runs there. */
const synthReps = (taskObjects: number) => (taskObjects <= 1000 ? 7 : taskObjects <= 10_000 ? 5 : 3);
const started = Date.now();

let synth: SynthResult | undefined;
let watcher: WatcherResult | undefined;
let watcherKwok: KwokResult | undefined;
let startup: StartupResult | undefined;
if (!only || only === 'startup') {
  log('CLI start-up: compiled taskplane vs node -e 0');
  startup = runStartupBench({ reps: quick ? 5 : 20, log });
}
if (!only || only === 'synth') {
  log(`synth scaling (${quick ? 'quick' : 'full'}): each case in a fresh process, repeated, 120 s limit`);
  synth = await runSynth({ sizes: quick ? QUICK_SIZES : FULL_SIZES, reps: quick ? () => 3 : synthReps, timeoutMs: 120_000, log });
}
if (!only || only === 'watcher') {
  const runs = quick ? 10 : 100;
  if (kwok) {
    log(`watcher on KWOK nodes: ${runs} runs × 100 Pod tasks, run by kube-scheduler and KWOK`);
    watcherKwok = await runWatcherKwokBench({ runs, tasksPerRun: 100, log, stageParallelism: kwokParallelism });
  } else {
    log(`watcher throughput: ${runs} runs × 100 Pod tasks on a real kube-apiserver`);
    watcher = await runWatcherBench({ runs, tasksPerRun: 100, log, cpuProfileDir: watcherCpuProf, workers: watcherWorkers });
  }
}

let watcherScale: WatcherResult | undefined;
if (scale) {
  const runs = quick ? 100 : 1000;
  log(`watcher at scale: ${runs} runs × 100 Pod tasks applied first; start-up of the bare informer, then of the watcher; phases on 10% of the runs`);
  const scaleStarted = Date.now();
  watcherScale = await runWatcherBench({ runs, tasksPerRun: 100, log, cpuProfileDir: watcherCpuProf, workers: watcherWorkers, plan: SCALE_PLAN });
  log(`  the scale section took ${Math.round((Date.now() - scaleStarted) / 1000)} s`);
}

let http: HttpBenchResult | undefined;
if (!only || only === 'http') {
  log('HTTP tasks: the watcher\'s client vs a bare fetch loop; 1,000 HttpTasks end to end; memory with 1,000 in flight');
  http = await runHttpBench({ requests: quick ? 5000 : 20_000, e2eTasks: 1000, log });
}

let shards: ShardsBenchResult | undefined;
if (!only || only === 'shards') {
  log('sharding: the same stream with 1 and with 2 watcher processes (--shards 2)');
  shards = await runShardsBench({ configs: quick ? 10 : 40, tasksPerRun: quick ? 20 : 50, reps: quick ? 1 : 3, log });
}

const commit = (() => {
  try {
    return execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: REPO_ROOT, encoding: 'utf8' }).trim();
  } catch {
    return 'unknown';
  }
})();
const meta = {
  date: new Date().toISOString(),
  commit,
  quick,
  node: process.version,
  cpus: `${cpus().length} × ${cpus()[0]?.model ?? '?'}`,
  memoryGB: Math.round(totalmem() / 2 ** 30),
  durationS: Math.round((Date.now() - started) / 1000),
};

const markdown = report(meta, synth, watcher, startup, watcherKwok, http, watcherScale) + (shards ? `\n\n${shardsReport(shards)}` : '');
console.log(`\n${markdown}`);
if (write) {
  const dir = join(REPO_ROOT, 'bench', 'results');
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'latest.json'), `${JSON.stringify({ meta, synth, watcher, watcherKwok, watcherScale, startup, http, shards }, null, 2)}\n`);
  writeFileSync(join(dir, 'latest.md'), `${markdown}\n`);
  log(`wrote bench/results/latest.md and latest.json (${meta.durationS} s)`);
}
// Nothing is left to wait for; do not let a stray handle keep the process up.
process.exit(0);

function report(m: typeof meta, s: SynthResult | undefined, w: WatcherResult | undefined, st: StartupResult | undefined, k: KwokResult | undefined, h: HttpBenchResult | undefined, ws: WatcherResult | undefined): string {
  const parts = [`# taskplane benchmarks\n\n${m.date}, commit ${m.commit}${m.quick ? ' (--quick)' : ''}, Node ${m.node}, ${m.cpus}, ${m.memoryGB} GB, ${m.durationS} s in all.`];
  if (s) parts.push(synthReport(s));
  if (w) parts.push(watcherReport(w));
  if (k) parts.push(kwokReport(k));
  if (ws) parts.push(watcherReport(ws, 'Watcher at scale'));
  if (st) parts.push(startupReport(st));
  if (h) parts.push(httpReport(h));
  return parts.join('\n\n');
}

function httpReport(h: HttpBenchResult): string {
  return [
    '## HTTP tasks',
    `A loopback server answering at once. Client: ${h.requests} GETs, ${h.concurrency} at a time, 3 repetitions interleaved; bare \`fetch\` + JSON.parse vs the watcher's client (egress-checked lookup, Idempotency-Key, body cap, response rules). ` +
      `End to end: ${h.e2eTasks} HttpTasks of one Rendered run applied first, then an in-process watcher (pool ${h.e2eTasks}) starts and performs them all (a status write before and after each request, the run's status) against a real kube-apiserver; ` +
      `overhead: wall time per request over the bare loop's. Memory: ${h.inFlight} requests held open by the server at once, heap (after GC) and RSS growth of the watcher's process per request (the cached HttpTasks included).`,
    table(['case', 'requests/s', 'vs bare fetch'], [
      ['bare fetch loop', h.fetchRps.toFixed(0), '1.00×'],
      ["watcher's HTTP client", h.clientRps.toFixed(0), fmtRatio(h.clientRatio)],
      [`end to end (${h.e2eTasks} HttpTasks, ${h.e2eSeconds.toFixed(1)} s)`, h.e2eRps.toFixed(0), fmtRatio(h.e2eRatio)],
    ]),
    `Overhead per request end to end: ${h.e2eOverheadMs.toFixed(2)} ms. With ${h.inFlight} in flight: heap +${h.heapPerRequestKiB.toFixed(1)} KiB and RSS +${h.rssPerRequestKiB.toFixed(1)} KiB per request.`,
  ].join('\n\n');
}

function synthReport(s: SynthResult): string {
  const cell = (c: SynthResult['rows'][number]['cells']['taskplane']) =>
    c.timedOut ? `>${s.timeoutMs / 1000} s (timed out)` : c.error ? 'error' : `${fmtMs(c.medianMs)}, ${c.medianRssMB?.toFixed(0)} MB`;
  const rows = s.rows.map((r) => [
    `${r.configs} × ${r.tasks}`,
    cell(r.cells.taskplane),
    cell(r.cells.cdk8s),
    cell(r.cells.yaml),
    fmtRatio(r.aOverC),
    r.cells.cdk8s.timedOut ? `<${fmtRatio(r.aOverB)}` : fmtRatio(r.aOverB),
    r.usPerTask === undefined ? '-' : `${r.usPerTask.toFixed(0)} µs`,
    String(Math.max(...Object.values(r.cells).map((c) => c.samples.length))),
  ]);
  const marginal = s.marginal.map((m) => `${m.from} → ${m.to}: ${m.taskplaneUs.toFixed(0)} µs per added task (the floor: ${m.yamlUs.toFixed(0)} µs)`).join('; ');
  const e = s.equivalence;
  const same = Object.entries(e.sameDocuments).map(([impl, ok]) => `${impl} ${ok ? 'same' : 'DIFFERENT'}`).join(', ');
  return [
    '## Synth scaling',
    `N JobConfigs × P tasks: one chart, each JobConfig one Rendered run with \`Parallelism.withCount(P)\`, a one-container Pod template with 8 \`\${...}\` variables and 3 options. ` +
      `(a) taskplane: \`TaskplaneApp\`, \`new JobConfig\` + \`config.run\`, \`synth()\`; (b) plain cdk8s: the same objects (precomputed by taskplane's engine) as \`ApiObject\`s, one chart per JobConfig, \`App\` with FILE_PER_CHART; ` +
      `(c) the floor: \`yaml.stringify\` of the same objects (keys pre-sorted) written to taskplane's layout, no cdk8s. ` +
      `Time: median of the runs (n), each in a fresh process, from after module loading to the last file written (under ${OUTPUT_BASE}; engine work included for (a), excluded for (b) and (c)); a case over 30 s runs once. a/c and a/b: the median of each repetition's ratio (the cases of a repetition run back to back, so the ratio cancels the machine's drift). RSS: the process's peak (maxRSS). ` +
      `Equivalence at ${e.configs} × ${e.tasks} (${e.documents} documents under ${CHART}/; taskplane also writes the namespaces and a Kustomization, the others do not): ${same} as taskplane; taskplane and the floor byte-identical: ${e.yamlFloorByteIdentical ? 'yes' : 'NO'}.`,
    table(['N × P', '(a) taskplane', '(b) cdk8s', '(c) yaml floor', 'a/c', 'a/b', 'a per task', 'n'], rows),
    `Linearity (cost of one more task at a fixed number of JobConfigs): ${marginal || '-'}.`,
  ].join('\n\n');
}

function startupReport(st: StartupResult): string {
  return [
    '## CLI start-up',
    `Wall time from spawn to exit, ${st.reps} repetitions of every case back to back; the compiled CLI (lib/, as installed); ratio: the median of each repetition's ratio to \`node -e 0\` (${fmtMs(st.baselineMs)} here).`,
    table(['command', 'median', 'vs node -e 0'], st.cases.map((c) => [c.name, fmtMs(c.medianMs), fmtRatio(c.ratio)])),
  ].join('\n\n');
}

function kwokReport(k: KwokResult): string {
  const s = (seconds: number | undefined) => (seconds === undefined ? 'timed out' : `${seconds.toFixed(1)} s`);
  return [
    '## Watcher on KWOK nodes',
    `${k.runs} Rendered runs × ${k.tasksPerRun} Pod tasks (${k.tasks} Pods) applied server-side as above (${s(k.applySeconds)}), then run by kube-scheduler and KWOK on ${k.nodes} nodes, ${k.stageParallelism} Pod stages played at once ` +
      `(each Pod: Pending, Running, then its outcome after ${k.runTime}; the first attempts of 10% of the runs, ${k.failing} Pods, fail and are retried). No status is written by the driver: the event stream is the cluster's. ` +
      `Times from the start of the apply.`,
    table(['', 'seconds'], [
      ['bare informer: every Pod (first attempts and retries) in a final phase', s(k.informerAllDoneS)],
      ['watcher statuses: every first attempt terminated', s(k.watcherFirstAttemptsDoneS)],
      ['watcher statuses: every retry succeeded', s(k.watcherAllDoneS)],
    ]),
    [
      `- Pod events per Pod (bare informer, ADD + UPDATE): ${k.eventsPerPod.toFixed(1)} (the status-patch bench: 3, one ADD and two status writes).`,
      `- CPU over the run: watcher ${k.watcherCpuS.toFixed(1)} s, bare informer ${k.informerCpuS.toFixed(1)} s (${fmtRatio(k.watcherCpuS / k.informerCpuS)}); watcher peak RSS ${k.watcherPeakMB.toFixed(0)} MB.`,
      `- API writes per task transition: ${k.api.writesPerTransition.toFixed(2)} (${k.api.writes} ÷ ${k.api.transitions}).`,
    ].join('\n'),
  ].join('\n\n');
}

function watcherReport(w: WatcherResult, title = 'Watcher throughput'): string {
  const rate = (r: number | undefined) => (r === undefined ? 'timed out' : `${r.toFixed(0)}/s`);
  // An informer can see an event before the writer has read its response: a tiny negative lag is 0.
  const lag = (ms: number | undefined) => (ms === undefined ? '' : ` (+${fmtMs(Math.max(0, ms))})`);
  const rows = w.phases.map((p) => [
    p.name,
    `${p.events} → ${p.transition}`,
    `${p.writeRate.toFixed(0)}/s`,
    `${rate(p.informerRate)}${lag(p.informerLagMs)}`,
    `${rate(p.watcherRate)}${lag(p.watcherLagMs)}`,
    p.informerRate && p.watcherRate ? fmtRatio(p.watcherRate / p.informerRate) : '-',
    `${((p.watcherCpuS * 1e6) / p.events).toFixed(0)} / ${((p.informerCpuS * 1e6) / p.events).toFixed(0)} µs`,
    `${(p.machineBusy * 100).toFixed(0)}% · ${p.controlPlaneCores.toFixed(2)}`,
  ]);
  const st = w.startup;
  const mb = (n: number) => `${n.toFixed(0)} MB`;
  const applied = st
    ? `applied server-side before the watcher and the bare informer started (20 in flight: ${w.apply.objects} objects in ${w.apply.seconds.toFixed(1)} s, ${w.apply.perSecond.toFixed(0)}/s); then the bare informer started alone, then the watcher (below). `
    : `applied server-side (20 in flight: ${w.apply.objects} objects in ${w.apply.seconds.toFixed(1)} s, ${w.apply.perSecond.toFixed(0)}/s; ` +
      `the bare informer had every Pod after ${w.apply.informerAllSeenS?.toFixed(1) ?? '-'} s, the watcher's statuses listed every task after ${w.apply.watcherAllSeenS?.toFixed(1) ?? '-'} s). `;
  const startupPart = st && [
    `Start-up against the ${w.tasks} existing Pods and ${w.runs} JobRuns, seconds from the process's spawn; memory from /proc (RSS; peak: VmHWM). ` +
      `CPU until every run was reconciled: the watcher ${st.watcherCpuS.toFixed(1)} s, etcd + kube-apiserver ${st.controlPlaneCpuS.toFixed(1)} s (2 cores: ${(2 * st.watcherAllRunsS).toFixed(0)} CPU-seconds in that time).`,
    table(['', 'bare informer', 'watcher', 'watcher/informer'], [
      ['list every Pod (informer) / every run reconciled once (watcher status lists all its tasks)', `${st.informerListS.toFixed(1)} s`, `${st.watcherAllRunsS.toFixed(1)} s (ready: ${st.watcherReadyS.toFixed(1)} s, first run: ${st.watcherFirstRunS.toFixed(1)} s)`, fmtRatio(st.watcherAllRunsS / st.informerListS)],
      ['RSS once started (watcher: 15 s after the last first reconcile)', mb(st.informerRssMB), mb(st.watcherSteadyRssMB), fmtRatio(st.watcherSteadyRssMB / st.informerRssMB)],
      ['peak during start-up', mb(st.informerPeakMB), mb(st.watcherStartupPeakMB), fmtRatio(st.watcherStartupPeakMB / st.informerPeakMB)],
      ...(w.restart
        ? [
            [
              `watcher restarted at the end (statuses written): every run reconciled (${w.restart.reconciles} reconciles, ${w.restart.writes} writes); its peak`,
              `${st.informerListS.toFixed(1)} s; ${mb(st.informerPeakMB)}`,
              `${w.restart.allRunsS.toFixed(1)} s (ready: ${w.restart.readyS.toFixed(1)} s); ${mb(w.restart.peakMB)}`,
              `${fmtRatio(w.restart.allRunsS / st.informerListS)}; ${fmtRatio(w.restart.peakMB / st.informerPeakMB)}`,
            ],
          ]
        : []),
      ['at the end: RSS / peak', `${mb(w.memory.informerRssMB)} / ${mb(w.memory.informerPeakMB)}`, `${mb(w.memory.watcherEndMB)} / ${mb(w.memory.watcherPeakMB)}`, `${fmtRatio(w.memory.watcherEndMB / w.memory.informerRssMB)} / ${fmtRatio(w.memory.watcherPeakMB / w.memory.informerPeakMB)}`],
    ]),
  ].join('\n\n');
  const controlPlane = Object.entries(w.memory.controlPlane).map(([name, m]) => `${name} ${mb(m.rssMB)} (peak ${mb(m.peakMB)})`).join(', ');
  return [
    `## ${title}`,
    `${w.runs} Rendered runs × ${w.tasksPerRun} Pod tasks (${w.tasks} Pods) ${applied}` +
      `Then Pod status writes (what a kubelet does) at fixed rates and as fast as possible. A phase's events per second are its N writes ÷ (time the consumer had all N − first write sent): ` +
      `for the bare informer (client-node \`makeInformer\`, counting events in its own process), when it has received all N Pod updates; for the watcher (\`taskplane watch\` as a child process), ` +
      `when its JobRun statuses (read by a third process's informer) show all N task transitions. In brackets: how long after the last write was acknowledged. CPU: per event, watcher / bare informer. ` +
      `Machine busy: the share of all ${cpus().length} cores' time spent busy during the phase (every process); control plane cores: etcd's and kube-apiserver's CPU seconds ÷ the phase's seconds. ` +
      `All processes (etcd, kube-apiserver, watcher, informers, driver) share the machine.`,
    ...(startupPart ? [startupPart] : []),
    table(['phase', 'events', 'written', 'bare informer', 'watcher status', 'watcher/informer', 'CPU per event', 'machine busy · control plane cores'], rows),
    [
      `- Failure → retry created (a failed Pod written; its retry's ADDED seen by the bare informer), ${w.retry.count} retries at ${w.retry.rate} failures/s with ${w.tasks} tasks cached: median ${fmtMs(w.retry.medianMs)}, p99 ${fmtMs(w.retry.p99Ms)}, max ${fmtMs(w.retry.maxMs)}.`,
      `- Watcher memory with ${w.tasks} tasks cached: RSS ${mb(w.memory.watcherAfterApplyMB)} after the ${st ? 'start-up' : 'apply'}, ${mb(w.memory.watcherEndMB)} at the end, peak (VmHWM) ${mb(w.memory.watcherPeakMB)}; ` +
        `the bare informer holding the same Pods: RSS ${mb(w.memory.informerRssMB)}, peak ${mb(w.memory.informerPeakMB)} (watcher/informer: ${fmtRatio(w.memory.watcherEndMB / w.memory.informerRssMB)} RSS, ${fmtRatio(w.memory.watcherPeakMB / w.memory.informerPeakMB)} peak). ` +
        `Control plane at the end: ${controlPlane}.`,
      `- API writes per task transition (watcher /metrics, over the driven phases): ${w.api.writesPerTransition.toFixed(2)} (${w.api.writes} writes ÷ ${w.api.transitions} \`taskplane_task_transitions_total\`); ` +
        `per transition we caused (${w.api.drivenTransitions}: Pod status changes and retries appearing): ${w.api.writesPerDrivenTransition.toFixed(2)}. ` +
        `Writes: ${Object.entries(w.api.writesBy).sort((a, b) => b[1] - a[1]).map(([k, v]) => `${v} ${k}`).join(', ')}; ${w.api.reconciles} reconciles, ${w.api.requests} requests in all.`,
    ].join('\n'),
  ].join('\n\n');
}
