import { formatTaskResource, neverCreated, type TaskResource } from '../engine/task-kinds.js';
import type { WatcherPolicyRule } from './watcher-rbac.js';

/** Where WatcherInstall mounts `WatcherHttpProps.caConfigMap`. */
export const HTTP_CA_DIRECTORY = '/etc/taskplane/http-ca';

/** A custom resource kind that JobConfigs use as their task executor (`TaskTemplate.customResource`). */
export interface WatcherCustomResourceProps {
  /** The kind's API group, e.g. `tekton.dev`. */
  readonly group: string;
  /** The kind's plural resource name as in its REST path and RBAC, e.g. `taskruns`. */
  readonly resource: string;
  /**
   * Let the watcher delete objects of this kind. It deletes only objects it created itself (retries,
   * Deferred tasks), and only to kill a task whose template declares no `killPatch`; RBAC cannot
   * express "only objects I created", so this grants delete on the whole kind.
   * @default true - templates without `killPatch` need it to stop watcher-created tasks; set false
   * when every template of this kind declares `killPatch`
   */
  readonly deleteOnKill?: boolean;
}

/** How the watcher performs HTTP tasks (`TaskTemplate.http`). */
export interface WatcherHttpProps {
  /**
   * The Secrets whose keys HTTP task headers use (`valueFrom.secretKeyRef`): the watcher may `get`
   * these names (RBAC `resourceNames`) and no other Secret. Synth fails when a JobConfig of the app
   * references a Secret missing here.
   * @default - none: the watcher reads no Secret
   */
  readonly secretNames?: readonly string[];
  /**
   * Hosts requests may go to: exact names or `*.suffix` patterns (`--http-egress-hosts`).
   * @default - cluster Services: `*.svc`, `*.svc.cluster.local`
   */
  readonly egressHosts?: readonly string[];
  /**
   * CIDRs requests may go to besides the hosts (`--http-egress-cidrs`); link-local addresses and the
   * cloud metadata service are refused whatever is listed.
   * @default - none
   */
  readonly egressCidrs?: readonly string[];
  /** Requests in flight at once (`--http-concurrency`). @default 100 */
  readonly concurrency?: number;
  /**
   * A ConfigMap in the watcher's namespace whose key holds PEM CA certificates to trust besides
   * Node's roots (an internal CA); mounted into the watcher, so no RBAC on ConfigMaps is needed.
   * @default - Node's bundled roots only
   */
  readonly caConfigMap?: { readonly name: string; readonly key?: string };
}

/**
 * A kind of task object the watcher follows, creates and stops. It decides both the task-object rules
 * of the watcher's RBAC and the watcher's own allowlist (`--task-resources`): the watcher refuses a
 * run whose tasks are of any other kind, whatever its credentials allow. List every executor your
 * JobConfigs use.
 */
export class WatcherExecutor {
  /** `TaskTemplate.pod`: core v1 Pods. */
  public static pods(): WatcherExecutor {
    return new WatcherExecutor('', 'pods', false);
  }

  /** `TaskTemplate.job`: batch/v1 Jobs. */
  public static jobs(): WatcherExecutor {
    return new WatcherExecutor('batch', 'jobs', false);
  }

  /** `TaskTemplate.workflow`: Argo Workflows (`argoproj.io` `workflows`). */
  public static workflows(): WatcherExecutor {
    return new WatcherExecutor('argoproj.io', 'workflows', false);
  }

  /**
   * `TaskTemplate.http`: HttpTask objects, whose requests the watcher itself sends under an egress
   * policy. Adds the HttpTask rules, its status, and `get` on exactly the Secrets named.
   */
  public static http(props: WatcherHttpProps = {}): WatcherExecutor {
    const secrets = [...new Set(props.secretNames ?? [])].sort();
    const rules: WatcherPolicyRule[] = [
      // The runner records every step (Starting before sending, then the outcome) through the status subresource.
      { apiGroups: ['taskplane.dev'], resources: ['httptasks/status'], verbs: ['patch'] },
      // Header values read at request time; a get names its object, so resourceNames limit it (no list or watch).
      ...(secrets.length ? [{ apiGroups: [''], resources: ['secrets'], resourceNames: secrets, verbs: ['get'] }] : []),
    ];
    return new WatcherExecutor('taskplane.dev', 'httptasks', false, rules, { ...props, secretNames: secrets });
  }

  /**
   * `TaskTemplate.customResource` of one namespaced kind. Kinds that carry credentials or rights
   * (Secrets, ServiceAccounts, RBAC, token and access reviews, certificates) are a synth error.
   */
  public static customResource(props: WatcherCustomResourceProps): WatcherExecutor {
    return new WatcherExecutor(props.group, props.resource, props.deleteOnKill ?? true);
  }

  private constructor(
    /** The API group (`''` for core). */
    public readonly group: string,
    /** The plural resource name. */
    public readonly resource: string,
    /** Whether the watcher may delete objects of this kind (watcher-created custom resources only). */
    public readonly deletes: boolean,
    private readonly extraRules: readonly WatcherPolicyRule[] = [],
    /** How HTTP tasks are performed (`http()` only). */
    public readonly httpProps?: WatcherHttpProps,
  ) {}

  /** The kind in the watcher's allowlist. */
  public get taskResource(): TaskResource {
    return { group: this.group, resource: this.resource };
  }

  /** Why the watcher must never be given this kind, or undefined. @internal */
  public _problem(): string | undefined {
    const never = neverCreated(this.taskResource);
    return never && `${formatTaskResource(this.taskResource)} can never be a task kind: ${never}`;
  }

  /**
   * get (a create that found its own object), list and watch (the informer, by the `taskplane.dev/run`
   * label), create (retries and Deferred tasks), patch (kills in place: `activeDeadlineSeconds`,
   * `spec.shutdown`, a declared `killPatch`); delete only where allowed above.
   */
  public toRule(): WatcherPolicyRule {
    const verbs = ['get', 'list', 'watch', 'create', 'patch', ...(this.deletes ? ['delete'] : [])];
    return { apiGroups: [this.group], resources: [this.resource], verbs };
  }

  /** `toRule()` and the rules this executor needs besides its kind (HttpTask status, Secrets). */
  public toRules(): WatcherPolicyRule[] {
    return [this.toRule(), ...this.extraRules.map((rule) => structuredClone(rule) as WatcherPolicyRule)];
  }

  /** `taskplane watch` flags of this executor. @internal */
  public _watchArgs(): string[] {
    const http = this.httpProps;
    if (!http) return [];
    return [
      ...(http.egressHosts !== undefined ? [`--http-egress-hosts=${http.egressHosts.join(',')}`] : []),
      ...(http.egressCidrs !== undefined ? [`--http-egress-cidrs=${http.egressCidrs.join(',')}`] : []),
      ...(http.concurrency !== undefined ? [`--http-concurrency=${http.concurrency}`] : []),
      ...(http.caConfigMap ? [`--http-ca-file=${HTTP_CA_DIRECTORY}/${http.caConfigMap.key ?? 'ca.crt'}`] : []),
    ];
  }
}

/** The executors once each (the first of a kind wins), in the order given. */
export function distinctExecutors(executors: readonly WatcherExecutor[]): WatcherExecutor[] {
  const seen = new Set<string>();
  return executors.filter((e) => !seen.has(`${e.group}/${e.resource}`) && seen.add(`${e.group}/${e.resource}`));
}
