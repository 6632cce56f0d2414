/**
 * Retry rules: CEL over a finished attempt that did not succeed. The rules are checked in order and
 * the first that holds decides (Retry, RetryNotCounted, FailIndex, FailRun); none holds: Retry, as
 * without rules. A rule whose expression does not evaluate on an attempt (a missing field of
 * taskResult, an exit code of a container that did not run) does not hold.
 */
import { CelScalar, celEnv, listType, mapType, type CelEnv, type CelInput } from '@bufbuild/cel';
import { evaluateCel } from '../executors/_cel.js';
import type { ExecutorName } from '../executors/types.js';
import type { RetryRuleSpec } from '../schema/template.js';

/** What `result` can be in a rule: a success ends its index and is never judged. */
export const ATTEMPT_RESULTS = ['Failed', 'Killed', 'Unknown'] as const;
export type AttemptResult = (typeof ATTEMPT_RESULTS)[number];

/** The variables a rule may read, with their CEL types. */
const RULE_VARIABLES = {
  /** Failed (the task said so), Killed (stopped: a timeout, an eviction, a kill), Unknown (its object vanished). */
  result: CelScalar.STRING,
  /** The executor's short cause: OOMKilled, Evicted, DeadlineExceeded, BackoffLimitExceeded, TaskTimeout, Error... */
  reason: CelScalar.STRING,
  message: CelScalar.STRING,
  /** Exit codes of the containers that terminated, init containers first (Pods only). */
  exitCodes: listType(CelScalar.INT),
  /** Exit code by container name (Pods only). */
  containerExitCodes: mapType(CelScalar.STRING, CelScalar.INT),
  /** Running time; 0 for an attempt that never ran. */
  durationSeconds: CelScalar.DOUBLE,
  /** 1 for the first attempt of the index. */
  attempt: CelScalar.INT,
  /** pod, job, workflow or customResource. */
  executor: CelScalar.STRING,
  /** The executor's result payload (termination message, Workflow outputs, resultExpression); null without one. */
  taskResult: CelScalar.DYN,
} as const;

export const RULE_VARIABLE_NAMES: readonly string[] = Object.keys(RULE_VARIABLES);

export const RULE_ENV: CelEnv = celEnv({ variables: RULE_VARIABLES });

/** A finished attempt as the rules see it. */
export interface AttemptObservation {
  readonly result: AttemptResult;
  readonly reason?: string;
  readonly message?: string;
  readonly exitCodes?: Readonly<Record<string, number>>;
  readonly durationSeconds: number;
  /** 1-based. */
  readonly attempt: number;
  readonly executor: ExecutorName;
  readonly taskResult?: unknown;
}

export function ruleBindings(observation: AttemptObservation): Record<string, CelInput> {
  const codes = Object.entries(observation.exitCodes ?? {});
  return {
    result: observation.result,
    reason: observation.reason ?? '',
    message: observation.message ?? '',
    exitCodes: codes.map(([, code]) => BigInt(code)),
    containerExitCodes: new Map(codes.map(([name, code]) => [name, BigInt(code)])),
    durationSeconds: observation.durationSeconds,
    attempt: BigInt(observation.attempt),
    executor: observation.executor,
    taskResult: (observation.taskResult ?? null) as CelInput,
  };
}

/** How status and events name a rule. */
export function ruleName(rule: RetryRuleSpec, position: number): string {
  return rule.name ?? `retryRules[${position}]`;
}

export interface MatchedRule {
  readonly rule: RetryRuleSpec;
  readonly name: string;
}

/** The first rule that holds for the attempt. */
export function firstMatchingRule(rules: readonly RetryRuleSpec[], observation: AttemptObservation): MatchedRule | undefined {
  const bindings = ruleBindings(observation);
  const position = rules.findIndex((rule) => evaluateCel(rule.when, bindings, RULE_ENV) === true);
  return position < 0 ? undefined : { rule: rules[position]!, name: ruleName(rules[position]!, position) };
}
