/**
 * The watcher's side of admission (DESIGN §7.1): it asks the engine whether a run may proceed
 * (engine/run/admission.ts: its JobConfig, template and options) and whether its kind of task may be
 * created at all (engine/task-kinds.ts), and hands the answer to the planner, which ends a refused
 * run in AdmissionError with a Warning event. The watcher's own credentials never widen the answer.
 */
import { admitRun, type Admission } from '../engine/run/admission.js';
import { TERMINAL_PHASES } from '../engine/run/index.js';
import type { RunSnapshot } from '../engine/run/types.js';
import { GROUP_VERSION, type JobConfigObject, type JobRunObject } from '../engine/schema/resources.js';
import { taskKindRefusal, type TaskResource } from '../engine/task-kinds.js';
import { isNotFound, type KubeClient, type KubeObject } from './kube/client.js';
import type { TaskKind } from './tasks.js';

export type AdmissionVerdict = Pick<RunSnapshot, 'rejection' | 'hold'>;

export class RunAdmission {
  constructor(
    private readonly client: KubeClient,
    /** The JobConfig cache. */
    private readonly cachedConfig: (namespace: string | undefined, name: string) => JobConfigObject | undefined,
    /** The kinds the install allows (`--task-resources`). */
    private readonly allowed: readonly TaskResource[],
  ) {}

  /**
   * Whether `run` may proceed, checked before its tasks are watched or created. Runs that finished
   * are records and are not checked against their config again; their kind still is, so that a kind
   * the watcher may not create is never watched either.
   */
  async check(run: JobRunObject, taskKind: TaskKind | undefined, now: Date): Promise<AdmissionVerdict> {
    if (taskKind) {
      const why = await this.kindRefusal(taskKind);
      if (why) return { rejection: { reason: 'TaskKindNotAllowed', message: why } };
    }
    if (TERMINAL_PHASES.has(run.status?.phase)) return {};
    const { namespace } = run.metadata;
    let admission = admitRun({ run, config: this.cachedConfig(namespace, run.spec.configName), now });
    // The cache may lag a config applied or edited together with the run: refuse only on what the API server says.
    if (admission.kind !== 'admitted') admission = admitRun({ run, config: await this.liveConfig(namespace, run.spec.configName), now });
    return verdict(admission);
  }

  private async kindRefusal({ apiVersion, kind }: TaskKind): Promise<string | undefined> {
    const { plural, namespaced } = await this.client.resource(apiVersion, kind);
    const group = apiVersion.includes('/') ? apiVersion.slice(0, apiVersion.indexOf('/')) : '';
    return taskKindRefusal({ apiVersion, kind, group, resource: plural, namespaced }, this.allowed);
  }

  private async liveConfig(namespace: string | undefined, name: string): Promise<JobConfigObject | undefined> {
    try {
      return await this.client.get<JobConfigObject & KubeObject>(GROUP_VERSION, 'JobConfig', namespace, name);
    } catch (error) {
      if (isNotFound(error)) return undefined;
      throw error;
    }
  }
}

function verdict(admission: Admission): AdmissionVerdict {
  if (admission.kind === 'refused') return { rejection: { reason: admission.reason, message: admission.message } };
  if (admission.kind === 'held') return { hold: { reason: admission.reason, message: admission.message, until: admission.until } };
  return {};
}
