import { Construct } from 'constructs';
import { jobConfigCrd, jobRunCrd } from '../engine/schema/crd.js';
import { ClusterScopedApiObject } from './_cluster-scoped-object.js';

/**
 * The CustomResourceDefinitions of JobConfig and JobRun (taskplane.dev/v1alpha1), generated from the
 * same schema that types this library and validates at synth. Define them once per app.
 */
export class TaskplaneCrds extends Construct {
  public constructor(scope: Construct, id: string) {
    super(scope, id);
    for (const crd of [jobConfigCrd(), jobRunCrd()]) new ClusterScopedApiObject(this, crd.spec.names.kind, crd);
    // A plain cdk8s App would write both copies without a word; the cluster holds one.
    this.node.addValidation({
      validate: () => {
        const first = this.node.root.node.findAll().find((node) => node instanceof TaskplaneCrds);
        return first && first !== this ? [`the taskplane CRDs are already defined by ${first.node.path}; define them once per app`] : [];
      },
    });
  }
}
