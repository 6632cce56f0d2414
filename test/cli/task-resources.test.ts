/** `taskplane watch --task-resources`: a bad or forbidden allowlist stops the watcher before it connects. */
import { describe, expect, it } from 'vitest';
import { main } from '../../cli/main.js';
import { UsageError } from '../../cli/kube.js';

describe('taskplane watch --task-resources', () => {
  it('refuses credential and RBAC kinds and malformed names, all at once, as a usage error', async () => {
    const run = main(['watch', '--task-resources=pods,secrets,clusterrolebindings.rbac.authorization.k8s.io,Jobs']);
    await expect(run).rejects.toBeInstanceOf(UsageError);
    await expect(run).rejects.toThrow(
      '--task-resources: got "pods,secrets,clusterrolebindings.rbac.authorization.k8s.io,Jobs": secrets: never allowed as a task (secrets carry credentials or bypass the scheduler); ' +
        'clusterrolebindings.rbac.authorization.k8s.io: never allowed as a task (objects of rbac.authorization.k8s.io grant identities or rights); ' +
        'Jobs: expected a plural resource name such as pods or jobs.batch',
    );
  });

  it('an empty list is an error, not "allow nothing" by accident', async () => {
    await expect(main(['watch', '--task-resources='])).rejects.toThrow('--task-resources: got "": names no resource; e.g. pods,jobs.batch,taskruns.tekton.dev');
  });

  it('is checked with the other watch flags: every wrong one is named at once', async () => {
    const run = main(['watch', '--workers=two', '--task-resources=secrets']);
    await expect(run).rejects.toThrow(/--workers: got "two".*\n--task-resources: got "secrets": secrets: never allowed/s);
  });
});
