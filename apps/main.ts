/**
 * The example jobs. `npm run synth` (cdk8s synth) renders them into dist/:
 *   dist/00-setup/                           Namespaces, each JobConfig's ServiceAccounts and RBAC
 *   dist/taskplane.k8s.yaml                  the CRDs
 *   dist/watcher.k8s.yaml                    the watcher (docs/install.md)
 *   dist/jobs/<config>/jobconfig.k8s.yaml    each JobConfig
 *   dist/jobs/<config>/runs/<run>.k8s.yaml   each JobRun with its first-attempt tasks
 */
import { pathToFileURL } from 'node:url';
import { Chart } from 'cdk8s';
import { TaskplaneApp, TaskplaneCrds, WatcherExecutor, WatcherInstall, type TaskplaneAppProps } from '../constructs/index.js';
import { cacheWarm } from './jobs/cache-warm.js';
import { coloniesHello } from './jobs/colonies-hello.js';
import { databaseBackup } from './jobs/database-backup.js';
import { eventIngest } from './jobs/event-ingest.js';
import { imageScan } from './jobs/image-scan.js';
import { matrixBuild } from './jobs/matrix-build.js';
import { reportExport } from './jobs/report-export.js';
import { searchIndex } from './jobs/search-index.js';

export function buildApp(props: TaskplaneAppProps = {}): TaskplaneApp {
  const app = new TaskplaneApp(props);
  new TaskplaneCrds(new Chart(app, 'taskplane'), 'crds');
  const jobs = new Chart(app, 'jobs', { namespace: 'batch', labels: { 'app.kubernetes.io/part-of': 'platform-jobs' } });
  databaseBackup(jobs);
  matrixBuild(jobs);
  reportExport(jobs);
  imageScan(jobs);
  cacheWarm(jobs);
  coloniesHello(jobs);
  searchIndex(jobs);
  eventIngest(jobs);
  // The watcher, in a chart of its own with no chart namespace. Its RBAC covers the executors the jobs
  // above use (image-scan's Tekton TaskRuns declare a killPatch, so no delete); the CRDs are in the
  // taskplane chart. The image is the team's mirror of the release (the default is ghcr.io/taskplane/watcher:<version>).
  new WatcherInstall(new Chart(app, 'watcher'), 'watcher', {
    image: 'registry.example.com/platform/taskplane:0.1.0',
    executors: [
      WatcherExecutor.pods(),
      WatcherExecutor.jobs(),
      WatcherExecutor.workflows(),
      WatcherExecutor.customResource({ group: 'tekton.dev', resource: 'taskruns', deleteOnKill: false }),
      // cache-warm's requests: to cluster Services only (the default egress), with its one Secret.
      WatcherExecutor.http({ secretNames: ['storefront-cache-token'] }),
    ],
    crds: false,
  });
  return app;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) buildApp().synth();
