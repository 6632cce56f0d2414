/**
 * Synth scaling: N JobConfigs × P tasks through (a) taskplane, (b) plain cdk8s with the same objects
 * and (c) bare YAML serialization of them. Each case runs in a fresh child process
 * (bench/synth-case.ts), several times, interleaved so that machine noise hits every case alike;
 * the medians and their ratios are reported.
 */
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { median, runTsChild } from './util.js';
import { CHART } from './workload.js';

export type Impl = 'taskplane' | 'cdk8s' | 'cdk8s-files' | 'yaml';

export interface Sample {
  readonly totalMs: number;
  readonly constructMs?: number;
  readonly synthMs?: number;
  readonly prepMs?: number;
  readonly maxRssMB: number;
}

export interface Cell {
  readonly samples: Sample[];
  /** Set when a run hit the time limit (later repetitions are skipped). */
  timedOut: boolean;
  error?: string;
  medianMs?: number;
  medianRssMB?: number;
}

export interface Row {
  readonly configs: number;
  readonly tasks: number;
  /** Task objects: configs × tasks. */
  readonly taskObjects: number;
  readonly cells: Record<'taskplane' | 'cdk8s' | 'yaml', Cell>;
  /** taskplane ÷ yaml floor, and taskplane ÷ plain cdk8s: medians of the per-repetition ratios. */
  aOverC?: number;
  aOverB?: number;
  /** taskplane's median time per task object, in µs (constant when synth is linear in tasks). */
  usPerTask?: number;
}

export interface Equivalence {
  readonly configs: number;
  readonly tasks: number;
  readonly documents: number;
  /** Same multiset of documents (deep-equal after parsing) in every output. */
  readonly sameDocuments: Record<string, boolean>;
  /** taskplane's files and the YAML floor's files are byte for byte the same. */
  readonly yamlFloorByteIdentical: boolean;
}

/** Cost of one more task: between two sizes with the same number of JobConfigs (linear synth: the same at every size). */
export interface Marginal {
  readonly from: string;
  readonly to: string;
  readonly taskplaneUs: number;
  readonly yamlUs: number;
}

export interface SynthResult {
  readonly marginal: Marginal[];
  readonly timeoutMs: number;
  readonly rows: Row[];
  readonly equivalence: Equivalence;
}

const CASE = 'bench/synth-case.ts';
/**
 * Outputs go to RAM when possible: on a shared VM's disk, writeback of the previous runs' files made
 * the same case 3× slower from one run to the next (1.6 s → 4.7 s), hiding what synth itself costs.
 */
export const OUTPUT_BASE = existsSync('/dev/shm') ? '/dev/shm' : tmpdir();

async function runCase(impl: Impl, configs: number, tasks: number, timeoutMs: number): Promise<{ sample?: Sample; timedOut?: boolean; error?: string; outdir?: string }> {
  const outdir = join(mkdtempSync(join(OUTPUT_BASE, `taskplane-bench-${impl}-`)), 'out');
  const result = await runTsChild(CASE, [impl, String(configs), String(tasks), outdir], timeoutMs);
  if (result.timedOut) return { timedOut: true, outdir };
  if (result.code !== 0) return { error: `${impl} ${configs}×${tasks} exited with ${result.code ?? result.signal}: ${result.stderr.trim().split('\n').slice(-3).join(' / ')}`, outdir };
  return { sample: JSON.parse(result.stdout.trim().split('\n').at(-1)!) as Sample, outdir };
}

const removeOut = (outdir: string | undefined) => outdir && rmSync(join(outdir, '..'), { recursive: true, force: true });

/** A case whose run takes longer than this is not repeated (only plain cdk8s at the largest size). */
const REPEAT_UNDER_MS = 30_000;

export async function runSynth(opts: {
  sizes: readonly (readonly [number, number])[];
  /** Repetitions for a size with this many task objects (small sizes are noisier and cheaper). */
  reps: (taskObjects: number) => number;
  timeoutMs: number;
  log: (line: string) => void;
}): Promise<SynthResult> {
  const equivalence = await checkEquivalence(10, 10, opts.timeoutMs);
  opts.log(`  equivalence at 10×10: ${JSON.stringify(equivalence.sameDocuments)}, YAML floor byte-identical: ${equivalence.yamlFloorByteIdentical}`);
  const rows: Row[] = [];
  for (const [configs, tasks] of opts.sizes) {
    const cells = { taskplane: newCell(), cdk8s: newCell(), yaml: newCell() };
    const order = ['yaml', 'taskplane', 'cdk8s'] as const;
    const reps = opts.reps(configs * tasks);
    for (let rep = 0; rep < reps; rep++) {
      // Rotate the order each repetition: no case always runs right after the heaviest one.
      for (const impl of [...order.slice(rep % 3), ...order.slice(0, rep % 3)]) {
        const cell = cells[impl];
        if (cell.timedOut || cell.error || cell.samples.some((s) => s.totalMs > REPEAT_UNDER_MS)) continue;
        const { sample, timedOut, error, outdir } = await runCase(impl, configs, tasks, opts.timeoutMs);
        removeOut(outdir);
        if (sample) cell.samples.push(sample);
        if (timedOut) cell.timedOut = true;
        if (error) cell.error = error;
        opts.log(`  ${configs}×${tasks} ${impl.padEnd(9)} rep ${rep + 1}: ${sample ? `${sample.totalMs.toFixed(0)} ms, ${sample.maxRssMB.toFixed(0)} MB` : timedOut ? 'timed out' : error}`);
      }
    }
    for (const cell of Object.values(cells)) {
      if (cell.samples.length && !cell.timedOut) {
        cell.medianMs = median(cell.samples.map((s) => s.totalMs));
        cell.medianRssMB = median(cell.samples.map((s) => s.maxRssMB));
      }
    }
    const a = cells.taskplane.medianMs;
    rows.push({
      configs,
      tasks,
      taskObjects: configs * tasks,
      cells,
      aOverC: pairedRatio(cells.taskplane, cells.yaml),
      // A timed-out cdk8s case gives a bound: taskplane is at least this much faster.
      aOverB: cells.cdk8s.timedOut ? (a !== undefined ? a / opts.timeoutMs : undefined) : pairedRatio(cells.taskplane, cells.cdk8s),
      usPerTask: a !== undefined ? (a * 1000) / (configs * tasks) : undefined,
    });
  }
  return { timeoutMs: opts.timeoutMs, rows, equivalence, marginal: marginalCosts(rows) };
}

const newCell = (): Cell => ({ samples: [], timedOut: false });

/**
 * The median of the per-repetition ratios x_i / y_i. The cases of one repetition run back to back, so
 * their ratio cancels the machine's drift, which a ratio of two medians (taken at different moments)
 * does not.
 */
function pairedRatio(x: Cell, y: Cell): number | undefined {
  const n = Math.min(x.samples.length, y.samples.length);
  if (n === 0 || x.timedOut || y.timedOut || x.error || y.error) return undefined;
  return median(Array.from({ length: n }, (_, i) => x.samples[i]!.totalMs / y.samples[i]!.totalMs));
}

function marginalCosts(rows: readonly Row[]): Marginal[] {
  const out: Marginal[] = [];
  for (const small of rows) {
    for (const big of rows) {
      if (big.configs !== small.configs || big.tasks <= small.tasks) continue;
      const added = big.taskObjects - small.taskObjects;
      const per = (impl: 'taskplane' | 'yaml') => ((big.cells[impl].medianMs! - small.cells[impl].medianMs!) * 1000) / added;
      if ([big, small].every((r) => r.cells.taskplane.medianMs !== undefined && r.cells.yaml.medianMs !== undefined)) {
        out.push({ from: `${small.configs} × ${small.tasks}`, to: `${big.configs} × ${big.tasks}`, taskplaneUs: per('taskplane'), yamlUs: per('yaml') });
      }
    }
  }
  return out;
}

/** Synthesizes one small size every way and compares what was written. */
async function checkEquivalence(configs: number, tasks: number, timeoutMs: number): Promise<Equivalence> {
  const impls: Impl[] = ['taskplane', 'cdk8s', 'cdk8s-files', 'yaml'];
  const trees = new Map<Impl, Map<string, string>>();
  for (const impl of impls) {
    const { sample, outdir, error, timedOut } = await runCase(impl, configs, tasks, timeoutMs);
    if (!sample) throw new Error(`equivalence check: ${impl} failed: ${error ?? (timedOut ? 'timed out' : 'no result')}`);
    trees.set(impl, readTree(outdir!));
    removeOut(outdir);
  }
  // TaskplaneApp also writes the namespaces (00-setup/) and a Kustomization listing every file; the
  // plain cases write the jobs only, so the jobs are what is compared.
  const jobs = (tree: Map<string, string>) => new Map([...tree].filter(([path]) => path.startsWith(`${CHART}/`)));
  trees.set('taskplane', jobs(trees.get('taskplane')!));
  const documents = (tree: Map<string, string>) =>
    [...tree.values()].flatMap((text) => parseAllDocuments(text).map((d) => stableJson(d.toJS()))).sort();
  const reference = documents(trees.get('taskplane')!);
  const sameDocuments = Object.fromEntries(impls.slice(1).map((impl) => [impl, JSON.stringify(documents(trees.get(impl)!)) === JSON.stringify(reference)]));
  const a = trees.get('taskplane')!;
  const c = trees.get('yaml')!;
  const yamlFloorByteIdentical = a.size === c.size && [...a].every(([path, text]) => c.get(path) === text);
  return { configs, tasks, documents: reference.length, sameDocuments, yamlFloorByteIdentical };
}

function readTree(dir: string): Map<string, string> {
  const files = new Map<string, string>();
  const walk = (d: string) => {
    for (const entry of readdirSync(d, { withFileTypes: true })) {
      const path = join(d, entry.name);
      if (entry.isDirectory()) walk(path);
      else files.set(relative(dir, path), readFileSync(path, 'utf8'));
    }
  };
  walk(dir);
  return files;
}

/** JSON with keys sorted at every level: equal documents give equal strings whatever their key order. */
function stableJson(value: unknown): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value);
  if (Array.isArray(value)) return `[${value.map(stableJson).join(',')}]`;
  return `{${Object.keys(value).sort().map((k) => `${JSON.stringify(k)}:${stableJson((value as Record<string, unknown>)[k])}`).join(',')}}`;
}
