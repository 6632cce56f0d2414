import { Construct } from 'constructs';
import * as kplus from 'cdk8s-plus-28';
import { ClusterScopedApiObject } from './_cluster-scoped-object.js';
import type { WatcherPolicyRule } from './watcher-rbac.js';

const k8s = kplus.k8s;
const GROUP = 'taskplane.dev';

export interface TaskplanePersonasProps {
  /**
   * Prefix of the ClusterRoles' names and of their aggregation labels.
   * @default 'taskplane' - ClusterRoles taskplane-viewer, taskplane-runner, taskplane-editor
   */
  readonly prefix?: string;
  /**
   * Labels on every ClusterRole.
   * @default - none
   */
  readonly labels?: Readonly<Record<string, string>>;
}

/**
 * Who may do what with jobs (DESIGN §7.1), as aggregated ClusterRoles to bind per namespace with a
 * RoleBinding (or cluster-wide with a ClusterRoleBinding):
 *
 * - `<prefix>-viewer`: read JobConfigs and JobRuns (also aggregated into the built-in `view`, hence
 *   `edit` and `admin`).
 * - `<prefix>-runner`: a job user. Start runs of the namespace's JobConfigs (`taskplane run`, or a
 *   JobRun) and kill them (`taskplane kill` patches `spec.killTimestamp`); nothing else. The watcher
 *   admits only runs whose template and options are their JobConfig's, so this grants "run these
 *   jobs", never "define a job".
 * - `<prefix>-editor`: the platform team (usually the GitOps engine's identity). Define, change and
 *   delete JobConfigs and JobRuns.
 *
 * Each persona is an aggregated ClusterRole (`aggregationRule`): a cluster admin widens one by
 * labelling a ClusterRole `taskplane.dev/aggregate-to-<persona>: "true"`; the rules here are in the
 * `<prefix>-aggregate-*` ClusterRoles. None is aggregated into the built-in `edit` or `admin`: being
 * allowed to create Pods in a namespace is not a reason to define or run its jobs.
 */
export class TaskplanePersonas extends Construct {
  /** The ClusterRole names, by persona. */
  public readonly viewer: string;
  public readonly runner: string;
  public readonly editor: string;

  public constructor(scope: Construct, id: string, props: TaskplanePersonasProps = {}) {
    super(scope, id);
    const prefix = props.prefix ?? 'taskplane';
    const labels = props.labels ?? {};
    const aggregateTo = (persona: string) => `${GROUP}/aggregate-to-${prefix === 'taskplane' ? '' : `${prefix}-`}${persona}`;
    this.viewer = `${prefix}-viewer`;
    this.runner = `${prefix}-runner`;
    this.editor = `${prefix}-editor`;

    for (const [persona, name] of [['viewer', this.viewer], ['runner', this.runner], ['editor', this.editor]] as const) {
      // No rules here: the API server's aggregation controller fills them in (and GitOps must not own them).
      new ClusterScopedApiObject(this, name, {
        ...k8s.KubeClusterRole.GVK,
        metadata: { name, labels },
        aggregationRule: { clusterRoleSelectors: [{ matchLabels: { [aggregateTo(persona)]: 'true' } }] },
      });
    }
    const rules = (id: string, to: readonly string[], rulesOf: WatcherPolicyRule[]) =>
      new ClusterScopedApiObject(this, id, {
        ...k8s.KubeClusterRole.GVK,
        metadata: { name: `${prefix}-aggregate-${id}`, labels: { ...labels, ...Object.fromEntries(to.map((label) => [label, 'true'])) } },
        rules: rulesOf,
      });
    rules('view', [aggregateTo('viewer'), aggregateTo('runner'), aggregateTo('editor'), 'rbac.authorization.k8s.io/aggregate-to-view'], [
      { apiGroups: [GROUP], resources: ['jobconfigs', 'jobruns', 'jobconfigs/status', 'jobruns/status'], verbs: ['get', 'list', 'watch'] },
    ]);
    rules('run', [aggregateTo('runner'), aggregateTo('editor')], [
      // create: taskplane run; patch: taskplane kill (spec.killTimestamp). No update, no delete.
      { apiGroups: [GROUP], resources: ['jobruns'], verbs: ['create', 'patch'] },
    ]);
    rules('edit', [aggregateTo('editor')], [
      { apiGroups: [GROUP], resources: ['jobconfigs'], verbs: ['create', 'update', 'patch', 'delete', 'deletecollection'] },
      { apiGroups: [GROUP], resources: ['jobruns'], verbs: ['update', 'delete', 'deletecollection'] },
      // Task cache entries: read and flushed by the platform team only. Viewers and runners get nothing:
      // they would read every JobConfig's cached results; nobody but the watcher writes them.
      { apiGroups: [GROUP], resources: ['taskcacheentries'], verbs: ['get', 'list', 'watch', 'delete', 'deletecollection'] },
    ]);
  }
}
