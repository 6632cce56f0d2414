/**
 * Which kinds of object the watcher may create as tasks (DESIGN §7.1). The allowlist is the install's
 * (`WatcherInstall` derives it from its executors and passes `--task-resources`); the kinds below are
 * refused whatever the allowlist or the watcher's credentials say, because creating them hands out
 * credentials or rights rather than running work.
 */

/** A kind of object as RBAC and REST paths name it: API group ('' for core) and plural resource. */
export interface TaskResource {
  readonly group: string;
  readonly resource: string;
}

/** The kinds of the built-in executors (`pod`, `job`, `workflow`): the allowlist when none is given. */
export const BUILT_IN_TASK_RESOURCES: readonly TaskResource[] = [
  { group: '', resource: 'pods' },
  { group: 'batch', resource: 'jobs' },
  { group: 'argoproj.io', resource: 'workflows' },
];

/** HttpTasks: objects the watcher itself performs, so allowing them lets it send HTTP requests. */
export const HTTP_TASK_RESOURCE: TaskResource = { group: 'taskplane.dev', resource: 'httptasks' };

/** Core kinds that carry or mint credentials, or place Pods on nodes. */
const NEVER_CORE = new Set(['secrets', 'serviceaccounts', 'bindings']);
/** Groups whose every kind is about identity and rights: RBAC, tokens, access reviews, certificates. */
const NEVER_GROUPS = new Set(['rbac.authorization.k8s.io', 'authentication.k8s.io', 'authorization.k8s.io', 'certificates.k8s.io']);

/** `pods`, `jobs.batch`, `taskruns.tekton.dev`: kubectl's `resource.group` form. */
export function formatTaskResource({ group, resource }: TaskResource): string {
  return group ? `${resource}.${group}` : resource;
}

/** Why the watcher never creates this kind, or undefined when it may (if the install allows it). */
export function neverCreated({ group, resource }: TaskResource): string | undefined {
  if (NEVER_GROUPS.has(group)) return `objects of ${group} grant identities or rights`;
  if (group === '' && NEVER_CORE.has(resource)) return `${resource} carry credentials or bypass the scheduler`;
  return undefined;
}

/** Parses `--task-resources` (comma-separated `resource.group` names); every problem is reported. */
export function parseTaskResources(text: string): { resources: TaskResource[]; errors: string[] } {
  const resources: TaskResource[] = [];
  const errors: string[] = [];
  for (const item of text.split(',').map((s) => s.trim()).filter((s) => s !== '')) {
    const dot = item.indexOf('.');
    const resource = { group: dot < 0 ? '' : item.slice(dot + 1), resource: dot < 0 ? item : item.slice(0, dot) };
    const never = neverCreated(resource);
    if (!/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/.test(resource.resource)) errors.push(`${item}: expected a plural resource name such as pods or jobs.batch`);
    else if (never) errors.push(`${item}: never allowed as a task (${never})`);
    else resources.push(resource);
  }
  if (resources.length === 0 && errors.length === 0) errors.push('names no resource; e.g. pods,jobs.batch,taskruns.tekton.dev');
  return { resources, errors };
}

/** What discovery says about the kind a run's tasks would be. */
export interface DiscoveredKind extends TaskResource {
  readonly apiVersion: string;
  readonly kind: string;
  readonly namespaced: boolean;
}

/** Why the watcher must not create (or even watch) this kind of task, or undefined when it may. */
export function taskKindRefusal(kind: DiscoveredKind, allowed: readonly TaskResource[]): string | undefined {
  const name = `${kind.kind} (${formatTaskResource(kind)}, ${kind.apiVersion})`;
  const never = neverCreated(kind);
  if (never) return `the watcher never creates ${name}: ${never}`;
  if (!kind.namespaced) return `the watcher creates only namespaced objects, in the run's namespace; ${name} is cluster-scoped`;
  if (!allowed.some((a) => a.group === kind.group && a.resource === kind.resource)) {
    return `the watcher was not installed for ${name}; it may create ${allowed.map(formatTaskResource).join(', ') || 'nothing'} (add the executor to WatcherInstall's executors)`;
  }
  return undefined;
}
