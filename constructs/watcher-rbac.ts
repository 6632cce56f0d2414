import type { ApiObject } from 'cdk8s';
import * as kplus from 'cdk8s-plus-28';
import { Construct } from 'constructs';
import { shardLeaseName } from '../engine/shards.js';
import { ClusterScopedApiObject } from './_cluster-scoped-object.js';
import { distinctExecutors, type WatcherExecutor } from './watcher-executor.js';

const k8s = kplus.k8s;

/** One RBAC rule as the API server stores it (`rbac.authorization.k8s.io/v1` PolicyRule). */
export interface WatcherPolicyRule {
  readonly apiGroups: string[];
  readonly resources: string[];
  readonly verbs: string[];
  readonly resourceNames?: string[];
}

/**
 * The rules the watcher needs on the namespaces it watches (a ClusterRole when it watches all of
 * them, a Role in the one it watches otherwise): exactly the calls in `watcher/controller.ts`.
 */
export function watcherRules(executors: readonly WatcherExecutor[]): WatcherPolicyRule[] {
  return [
    // The informers: list then watch; get costs nothing more than list (and admission re-reads a config the cache lacks).
    { apiGroups: ['taskplane.dev'], resources: ['jobruns', 'jobconfigs'], verbs: ['get', 'list', 'watch'] },
    // Run and config status, written by server-side apply (a PATCH) through the status subresource; never the spec.
    { apiGroups: ['taskplane.dev'], resources: ['jobruns/status', 'jobconfigs/status'], verbs: ['patch'] },
    // Scheduled runs: created when due (owned by their JobConfig, without blockOwnerDeletion, so no
    // jobconfigs/finalizers), deleted past the history limits (only runs it created; watcher/scheduler.ts).
    { apiGroups: ['taskplane.dev'], resources: ['jobruns'], verbs: ['create', 'delete'] },
    // Created tasks carry an ownerReference to the run with blockOwnerDeletion, which the
    // OwnerReferencesPermissionEnforcement admission plugin (where enabled) allows only with this.
    // Custom resources have no finalizers subresource: this grants no other request.
    { apiGroups: ['taskplane.dev'], resources: ['jobruns/finalizers'], verbs: ['update'] },
    // Events on JobRuns and JobConfigs (core v1): created, and patched to count repeats the way
    // client-go's recorder aggregates them (watcher/event-recorder.ts); never read back.
    { apiGroups: [''], resources: ['events'], verbs: ['create', 'patch'] },
    // Task caching (watcher/cache-entries.ts): a config's entries listed by label; written by server-side
    // apply (a PATCH that may create, so create too); evicted past maxAge and maxEntries. No get, no watch, no update.
    { apiGroups: ['taskplane.dev'], resources: ['taskcacheentries'], verbs: ['list', 'create', 'patch', 'delete'] },
    ...distinctExecutors(executors).flatMap((e) => e.toRules()),
  ];
}

/** The leader-election rules, in the watcher's own namespace only: its Lease, or one per shard. */
export function leaseRules(leaseName: string, shards = 1): WatcherPolicyRule[] {
  const names = Array.from({ length: shards }, (_, shard) => shardLeaseName(leaseName, shard, shards));
  return [
    // A create names no object at authorization time, so it cannot be limited to one name.
    { apiGroups: ['coordination.k8s.io'], resources: ['leases'], verbs: ['create'] },
    { apiGroups: ['coordination.k8s.io'], resources: ['leases'], resourceNames: names, verbs: ['get', 'update'] },
  ];
}

export interface WatcherRbacProps {
  /** The watcher's ServiceAccount, the subject of every binding. */
  readonly serviceAccount: { readonly name: string; readonly namespace: string };
  /** Name of the roles and bindings (the Lease Role adds `-leader-election`). */
  readonly name: string;
  /** The Lease the watcher elects its leader with, in its own namespace. */
  readonly leaseName: string;
  /**
   * Shards (`--shards`): one Lease per shard, `<leaseName>-shard-<i>`.
   * @default 1 - the Lease `leaseName` itself
   */
  readonly shards?: number;
  readonly executors: readonly WatcherExecutor[];
  /**
   * Watch one namespace only: a Role and RoleBinding there instead of a ClusterRole and ClusterRoleBinding.
   * @default - every namespace, with a ClusterRole
   */
  readonly watchNamespace?: string;
  readonly labels: Readonly<Record<string, string>>;
}

/**
 * The watcher's own least-privilege RBAC: the rules it needs on watched namespaces (derived from the
 * executors in use) and its leader-election Lease in its own namespace. Nothing more: no Secrets, no
 * deletes of what GitOps applied, no RBAC, no tokens.
 */
export class WatcherRbac extends Construct {
  /** The rules on watched namespaces (also in `watchedRole`). */
  public readonly rules: readonly WatcherPolicyRule[];
  /** The ClusterRole, or the Role in `watchNamespace`. */
  public readonly watchedRole: ApiObject;
  /** The leader-election Role in the watcher's namespace. */
  public readonly leaseRole: ApiObject;

  public constructor(scope: Construct, id: string, props: WatcherRbacProps) {
    super(scope, id);
    const { name, labels } = props;
    const home = props.serviceAccount.namespace;
    const subjects = [{ kind: 'ServiceAccount', ...props.serviceAccount }];
    this.rules = watcherRules(props.executors);
    if (props.watchNamespace === undefined) {
      this.watchedRole = new ClusterScopedApiObject(this, 'ClusterRole', { ...k8s.KubeClusterRole.GVK, metadata: { name, labels }, rules: this.rules });
      new ClusterScopedApiObject(this, 'ClusterRoleBinding', {
        ...k8s.KubeClusterRoleBinding.GVK,
        metadata: { name, labels },
        roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name },
        subjects,
      });
    } else {
      const inWatched = { name, namespace: props.watchNamespace, labels };
      this.watchedRole = new k8s.KubeRole(this, 'WatchedRole', { metadata: inWatched, rules: [...this.rules] });
      new k8s.KubeRoleBinding(this, 'WatchedRoleBinding', {
        metadata: inWatched,
        roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name },
        subjects,
      });
    }
    // The Lease Role has its own name: with watchNamespace equal to the watcher's namespace both Roles live side by side.
    const leaseRole = { name: `${name}-leader-election`, namespace: home, labels };
    this.leaseRole = new k8s.KubeRole(this, 'LeaseRole', { metadata: leaseRole, rules: leaseRules(props.leaseName, props.shards) });
    new k8s.KubeRoleBinding(this, 'LeaseRoleBinding', {
      metadata: leaseRole,
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: leaseRole.name },
      subjects,
    });
  }
}
