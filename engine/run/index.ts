export { concurrencyContext, isActiveRun, isWaitingRun } from './concurrency.js';
export { planRun } from './plan.js';
export { TERMINAL_PHASES } from './phase.js';
export type * from './types.js';
export { withReconcileError, RECONCILE_ERROR } from './kstatus.js';
