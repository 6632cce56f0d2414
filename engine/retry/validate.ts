/**
 * Synth-time checks of a template's retry rules and backoff: every rule compiles, reads only the
 * variables rules have, is a bool, can hold, and can do what it says; the backoff has a delay to
 * grow. @bufbuild/cel has no public type checker, so types are checked by evaluating each rule on
 * probe attempts, one per string literal it compares with: a type error on any path a probe takes
 * (`attempt > "3"`) is reported at synth instead of making the rule silently never hold.
 */
import { isCelError, parse, type CelError, type CelValue } from '@bufbuild/cel';
import { celSyntaxError, evaluateCelOrError } from '../executors/_cel.js';
import type { FieldError } from '../errors.js';
import { EXECUTOR_NAMES } from '../executors/index.js';
import type { ExecutorName } from '../executors/types.js';
import type { JobTemplate, RetryRuleSpec } from '../schema/template.js';
import { didYouMean, suggest } from '../suggest.js';
import { ATTEMPT_RESULTS, RULE_ENV, RULE_VARIABLE_NAMES, ruleBindings, ruleName, type AttemptObservation } from './rules.js';

export const DEFAULT_MAX_UNCOUNTED_RETRIES = 10;

type Expr = NonNullable<ReturnType<typeof parse>['expr']>;

/** Errors that mean the expression cannot work on any attempt, not that one attempt lacks a field. */
const TYPE_ERROR = /no matching overload|unbound function|unresolved attribute/;
/** Variables whose values are a closed set: a comparison with anything else can never hold. */
const CLOSED_VALUES: Readonly<Record<string, readonly string[]>> = { result: ATTEMPT_RESULTS, executor: EXECUTOR_NAMES };

/** Checks the rules once the schema accepted the template's retry fields (`schemaErrors` has none there). */
export function retryPolicyErrors(template: JobTemplate, field: string, schemaErrors: readonly FieldError[]): FieldError[] {
  const retryField = /^(retryRules|retryBackoff|retryDelaySeconds|maxAttempts|maxUncountedRetries)\b/;
  return schemaErrors.some((e) => e.field.startsWith(`${field}.`) && retryField.test(e.field.slice(field.length + 1))) ? [] : validateRetryPolicy(template, field);
}

export function validateRetryPolicy(template: JobTemplate, field: string): FieldError[] {
  const errors: FieldError[] = [];
  const rules = template.retryRules ?? [];
  const executor = EXECUTOR_NAMES.find((name) => template.taskTemplate[name] !== undefined);
  const names = new Map<string, number>();
  let alwaysHolds: string | undefined;
  rules.forEach((rule, position) => {
    const at = `${field}.retryRules[${position}]`;
    const name = ruleName(rule, position);
    const first = names.get(name);
    if (first !== undefined) errors.push({ field: `${at}.name`, message: `duplicate rule name, also used by retryRules[${first}]`, value: name, valid: 'a name unique among the rules' });
    else names.set(name, position);
    if (alwaysHolds) errors.push({ field: `${at}.when`, message: `can never decide: ${alwaysHolds} before it always holds`, value: rule.when, valid: 'rules before a catch-all rule' });
    const check = checkExpression(rule, executor, template);
    errors.push(...check.problems.map((problem) => ({ field: `${at}.when`, ...problem, value: rule.when })));
    if (check.constant === true) alwaysHolds = `${name} (${rule.when})`;
    errors.push(...actionErrors(rule, template, at));
  });
  errors.push(...backoffErrors(template, field));
  return errors;
}

function actionErrors(rule: RetryRuleSpec, template: JobTemplate, at: string): FieldError[] {
  if (rule.action === 'Retry' && (template.maxAttempts ?? 1) === 1) {
    return [{ field: `${at}.action`, message: 'can never retry: maxAttempts is 1', value: rule.action, valid: 'maxAttempts above 1, or FailIndex (what Retry does here), RetryNotCounted or FailRun' }];
  }
  if (rule.action === 'RetryNotCounted' && template.maxUncountedRetries === 0) {
    return [{ field: `${at}.action`, message: 'can never retry: maxUncountedRetries is 0', value: rule.action, valid: 'maxUncountedRetries above 0, or Retry' }];
  }
  return [];
}

function backoffErrors(template: JobTemplate, field: string): FieldError[] {
  const backoff = template.retryBackoff;
  if (!backoff) return [];
  const delay = template.retryDelaySeconds ?? 0;
  if (delay === 0) return [{ field: `${field}.retryBackoff`, message: 'has no delay to grow: retryDelaySeconds is 0', value: backoff, valid: 'retryDelaySeconds above 0 (the first retry\'s delay)' }];
  if (backoff.maxDelaySeconds !== undefined && backoff.maxDelaySeconds < delay) {
    return [{ field: `${field}.retryBackoff.maxDelaySeconds`, message: `is below retryDelaySeconds (${delay})`, value: backoff.maxDelaySeconds, valid: `at least ${delay}` }];
  }
  return [];
}

interface ExpressionCheck {
  readonly problems: readonly Omit<FieldError, 'field' | 'value'>[];
  /** The value of an expression that reads no variable. */
  readonly constant?: boolean;
}

/** Checks by expression and what they depend on: the watcher validates every run on every plan. */
const checked = new Map<string, ExpressionCheck>();
const CHECKED_LIMIT = 1000;

function checkExpression(rule: RetryRuleSpec, executor: ExecutorName | undefined, template: JobTemplate): ExpressionCheck {
  const key = JSON.stringify([rule.when, executor, template.taskTemplate.customResource?.resultExpression !== undefined]);
  let check = checked.get(key);
  if (!check) {
    check = checkUncached(rule, executor, template);
    // Oldest first out: a Map iterates in insertion order.
    if (checked.size >= CHECKED_LIMIT) checked.delete(checked.keys().next().value!);
    checked.set(key, check);
  }
  return check;
}

function checkUncached(rule: RetryRuleSpec, executor: ExecutorName | undefined, template: JobTemplate): ExpressionCheck {
  const syntax = celSyntaxError(rule.when);
  if (syntax) return { problems: [{ message: `CEL does not compile: ${syntax}` }] };
  const expr = parse(rule.when).expr!;
  const used = new Set<string>();
  const literals = new Set<string>();
  const problems: Omit<FieldError, 'field' | 'value'>[] = [];
  walk(expr, new Set(), { used, literals, problems });
  const unknown = [...used].filter((name) => !RULE_VARIABLE_NAMES.includes(name));
  for (const name of unknown) {
    problems.push({ message: `unknown variable "${name}"${suffix(didYouMean(suggest(name, RULE_VARIABLE_NAMES)))}`, valid: `one of ${RULE_VARIABLE_NAMES.join(', ')}` });
  }
  if (executor && executor !== 'pod' && (used.has('exitCodes') || used.has('containerExitCodes'))) {
    problems.push({ message: `exit codes are known for pod tasks only; a ${executor} task's are always empty`, valid: 'reason, message or taskResult' });
  }
  if (executor === 'customResource' && used.has('taskResult') && template.taskTemplate.customResource?.resultExpression === undefined) {
    problems.push({ message: 'reads taskResult, which is always null: the customResource has no resultExpression', valid: 'set resultExpression, or read reason and message' });
  }
  if (unknown.length || problems.length) return { problems };
  const values = probes(executor ?? 'pod', literals).map((probe) => evaluateCelOrError(rule.when, ruleBindings(probe), RULE_ENV));
  const typeError = values.filter(isCelError).find((error: CelError) => TYPE_ERROR.test(error.message));
  if (typeError) return { problems: [{ message: `CEL type error: ${typeError.message}` }] };
  const notBool = values.find((value): value is CelValue => !isCelError(value) && typeof value !== 'boolean');
  if (notBool !== undefined) return { problems: [{ message: `must be true or false, not ${describe(notBool)}`, valid: 'a condition, e.g. reason == "OOMKilled"' }] };
  if (used.size > 0) return { problems: [] };
  const constant = values[0] === true;
  return constant ? { problems: [], constant } : { problems: [{ message: 'never holds', valid: 'a condition on the attempt, e.g. 42 in exitCodes' }] };
}

interface WalkState {
  readonly used: Set<string>;
  readonly literals: Set<string>;
  readonly problems: Omit<FieldError, 'field' | 'value'>[];
}

/** Collects free variables and string literals; reports comparisons of a closed variable with a value it never has. */
function walk(expr: Expr | undefined, bound: ReadonlySet<string>, state: WalkState): void {
  const kind = expr?.exprKind;
  switch (kind?.case) {
    case 'identExpr':
      if (!bound.has(kind.value.name)) state.used.add(kind.value.name);
      return;
    case 'constExpr':
      if (kind.value.constantKind.case === 'stringValue') state.literals.add(kind.value.constantKind.value);
      return;
    case 'selectExpr':
      return walk(kind.value.operand, bound, state);
    case 'listExpr':
      return kind.value.elements.forEach((element) => walk(element, bound, state));
    case 'structExpr':
      return kind.value.entries.forEach((entry) => {
        if (entry.keyKind.case === 'mapKey') walk(entry.keyKind.value, bound, state);
        walk(entry.value, bound, state);
      });
    case 'callExpr':
      checkComparison(kind.value.function, kind.value.args, bound, state);
      walk(kind.value.target, bound, state);
      return kind.value.args.forEach((arg) => walk(arg, bound, state));
    case 'comprehensionExpr': {
      const c = kind.value;
      walk(c.iterRange, bound, state);
      walk(c.accuInit, bound, state);
      const inner = new Set([...bound, c.iterVar, c.iterVar2, c.accuVar].filter(Boolean));
      for (const part of [c.loopCondition, c.loopStep, c.result]) walk(part, inner, state);
      return;
    }
    default:
      return;
  }
}

function checkComparison(fn: string, args: readonly Expr[], bound: ReadonlySet<string>, state: WalkState): void {
  const variable = (e: Expr | undefined) => (e?.exprKind.case === 'identExpr' && !bound.has(e.exprKind.value.name) ? e.exprKind.value.name : undefined);
  const strings = (e: Expr | undefined): string[] => {
    if (e?.exprKind.case === 'constExpr' && e.exprKind.value.constantKind.case === 'stringValue') return [e.exprKind.value.constantKind.value];
    if (e?.exprKind.case === 'listExpr') return e.exprKind.value.elements.flatMap(strings);
    return [];
  };
  const [left, right] = args;
  const pairs: [string | undefined, string[]][] =
    fn === '@in' ? [[variable(left), strings(right)]] : fn === '_==_' || fn === '_!=_' ? [[variable(left), strings(right)], [variable(right), strings(left)]] : [];
  for (const [name, values] of pairs) {
    const closed = name ? CLOSED_VALUES[name] : undefined;
    for (const value of values.filter((v) => closed && !closed.includes(v))) {
      state.problems.push({ message: `${name} is never ${JSON.stringify(value)}`, valid: `one of ${closed!.join(', ')}` });
    }
  }
}

/**
 * Attempts to evaluate on: a failed Pod with exit codes and a result object, then one per string
 * literal as its result, reason, message and executor, so that comparisons hold and what follows
 * them is evaluated too.
 */
function probes(executor: ExecutorName, literals: ReadonlySet<string>): AttemptObservation[] {
  const base: AttemptObservation = { result: 'Failed', reason: 'Error', message: 'failed', exitCodes: { main: 1 }, durationSeconds: 1, attempt: 1, executor, taskResult: {} };
  const asResult = (text: string) => (ATTEMPT_RESULTS as readonly string[]).includes(text) ? (text as AttemptObservation['result']) : base.result;
  return [
    base,
    { ...base, result: 'Killed', exitCodes: {}, taskResult: undefined, attempt: 2 },
    ...[...literals].map((text) => ({ ...base, result: asResult(text), reason: text, message: text, executor: text as ExecutorName })),
  ];
}

function suffix(text: string | undefined): string {
  return text ? ` (${text})` : '';
}

function describe(value: CelValue): string {
  if (typeof value === 'bigint') return `an int (${value})`;
  if (typeof value === 'string') return `a string (${JSON.stringify(value)})`;
  if (typeof value === 'number') return `a double (${value})`;
  return 'a value of another type';
}
