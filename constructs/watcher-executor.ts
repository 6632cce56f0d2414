import { formatTaskResource, neverCreated, type TaskResource } from '../engine/task-kinds.js';
import type { WatcherPolicyRule } from './watcher-rbac.js';

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
}

/** The executors once each (the first of a kind wins), in the order given. */
export function distinctExecutors(executors: readonly WatcherExecutor[]): WatcherExecutor[] {
  const seen = new Set<string>();
  return executors.filter((e) => !seen.has(`${e.group}/${e.resource}`) && seen.add(`${e.group}/${e.resource}`));
}
