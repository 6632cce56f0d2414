/** What a failed reconcile means for its run (watcher/failures.ts): final refusals vs retried failures. */
import { describe, expect, it } from 'vitest';
import { classifyFailure, createRejection } from '../../watcher/failures.js';
import { ApiError } from '../../watcher/kube/client.js';
import { TaskCacheUnavailable } from '../../watcher/task-caches.js';

const kind = { apiVersion: 'v1', kind: 'Binding' };

describe('classifyFailure', () => {
  it('a kind with no list or watch (405) can never be cached: the run is refused', () => {
    expect(classifyFailure(new TaskCacheUnavailable(kind, 405, 'cannot list and watch Binding (v1) objects'))).toEqual({
      rejection: { reason: 'TaskKindNotWatchable', message: 'cannot list and watch Binding (v1) objects' },
    });
  });

  it('a kind not served yet (404), not permitted yet (403) or not answered is retried with a visible reason', () => {
    for (const status of [0, 403, 404]) {
      expect(classifyFailure(new TaskCacheUnavailable(kind, status, 'x'))).toEqual({ transient: { reason: 'TaskCacheUnavailable', message: 'x; retrying' } });
    }
    expect(classifyFailure(new ApiError(503, 'ServiceUnavailable', 'down'))).toMatchObject({ transient: { reason: 'ApiError' } });
    expect(classifyFailure(new Error('boom'))).toMatchObject({ transient: { reason: 'ReconcileError' } });
  });
});

describe('createRejection', () => {
  it('refuses for good on 400, 403 Forbidden, 413 and 422, and not on a 403 that passes (a namespace being terminated) or a 409', () => {
    expect(createRejection(new ApiError(422, 'Invalid', 'Pod p: bad'), 'Pod', 'p')).toMatchObject({ reason: 'TaskRejected' });
    expect(createRejection(new ApiError(403, 'Forbidden', 'Pod p: violates PodSecurity'), 'Pod', 'p')).toMatchObject({ reason: 'TaskForbidden' });
    expect(createRejection(new ApiError(413, 'RequestEntityTooLarge', 'too big'), 'Pod', 'p')).toMatchObject({ reason: 'TaskRejected' });
    expect(createRejection(new ApiError(403, 'NamespaceTerminating', 'terminating'), 'Pod', 'p')).toBeUndefined();
    expect(createRejection(new ApiError(409, 'Conflict', 'conflict'), 'Pod', 'p')).toBeUndefined();
    expect(createRejection(new Error('socket hang up'), 'Pod', 'p')).toBeUndefined();
  });
});
