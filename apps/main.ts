/**
 * The example jobs. `npm run synth` (cdk8s synth) renders them into dist/:
 *   dist/taskplane.k8s.yaml                  the CRDs
 *   dist/jobs/<config>/jobconfig.k8s.yaml    each JobConfig
 *   dist/jobs/<config>/runs/<run>.k8s.yaml   each JobRun with its first-attempt tasks
 */
import { pathToFileURL } from 'node:url';
import { Chart } from 'cdk8s';
import { TaskplaneApp, TaskplaneCrds, type TaskplaneAppProps } from '../constructs/index.js';
import { databaseBackup } from './jobs/database-backup.js';
import { imageScan } from './jobs/image-scan.js';
import { matrixBuild } from './jobs/matrix-build.js';
import { reportExport } from './jobs/report-export.js';

export function buildApp(props: TaskplaneAppProps = {}): TaskplaneApp {
  const app = new TaskplaneApp(props);
  new TaskplaneCrds(new Chart(app, 'taskplane'), 'crds');
  const jobs = new Chart(app, 'jobs', { namespace: 'batch', labels: { 'app.kubernetes.io/part-of': 'platform-jobs' } });
  databaseBackup(jobs);
  matrixBuild(jobs);
  reportExport(jobs);
  imageScan(jobs);
  return app;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) buildApp().synth();
