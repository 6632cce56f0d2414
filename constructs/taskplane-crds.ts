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
    for (const crd of [jobConfigCrd(), jobRunCrd()]) {
      // Argo CD syncs wave by wave and waits for each to be healthy: the CRDs are Established before
      // any JobConfig or JobRun (wave 0) is applied.
      const metadata = { ...crd.metadata, annotations: { 'argocd.argoproj.io/sync-wave': '-1' } };
      new ClusterScopedApiObject(this, crd.spec.names.kind, { ...crd, metadata });
    }
  }
}
