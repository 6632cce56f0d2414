import { ApiObject } from 'cdk8s';

/**
 * An ApiObject that never carries a namespace: cdk8s stamps the chart's namespace onto every
 * object, cluster-scoped kinds included, which the API server then rejects or ignores.
 */
export class ClusterScopedApiObject extends ApiObject {
  public override toJson(): any {
    const json = super.toJson();
    delete json.metadata?.namespace;
    return json;
  }
}
