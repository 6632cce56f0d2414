/**
 * Argo CD's own health code, for tests: `argocd-lua-health` (test/cluster/go/argocd, built by
 * `bash test/cluster/build` from the argo-cd module) reads the resource overrides from an argocd-cm
 * ConfigMap with Argo CD's SettingsManager and judges each object with gitops-engine's
 * GetResourceHealth and util/lua's VM (gopher-lua with the libraries Argo CD opens), as the
 * application controller does. One process per test file, one JSON line per object.
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { Chart } from 'cdk8s';
import { GitOpsHealthChecks, TaskplaneApp } from '../../constructs/index.js';
import { BUILD_COMMAND, cacheDir, versions } from '../cluster/harness.js';
import { tempOutdir } from '../_synth.js';

export type ArgoHealthStatus = 'Healthy' | 'Progressing' | 'Degraded' | 'Suspended' | 'Missing' | 'Unknown';

export interface ArgoHealth {
  readonly status: ArgoHealthStatus;
  readonly message: string;
}

export const argoCdLuaHealthBinary = (): string => path.join(cacheDir(), `argocd-${versions.argocd}`, 'bin', 'argocd-lua-health');

/** Throws (never skips) when the binary is missing: these tests exist to run the real thing. */
export function requireArgoCdVm(): void {
  if (!existsSync(argoCdLuaHealthBinary())) {
    throw new Error(`Argo CD's health code (argocd-lua-health, argo-cd ${versions.argocd}) is not built: ${argoCdLuaHealthBinary()} is missing. Build it from the repo root with: ${BUILD_COMMAND}`);
  }
}

/** The argocd-cm that `GitOpsHealthChecks` emits with `argoCd: {}`, as a user applies it. */
export function constructArgoCdConfigMap(): Record<string, unknown> {
  const app = new TaskplaneApp({ outdir: tempOutdir() });
  return new GitOpsHealthChecks(new Chart(app, 'gitops'), 'health', { argoCd: {} }).argoCdConfigMap!.toJson();
}

/** An argocd-cm holding one health script for the kind of `obj` (with the label Argo CD selects it by). */
export function argoCdConfigMapWith(script: string, obj: { apiVersion?: string; kind?: string }): Record<string, unknown> {
  if (!obj.apiVersion || !obj.kind) throw new Error('the object needs apiVersion and kind: Argo CD picks the health script by them');
  const group = obj.apiVersion.includes('/') ? obj.apiVersion.split('/')[0] : '';
  const key = group ? `${group}_${obj.kind}` : obj.kind;
  return { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'argocd-cm', labels: { 'app.kubernetes.io/part-of': 'argocd' } }, data: { [`resource.customizations.health.${key}`]: script } };
}

interface Answer {
  status?: ArgoHealthStatus;
  message?: string;
  error?: string;
}

let vm: { child: ChildProcessWithoutNullStreams; waiting: ((answer: Answer) => void)[]; stderr: string[] } | undefined;

function start(): NonNullable<typeof vm> {
  requireArgoCdVm();
  const child = spawn(argoCdLuaHealthBinary(), [], { stdio: ['pipe', 'pipe', 'pipe'] });
  const started = { child, waiting: [] as ((answer: Answer) => void)[], stderr: [] as string[] };
  createInterface({ input: child.stdout }).on('line', (line) => started.waiting.shift()?.(JSON.parse(line) as Answer));
  child.stderr.on('data', (chunk: Buffer) => started.stderr.push(chunk.toString('utf8')));
  child.on('exit', (code) => {
    for (const resolve of started.waiting.splice(0)) resolve({ error: `argocd-lua-health exited ${code}: ${started.stderr.join('').slice(-2000)}` });
    if (vm === started) vm = undefined;
  });
  // The tests' process must not wait for it: it ends when its stdin closes.
  child.unref();
  for (const stream of [child.stdin, child.stdout, child.stderr]) (stream as unknown as { unref(): void }).unref();
  return started;
}

/**
 * The health Argo CD's application controller gives `obj` under `configMap` (argocd-cm). A script
 * error, or no script for the kind, throws.
 */
export async function argoCdHealth(configMap: Record<string, unknown>, obj: unknown): Promise<ArgoHealth> {
  vm ??= start();
  const { child, waiting } = vm;
  const answer = await new Promise<Answer>((resolve) => {
    waiting.push(resolve);
    child.stdin.write(`${JSON.stringify({ configMap, object: obj })}\n`);
  });
  if (answer.error) throw new Error(`Argo CD's health check failed (the resource gets no health): ${answer.error}`);
  if (!answer.status) throw new Error('no health check applies to this kind in Argo CD');
  return { status: answer.status, message: answer.message ?? '' };
}

/** `argoCdHealth` with an argocd-cm holding only `script` for the object's kind. */
export const argoHealth = (script: string, obj: { apiVersion?: string; kind?: string }): Promise<ArgoHealth> => argoCdHealth(argoCdConfigMapWith(script, obj), obj);
