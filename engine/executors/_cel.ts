/**
 * CEL as the executors use it (`customResource` over the live object, `http` over the response):
 * expressions are checked at synth and compiled once, since the watcher evaluates them on every event.
 */
import { celEnv, isCelError, isCelList, isCelMap, isCelUint, parse, plan, type CelError, type CelInput, type CelValue } from '@bufbuild/cel';

/** Syntax check of a CEL expression; undefined when it parses. */
export function celSyntaxError(expression: string): string | undefined {
  try {
    parse(expression);
    return undefined;
  } catch (error) {
    return error instanceof Error ? error.message : String(error);
  }
}

const ENV = celEnv();
type Program = (bindings: Record<string, CelInput>) => CelValue | CelError;
const programs = new Map<string, Program>();

/** The expression's value over `bindings`, or undefined when it does not evaluate (a missing field, a type error). */
export function evaluateCel(expression: string, bindings: Record<string, unknown>): CelValue | undefined {
  try {
    let program = programs.get(expression);
    if (!program) {
      program = plan(ENV, parse(expression)) as Program;
      programs.set(expression, program);
    }
    const value = program(bindings as Record<string, CelInput>);
    return isCelError(value) ? undefined : value;
  } catch {
    return undefined;
  }
}

/**
 * A CEL value as plain JSON. Timestamps, durations, bytes and types have no JSON form here
 * (undefined): wrap them in `string()` in the expression.
 */
export function celToJson(value: CelValue | undefined): unknown {
  if (isCelMap(value)) return Object.fromEntries([...value].map(([key, item]) => [String(isCelUint(key) ? key.value : key), celToJson(item)]));
  if (isCelList(value)) return [...value].map(celToJson);
  if (isCelUint(value)) return Number(value.value);
  if (typeof value === 'bigint') return Number(value);
  return value === null || ['string', 'number', 'boolean'].includes(typeof value) ? value : undefined;
}
