import { Construct } from 'constructs';
import { jobConfigCrd, jobRunCrd } from '../engine/schema/crd.js';
import { ClusterScopedApiObject } from './_cluster-scoped-object.js';

/**
 * The CustomResourceDefinitions of JobConfig and JobRun (taskplane.dev/v1alpha1), generated from the
 * same schema that types this library and validates at synth.
 */
export class TaskplaneCrds extends Construct {
  public constructor(scope: Construct, id: string) {
    super(scope, id);
    for (const crd of [jobConfigCrd(), jobRunCrd()]) new ClusterScopedApiObject(this, crd.spec.names.kind, crd);
  }
}
