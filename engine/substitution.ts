/**
 * `${...}` substitution over a whole manifest.
 *
 * Object-level: only string values change, never keys, and a value is placed inside the string leaf
 * it replaces, so no value can change a manifest's structure. Single pass: substituted text is never
 * scanned again. `$${` renders a literal `${`. Names in taskplane's namespaces must exist; any other
 * `${...}` (a shell's `${HOME}`) and Kubernetes' `$(VAR)` pass through untouched. The innermost
 * `${...}` is the variable (`${OUT_DIR:-${option.dir}}` substitutes `option.dir`).
 */
import { childField, type FieldError } from './errors.js';
import { suggest } from './suggest.js';

export const VARIABLE_NAMESPACES = ['option', 'job', 'jobconfig', 'task'] as const;

export function isReservedVariable(name: string): boolean {
  return VARIABLE_NAMESPACES.some((ns) => name.startsWith(`${ns}.`));
}

export interface VariableScope {
  /** Every variable that can be substituted, by full name (`option.env`, `task.name`, user names). */
  readonly values: Readonly<Record<string, string>>;
  /** Reserved names that exist but not here, with the reason (e.g. `job.uid` at synth time). */
  readonly unavailable?: Readonly<Record<string, string>>;
}

export interface SubstitutionResult<T> {
  readonly value: T;
  readonly errors: FieldError[];
}

/** Substitutes every string value inside `value` (a JSON-like tree); `field` names its location. */
export function substitute<T>(value: T, scope: VariableScope, field: string): SubstitutionResult<T> {
  const errors: FieldError[] = [];
  const result = walk(value, scope, field, errors) as T;
  return { value: result, errors };
}

function walk(value: unknown, scope: VariableScope, field: string, errors: FieldError[]): unknown {
  if (typeof value === 'string') return substituteString(value, scope, field, errors);
  if (Array.isArray(value)) return value.map((item, i) => walk(item, scope, `${field}[${i}]`, errors));
  if (value !== null && typeof value === 'object') {
    // fromEntries defines own properties: assigning `out['__proto__']` would drop the key instead.
    return Object.fromEntries(Object.entries(value).map(([key, child]) => [key, walk(child, scope, childField(field, key), errors)]));
  }
  return value;
}

/**
 * Substitutes the variables of one string; exported for fields outside manifests (e.g. names).
 *
 * A variable is the innermost `${...}`: in `${OUT_DIR:-${option.dir}}` (a shell default) or
 * `${${option.x}}` the inner variable is substituted and the outer braces stay text, as Furiko's
 * replace-all does. A taskplane name is never left behind silently: an unclosed `${option.x` or
 * one written with spaces (`${ option.x }`) is an error.
 */
export function substituteString(text: string, scope: VariableScope, field: string, errors: FieldError[]): string {
  if (!text.includes('$')) return text;
  let out = '';
  let from = 0;
  for (let at = text.indexOf('$'); at !== -1; at = text.indexOf('$', from)) {
    if (text.startsWith('$${', at)) {
      out += `${text.slice(from, at)}\${`;
      from = at + 3;
      continue;
    }
    if (!text.startsWith('${', at)) {
      out += text.slice(from, at + 1);
      from = at + 1;
      continue;
    }
    const close = text.indexOf('}', at + 2);
    const inner = text.indexOf('${', at + 2);
    if (close === -1 || (inner !== -1 && inner < close)) {
      // Not a variable itself (unclosed, or braces around an inner one): its `${` is text.
      const head = text.slice(at + 2, inner === -1 ? undefined : inner);
      if (isReservedVariable(head.trimStart())) errors.push(unclosedVariable(text.slice(at, inner === -1 ? undefined : inner), field));
      out += text.slice(from, at + 2);
      from = at + 2;
      continue;
    }
    const name = text.slice(at + 2, close);
    const known = Object.hasOwn(scope.values, name);
    if (!known && isReservedVariable(name)) errors.push(unknownVariable(name, scope, field));
    else if (!known && name.trim() !== name && isReservedVariable(name.trim())) errors.push(spacedVariable(name, field));
    out += text.slice(from, at) + (known ? scope.values[name] : text.slice(at, close + 1));
    from = close + 1;
  }
  return out + text.slice(from);
}

function unclosedVariable(rest: string, field: string): FieldError {
  return { field, message: 'a taskplane variable is not closed with "}"', value: rest.length > 40 ? `${rest.slice(0, 37)}...` : rest, valid: '${option.<name>}, or $${ for a literal ${' };
}

function spacedVariable(name: string, field: string): FieldError {
  return { field, message: 'a taskplane variable cannot have spaces inside its braces', value: `\${${name}}`, valid: `\${${name.trim()}}` };
}

function unknownVariable(name: string, scope: VariableScope, field: string): FieldError {
  const reason = scope.unavailable?.[name];
  if (reason) return { field, message: `\${${name}} is not available here: ${reason}`, value: `\${${name}}` };
  const namespace = name.slice(0, name.indexOf('.') + 1);
  const candidates = Object.keys(scope.values).filter((n) => n.startsWith(namespace));
  const close = suggest(name, candidates);
  return {
    field,
    message: `unknown variable \${${name}}`,
    value: `\${${name}}`,
    valid: close.length ? `did you mean ${close.map((n) => `\${${n}}`).join(', ')}?` : candidates.length ? `one of ${candidates.map((n) => `\${${n}}`).join(', ')}` : `no ${namespace}* variables are defined`,
  };
}
