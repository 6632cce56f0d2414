/** The watcher's allowlist of task kinds and the kinds it never creates (engine/task-kinds.ts). */
import { describe, expect, it } from 'vitest';
import { BUILT_IN_TASK_RESOURCES, parseTaskResources, taskKindRefusal, type DiscoveredKind } from '../../engine/task-kinds.js';

const kind = (apiVersion: string, k: string, group: string, resource: string, namespaced = true): DiscoveredKind => ({ apiVersion, kind: k, group, resource, namespaced });
const allowed = [...BUILT_IN_TASK_RESOURCES, { group: 'tekton.dev', resource: 'taskruns' }];

describe('taskKindRefusal', () => {
  it('allows the installed kinds', () => {
    for (const k of [kind('v1', 'Pod', '', 'pods'), kind('batch/v1', 'Job', 'batch', 'jobs'), kind('tekton.dev/v1', 'TaskRun', 'tekton.dev', 'taskruns')]) {
      expect(taskKindRefusal(k, allowed), k.kind).toBeUndefined();
    }
  });

  it('refuses credentials, identities and rights even when the allowlist names them', () => {
    const never = [
      kind('v1', 'Secret', '', 'secrets'),
      kind('v1', 'ServiceAccount', '', 'serviceaccounts'),
      kind('v1', 'Binding', '', 'bindings'),
      kind('rbac.authorization.k8s.io/v1', 'RoleBinding', 'rbac.authorization.k8s.io', 'rolebindings'),
      kind('rbac.authorization.k8s.io/v1', 'ClusterRoleBinding', 'rbac.authorization.k8s.io', 'clusterrolebindings', false),
      kind('authentication.k8s.io/v1', 'TokenReview', 'authentication.k8s.io', 'tokenreviews', false),
      kind('authorization.k8s.io/v1', 'LocalSubjectAccessReview', 'authorization.k8s.io', 'localsubjectaccessreviews'),
      kind('certificates.k8s.io/v1', 'CertificateSigningRequest', 'certificates.k8s.io', 'certificatesigningrequests', false),
    ];
    const everything = never.map(({ group, resource }) => ({ group, resource }));
    for (const k of never) expect(taskKindRefusal(k, everything), k.kind).toMatch(/^the watcher never creates /);
  });

  it('refuses cluster-scoped kinds and kinds the install did not list, saying what it may create', () => {
    expect(taskKindRefusal(kind('v1', 'Namespace', '', 'namespaces', false), [{ group: '', resource: 'namespaces' }])).toBe(
      "the watcher creates only namespaced objects, in the run's namespace; Namespace (namespaces, v1) is cluster-scoped",
    );
    expect(taskKindRefusal(kind('v1', 'ConfigMap', '', 'configmaps'), allowed)).toBe(
      'the watcher was not installed for ConfigMap (configmaps, v1); it may create pods, jobs.batch, workflows.argoproj.io, taskruns.tekton.dev (add the executor to WatcherInstall\'s executors)',
    );
  });
});

describe('parseTaskResources (--task-resources)', () => {
  it('reads kubectl\'s resource.group names', () => {
    expect(parseTaskResources('pods, jobs.batch,taskruns.tekton.dev')).toEqual({
      resources: [{ group: '', resource: 'pods' }, { group: 'batch', resource: 'jobs' }, { group: 'tekton.dev', resource: 'taskruns' }],
      errors: [],
    });
  });

  it('reports every bad entry, and refuses kinds that are never tasks', () => {
    expect(parseTaskResources('Pods,secrets,rolebindings.rbac.authorization.k8s.io').errors).toEqual([
      'Pods: expected a plural resource name such as pods or jobs.batch',
      'secrets: never allowed as a task (secrets carry credentials or bypass the scheduler)',
      'rolebindings.rbac.authorization.k8s.io: never allowed as a task (objects of rbac.authorization.k8s.io grant identities or rights)',
    ]);
    expect(parseTaskResources(' , ').errors).toEqual(['names no resource; e.g. pods,jobs.batch,taskruns.tekton.dev']);
  });
});
