import type { CompletionStrategy as CompletionStrategyName, ParallelismSpec } from '../engine/schema/template.js';

/** When a parallel run is complete. */
export enum CompletionStrategy {
  /** Succeeds when every index succeeded; fails (killing the rest) at the first index out of attempts. */
  ALL_SUCCESSFUL = 'AllSuccessful',
  /** Succeeds (killing the rest) at the first index that succeeds; fails when all indexes failed. */
  ANY_SUCCESSFUL = 'AnySuccessful',
}

export interface ParallelismOptions {
  /** @default CompletionStrategy.ALL_SUCCESSFUL - a run is done when all of its work is done */
  readonly completionStrategy?: CompletionStrategy;
}

/**
 * How many tasks a run starts side by side, each with its own task index (`${task.index_num}`,
 * `${task.index_key}`, `${task.index_matrix.<key>}`).
 */
export class Parallelism {
  /** Tasks 0..count-1. */
  public static withCount(count: number, options: ParallelismOptions = {}): Parallelism {
    return new Parallelism({ withCount: count }, options);
  }

  /** One task per key, in this order. */
  public static withKeys(keys: readonly string[], options: ParallelismOptions = {}): Parallelism {
    return new Parallelism({ withKeys: [...keys] }, options);
  }

  /** One task per combination: keys sorted, the last key varying fastest (Furiko's order). */
  public static withMatrix(matrix: Readonly<Record<string, readonly string[]>>, options: ParallelismOptions = {}): Parallelism {
    const withMatrix = Object.fromEntries(Object.entries(matrix).map(([key, values]) => [key, [...values]]));
    return new Parallelism({ withMatrix }, options);
  }

  private constructor(
    private readonly spec: ParallelismSpec,
    private readonly options: ParallelismOptions,
  ) {}

  /** @internal */
  public _toSpec(): ParallelismSpec {
    const completionStrategy = this.options.completionStrategy as CompletionStrategyName | undefined;
    return { ...this.spec, ...(completionStrategy && { completionStrategy }) };
  }
}
