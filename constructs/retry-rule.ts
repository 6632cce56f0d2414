import type { FieldError } from '../engine/errors.js';
import type { RetryAction, RetryRuleSpec } from '../engine/schema/template.js';

/**
 * Pod `status.reason`s and DisruptionTarget reasons of a Pod the cluster stopped: kubelet eviction
 * (node pressure), API eviction (a drain), scheduler preemption, a NoExecute taint, graceful node
 * shutdown, and garbage collection after its node was lost.
 */
const EVICTION_REASONS = [
  'Evicted',
  'Preempting',
  'Terminated',
  'EvictionByEvictionAPI',
  'PreemptionByScheduler',
  'DeletionByTaintManager',
  'DeletionByPodGC',
  'TerminationByKubelet',
] as const;

export interface ExitCodeOptions {
  /**
   * Look only at this container's (or init container's) exit code.
   * @default - any container
   */
  readonly container?: string;
  /**
   * Hold when an exit code is *not* one of the values (Kubernetes' `NotIn`).
   * @default false - hold when an exit code is one of them (`In`)
   */
  readonly notIn?: boolean;
}

/**
 * When a retry rule holds, over the finished attempt that did not succeed. Pick what it does with
 * `.retry()`, `.retryNotCounted()`, `.failIndex()` or `.failRun()`.
 */
export class RetryCondition {
  /** @internal */
  public constructor(
    private readonly expression: string,
    private readonly name: string | undefined,
    private readonly problems: readonly FieldError[] = [],
  ) {}

  /** Names the rule (status and events name the rule that decided). */
  public named(name: string): RetryCondition {
    return new RetryCondition(this.expression, name, this.problems);
  }

  /** Retry, counting the attempt against `maxAttempts` (what happens when no rule holds). */
  public retry(): RetryRule {
    return this.then('Retry');
  }

  /**
   * Retry without counting the attempt against `maxAttempts` (an eviction, a lost node): at most
   * `maxUncountedRetries` times per index, after which such an attempt counts.
   */
  public retryNotCounted(): RetryRule {
    return this.then('RetryNotCounted');
  }

  /** No more attempts for this index: it fails (the run then fails or goes on as its completion strategy says). */
  public failIndex(): RetryRule {
    return this.then('FailIndex');
  }

  /** The run fails now, whatever its completion strategy, and its other tasks are stopped. */
  public failRun(): RetryRule {
    return this.then('FailRun');
  }

  private then(action: RetryAction): RetryRule {
    return new RetryRule({ ...(this.name && { name: this.name }), when: this.expression, action }, this.problems);
  }
}

/**
 * What to do after an attempt that did not succeed, decided by the first rule that holds; without
 * rules (or when none holds) the index is retried while it has attempts left. Rules are CEL over the
 * attempt, compiled and checked at synth: `result` (Failed, Killed, Unknown), `reason`, `message`,
 * `exitCodes`, `containerExitCodes`, `durationSeconds`, `attempt` (1-based), `executor`,
 * `taskResult` (docs/synth.md, "Retry rules").
 *
 * ```ts
 * retryRules: [
 *   RetryRule.onEviction().retryNotCounted(),
 *   RetryRule.onExitCodes([42]).failIndex(),
 *   RetryRule.when('taskResult.retryable == false').named('not-retryable').failRun(),
 * ]
 * ```
 */
export class RetryRule {
  /**
   * A container exited with one of `codes` (Kubernetes' podFailurePolicy `onExitCodes`: exit code 0
   * is never looked at). Pod tasks only: other executors report no exit codes.
   */
  public static onExitCodes(codes: readonly number[], options: ExitCodeOptions = {}): RetryCondition {
    const problems: FieldError[] = [];
    if (codes.length === 0) problems.push({ field: 'when', message: 'onExitCodes needs at least one exit code', value: [], valid: 'e.g. [42]' });
    for (const code of codes) {
      if (!Number.isInteger(code) || code < 0 || code > 255) problems.push({ field: 'when', message: 'exit codes are integers from 0 to 255', value: code });
      else if (code === 0 && !options.notIn) problems.push({ field: 'when', message: 'exit code 0 is a success and is never looked at', value: code, valid: 'codes from 1 to 255' });
    }
    const values = `[${codes.join(', ')}]`;
    const test = (code: string) => (options.notIn ? `${code} != 0 && !(${code} in ${values})` : `${code} in ${values}`);
    const container = options.container;
    const expression = container === undefined
      ? `exitCodes.exists(code, ${test('code')})`
      : `${JSON.stringify(container)} in containerExitCodes && ${test(`containerExitCodes[${JSON.stringify(container)}]`)}`;
    const name = `exit-codes${options.notIn ? '-not' : ''}-${codes.join('-')}${container ? `-${container}` : ''}`.slice(0, 63);
    return new RetryCondition(expression, name, problems);
  }

  /** A container ran out of memory. */
  public static onOOMKilled(): RetryCondition {
    return new RetryCondition('reason == "OOMKilled"', 'oom-killed');
  }

  /**
   * The cluster stopped the Pod, not its program: eviction (node pressure or a drain), preemption, a
   * NoExecute taint, graceful node shutdown, or its node was lost. Usually `.retryNotCounted()`.
   */
  public static onEviction(): RetryCondition {
    return new RetryCondition(`result == "Killed" && reason in [${EVICTION_REASONS.map((r) => JSON.stringify(r)).join(', ')}]`, 'eviction');
  }

  /** taskplane stopped the attempt for running past `taskTimeout` or not starting within `pendingTimeout`. */
  public static onTimeout(): RetryCondition {
    return new RetryCondition('reason in ["TaskTimeout", "PendingTimeout"]', 'timeout');
  }

  /**
   * Any CEL condition over the attempt, e.g. `executor == "workflow" && reason == "Error"` (Argo's
   * OnError), `taskResult.retryable == false`, `attempt >= 3 && durationSeconds < 10`.
   */
  public static when(expression: string): RetryCondition {
    return new RetryCondition(expression, undefined);
  }

  /** @internal */
  public constructor(
    private readonly spec: RetryRuleSpec,
    /** Problems found building the rule, fields relative to the rule. @internal */
    public readonly _problems: readonly FieldError[] = [],
  ) {}

  /** The same rule under another name (status and events name the rule that decided). */
  public named(name: string): RetryRule {
    return new RetryRule({ ...this.spec, name }, this._problems);
  }

  /** @internal */
  public _toSpec(): RetryRuleSpec {
    return { ...this.spec };
  }
}
