import type { ConcurrencySpec } from '../engine/schema/resources.js';

/** How runs of one JobConfig may overlap. It governs Deferred runs, which the watcher starts. */
export class Concurrency {
  /** Any number of runs at once. */
  public static allow(): Concurrency {
    return new Concurrency({ policy: 'Allow' });
  }

  /** At most `maxConcurrency` active runs; a run over the limit is rejected (AdmissionError). */
  public static forbid(maxConcurrency = 1): Concurrency {
    return new Concurrency({ policy: 'Forbid', maxConcurrency });
  }

  /** At most `maxConcurrency` active runs; a run over the limit waits its turn. */
  public static enqueue(maxConcurrency = 1): Concurrency {
    return new Concurrency({ policy: 'Enqueue', maxConcurrency });
  }

  private constructor(private readonly spec: ConcurrencySpec) {}

  /** @internal */
  public _toSpec(): ConcurrencySpec {
    return { ...this.spec };
  }
}
