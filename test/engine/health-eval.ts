/**
 * Runs the GitOps health checks the way Argo CD and Flux do, for tests:
 * - `argoHealth`: the Lua script in a real Lua 5.1 interpreter (`lua5.1`), with the global `obj` set
 *   to the object and only the libraries Argo CD opens (base, table, package; no string, math, io).
 * - `fluxHealth`: a healthCheckExprs entry with @bufbuild/cel, in kustomize-controller's order.
 * - `kstatusHealth`: kstatus' generic rules (what Flux uses for a kind with no entry).
 */
import { spawnSync } from 'node:child_process';
import { celError, celEnv, isCelError, parse, plan } from '@bufbuild/cel';
import type { FluxHealthCheckExpr } from '../../engine/health/index.js';

export const LUA = 'lua5.1';
export const LUA_INSTALL = 'apt-get update && apt-get install -y lua5.1';

/** Throws (never skips) when the interpreter is missing: these tests exist to run the real thing. */
export function requireLua(): void {
  const probe = spawnSync(LUA, ['-v'], { encoding: 'utf8' });
  if (probe.error || probe.status !== 0) {
    throw new Error(`${LUA} (Lua 5.1, the language Argo CD's gopher-lua implements) is required by the health-check tests and was not found. Install it: ${LUA_INSTALL}`);
  }
}

// ---- Argo CD (Lua) ----

export type ArgoHealthStatus = 'Healthy' | 'Progressing' | 'Degraded' | 'Suspended' | 'Missing' | 'Unknown';

export interface ArgoHealth {
  readonly status: ArgoHealthStatus;
  readonly message: string;
}

/** A JSON value as a Lua 5.1 table constructor, the shape Argo CD's decoder builds (arrays 1-based, null = nil). */
export function luaLiteral(value: unknown): string {
  if (value === null || value === undefined) return 'nil';
  if (typeof value === 'boolean') return String(value);
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) throw new Error(`not a JSON number: ${value}`);
    return String(value);
  }
  if (typeof value === 'string') return luaString(value);
  if (Array.isArray(value)) return `{${value.map(luaLiteral).join(', ')}}`;
  if (typeof value === 'object') {
    return `{${Object.entries(value as Record<string, unknown>).map(([key, item]) => `[${luaString(key)}] = ${luaLiteral(item)}`).join(', ')}}`;
  }
  throw new Error(`not JSON: ${typeof value}`);
}

/** A Lua 5.1 string literal: quotes, backslashes and control characters escaped as `\ddd` (decimal). */
export function luaString(text: string): string {
  let out = '"';
  for (const ch of text) {
    const code = ch.codePointAt(0)!;
    if (ch === '"' || ch === '\\') out += `\\${ch}`;
    else if (code < 0x20 || code === 0x7f) out += `\\${String(code).padStart(3, '0')}`;
    else out += ch;
  }
  return `${out}"`;
}

const LONG_OPEN = '[======[';
const LONG_CLOSE = ']======]';

/** The whole Lua program: sandbox like Argo CD's VM, set `obj`, run the script as a chunk, print the result. */
export function luaProgram(script: string, obj: unknown): string {
  if (script.includes(LONG_CLOSE)) throw new Error(`the script contains ${LONG_CLOSE}`);
  return [
    'local write, pcall, loadstring, type, tostring, setmetatable = io.write, pcall, loadstring, type, tostring, debug.setmetatable',
    // Argo CD opens base, table, package and a reduced os; strings get no methods without the string library.
    'setmetatable("", nil)',
    'string, math, io, debug, coroutine, os = nil, nil, nil, nil, nil, nil',
    `obj = ${luaLiteral(obj)}`,
    `local chunk, compileError = loadstring(${LONG_OPEN}${script}${LONG_CLOSE}, "health.lua")`,
    'if chunk == nil then write("ERROR\\n", tostring(compileError)) return end',
    'local ok, hs = pcall(chunk)',
    'if not ok then write("ERROR\\n", tostring(hs)) return end',
    'write("OK\\n", type(hs), "\\n")',
    'if type(hs) == "table" then write(type(hs.status), "\\n", tostring(hs.status), "\\n", type(hs.message), "\\n", tostring(hs.message)) end',
  ].join('\n');
}

/** Runs an Argo CD health script on an object; a Lua error or a malformed result throws. */
export function argoHealth(script: string, obj: unknown): ArgoHealth {
  const result = spawnSync(LUA, ['-'], { input: luaProgram(script, obj), encoding: 'utf8' });
  if (result.error) throw result.error;
  if (result.status !== 0) throw new Error(`${LUA} exited ${result.status}: ${result.stderr}`);
  const [head, ...lines] = result.stdout.split('\n');
  if (head === 'ERROR') throw new Error(`Lua error (Argo CD would report Unknown): ${lines.join('\n')}`);
  const [hsType, statusType, status, messageType, ...message] = lines;
  if (hsType !== 'table' || statusType !== 'string' || messageType !== 'string') {
    throw new Error(`the script must return {status = <string>, message = <string>}; got ${hsType} {status: ${statusType}, message: ${messageType}}`);
  }
  if (!['Healthy', 'Progressing', 'Degraded', 'Suspended', 'Missing', 'Unknown'].includes(status!)) throw new Error(`not an Argo CD health status: ${status}`);
  return { status: status as ArgoHealthStatus, message: message.join('\n') };
}

// ---- Flux (CEL) ----

export type KStatus = 'Current' | 'InProgress' | 'Failed' | 'Terminating' | 'Unknown';

const ENV = celEnv();
const FLUX_VARIABLES = ['apiVersion', 'kind', 'metadata', 'spec', 'status'];

/**
 * Evaluates one expression with the object's top-level fields as variables, as Flux does. A
 * variable the object lacks is unresolvable in cel-go even inside `has()` ("no such attribute(s)");
 * @bufbuild/cel would answer `has()` with false instead, so missing variables are bound to that error.
 */
export function evaluateCel(expression: string, obj: Record<string, unknown>): unknown {
  const bindings: Record<string, unknown> = { ...obj };
  for (const name of FLUX_VARIABLES) if (!(name in obj)) bindings[name] = celError(`no such attribute(s): ${name}`);
  return plan(ENV, parse(expression))(bindings as never);
}

/** kustomize-controller's CEL status reader (fluxcd/pkg runtime/cel StatusEvaluator + generic reader). */
export function fluxHealth(entry: FluxHealthCheckExpr, obj: Record<string, any>): KStatus {
  const observed = obj.status?.observedGeneration;
  const generation = obj.metadata?.generation;
  if (Number.isInteger(observed) && Number.isInteger(generation) && observed !== generation) return 'InProgress';
  const order: [string | undefined, KStatus][] = [[entry.inProgress, 'InProgress'], [entry.failed, 'Failed'], [entry.current, 'Current']];
  for (const [expression, result] of order) {
    if (!expression) continue;
    const value = evaluateCel(expression, obj);
    // An evaluation error or a non-boolean makes the reader fail; the poller reports Unknown.
    if (isCelError(value as never) || typeof value !== 'boolean') return 'Unknown';
    if (value) return result;
  }
  return 'InProgress';
}

/** kstatus `status.Compute` for a custom resource (reference/gitops.md §3). */
export function kstatusHealth(obj: Record<string, any>): KStatus {
  if (obj.metadata?.deletionTimestamp) return 'Terminating';
  const observed = obj.status?.observedGeneration;
  if (observed !== undefined && observed !== obj.metadata?.generation) return 'InProgress';
  const conditions: { type: string; status: string }[] = obj.status?.conditions ?? [];
  const condition = (type: string) => conditions.find((c) => c.type === type);
  if (condition('Reconciling')?.status === 'True') return 'InProgress';
  if (condition('Stalled')?.status === 'True') return 'Failed';
  const ready = condition('Ready');
  if (ready) return ready.status === 'True' ? 'Current' : 'InProgress';
  return 'Current';
}

/** Argo CD's health → the kstatus word a Flux user reads, to compare the two engines. */
export const ARGO_TO_FLUX: Record<ArgoHealthStatus, KStatus> = {
  Healthy: 'Current',
  Progressing: 'InProgress',
  Degraded: 'Failed',
  Suspended: 'InProgress',
  Missing: 'Unknown',
  Unknown: 'Unknown',
};
