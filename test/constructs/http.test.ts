/** TaskTemplate.http and WatcherExecutor.http at synth: the install's rules and flags, and the Secret check. */
import { Chart, Testing } from 'cdk8s';
import { describe, expect, it } from 'vitest';
import { JobConfig, TaskTemplate, WatcherExecutor, WatcherInstall } from '../../constructs/index.js';

const IMAGE = 'registry.example.com/platform/taskplane:0.1.0';

function app(executor: WatcherExecutor | undefined, secret = 'api-token') {
  const root = Testing.app();
  new JobConfig(new Chart(root, 'jobs', { namespace: 'batch' }), 'ping', {
    task: TaskTemplate.http({ request: { method: 'GET', url: 'http://api.shop.svc/ping', headers: [{ name: 'Authorization', valueFrom: { secretKeyRef: { name: secret, key: 'token' } } }] } }),
  });
  const install = new WatcherInstall(new Chart(root, 'watcher'), 'watcher', { image: IMAGE, executors: [WatcherExecutor.pods(), ...(executor ? [executor] : [])], crds: false });
  return { root, install };
}

describe('WatcherExecutor.http', () => {
  it('grants HttpTasks, their status, and get on exactly the Secrets named; passes the egress and pool flags', () => {
    const { install } = app(WatcherExecutor.http({ secretNames: ['api-token'], egressCidrs: ['10.0.0.0/8'], concurrency: 20 }));
    expect(install.rules.slice(-3)).toEqual([
      { apiGroups: ['taskplane.dev'], resources: ['httptasks'], verbs: ['get', 'list', 'watch', 'create', 'patch'] },
      { apiGroups: ['taskplane.dev'], resources: ['httptasks/status'], verbs: ['patch'] },
      { apiGroups: [''], resources: ['secrets'], resourceNames: ['api-token'], verbs: ['get'] },
    ]);
    const args = (install.deployment as any).containers[0].args as string[];
    expect(args).toEqual(expect.arrayContaining(['--task-resources=pods,httptasks.taskplane.dev', '--http-egress-cidrs=10.0.0.0/8', '--http-concurrency=20']));
  });

  it('without secretNames the watcher reads no Secret at all', () => {
    const { install } = app(WatcherExecutor.http({ secretNames: ['api-token'] }));
    expect(install.rules.some((r) => r.resources.includes('secrets'))).toBe(true);
    const bare = WatcherExecutor.http().toRules();
    expect(bare.some((r) => r.resources.includes('secrets'))).toBe(false);
  });

  it('a CA ConfigMap is mounted read-only and passed as --http-ca-file', () => {
    const { install } = app(WatcherExecutor.http({ secretNames: ['api-token'], caConfigMap: { name: 'internal-ca', key: 'bundle.pem' } }));
    const pod = (Testing.synth(install.node.scope as Chart).find((o: any) => o.kind === 'Deployment') as any).spec.template.spec;
    expect(pod.containers[0].args).toContain('--http-ca-file=/etc/taskplane/http-ca/bundle.pem');
    expect(pod.containers[0].volumeMounts).toContainEqual(expect.objectContaining({ mountPath: '/etc/taskplane/http-ca', readOnly: true }));
    expect(pod.volumes).toContainEqual(expect.objectContaining({ configMap: expect.objectContaining({ name: 'internal-ca' }) }));
  });

  it('a JobConfig reading a Secret the install does not name fails synth, with the fix', () => {
    expect(() => app(WatcherExecutor.http({ secretNames: ['other'] })).root.synth()).toThrow(/reads Secret api-token, which the watcher may not read.*add 'api-token' to WatcherExecutor.http\(\{ secretNames \}\)/s);
    expect(() => app(undefined).root.synth()).toThrow(/HTTP tasks need WatcherExecutor.http\(\)/);
  });
});
