/**
 * CEL as taskplane uses it (`customResource` over the live object, `http` over the response, retry
 * rules over a finished attempt): expressions are checked at synth and compiled once per environment,
 * since the watcher evaluates them on every event.
 */
import { celEnv, isCelError, isCelList, isCelMap, isCelUint, parse, plan, type CelEnv, type CelError, type CelInput, type CelValue } from '@bufbuild/cel';

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
/** By environment: the same text compiles differently where variables are declared with types. */
const programs = new WeakMap<CelEnv, Map<string, Program>>();

/** The expression's value or its evaluation error (a missing field, no overload for the types); throws on a syntax error. */
export function evaluateCelOrError(expression: string, bindings: Record<string, unknown>, env: CelEnv = ENV): CelValue | CelError {
  let compiled = programs.get(env);
  if (!compiled) programs.set(env, (compiled = new Map()));
  let program = compiled.get(expression);
  if (!program) {
    program = plan(env, parse(expression)) as Program;
    compiled.set(expression, program);
  }
  return program(bindings as Record<string, CelInput>);
}

/** The expression's value over `bindings`, or undefined when it does not evaluate (a missing field, a type error). */
export function evaluateCel(expression: string, bindings: Record<string, unknown>, env: CelEnv = ENV): CelValue | undefined {
  try {
    const value = evaluateCelOrError(expression, bindings, env);
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
