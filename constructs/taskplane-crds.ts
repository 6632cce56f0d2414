import { Construct } from 'constructs';
import { httpTaskCrd, jobConfigCrd, jobRunCrd, taskCacheEntryCrd } from '../engine/schema/crd.js';
import { ClusterScopedApiObject } from './_cluster-scoped-object.js';

const TASKPLANE_CRDS_BRAND = Symbol.for('taskplane.TaskplaneCrds');

/**
 * The CustomResourceDefinitions of JobConfig, JobRun, HttpTask and TaskCacheEntry (taskplane.dev/v1alpha1), generated from the
 * same schema that types this library and validates at synth. Define them once per app.
 */
export class TaskplaneCrds extends Construct {
  /** Whether `x` is a TaskplaneCrds from any copy of taskplane (`instanceof` is false across copies). */
  public static isTaskplaneCrds(x: unknown): x is TaskplaneCrds {
    return typeof x === 'object' && x !== null && TASKPLANE_CRDS_BRAND in x;
  }

  public constructor(scope: Construct, id: string) {
    super(scope, id);
    Object.defineProperty(this, TASKPLANE_CRDS_BRAND, { value: true });
    for (const crd of [jobConfigCrd(), jobRunCrd(), httpTaskCrd(), taskCacheEntryCrd()]) {
      // Argo CD syncs wave by wave and waits for each to be healthy: the CRDs are Established before
      // any JobConfig or JobRun (wave 0) is applied.
      const metadata = { ...crd.metadata, annotations: { 'argocd.argoproj.io/sync-wave': '-1' } };
      new ClusterScopedApiObject(this, crd.spec.names.kind, { ...crd, metadata });
    }
    // A plain cdk8s App would write both copies without a word; the cluster holds one.
    this.node.addValidation({
      validate: () => {
        const first = this.node.root.node.findAll().find(TaskplaneCrds.isTaskplaneCrds);
        return first && first !== this ? [`the taskplane CRDs are already defined by ${first.node.path}; define them once per app`] : [];
      },
    });
  }
}
