import { Duration } from 'cdk8s';
import { k8s } from 'cdk8s-plus-28';
import type { Construct } from 'constructs';
import { BoolOptionFormat, Concurrency, JobConfig, Materialization, Option, Schedule, TaskTemplate } from '../../constructs/index.js';

/** Nightly logical backup of one database to object storage: a Pod task with typed options, on a schedule. */
export function databaseBackup(scope: Construct): void {
  const backup = new JobConfig(scope, 'database-backup', {
    options: {
      database: Option.select({ values: ['orders', 'customers', 'billing'], default: 'orders', label: 'Database' }),
      full: Option.bool({ default: false, format: BoolOptionFormat.custom('--full', '--incremental') }),
      retentionDays: Option.string({ default: '14', trimSpaces: true }),
      // Scheduled runs have only defaults: no snapshot time, so the tool takes one at start.
      snapshotAt: Option.date({ format: 'YYYYMMDD-HHmm', label: 'Snapshot time' }),
    },
    maxAttempts: 3,
    retryDelay: Duration.minutes(5),
    taskTimeout: Duration.hours(2),
    // One backup at a time; a night's run that finds the previous one still going waits for it.
    concurrency: Concurrency.enqueue(1),
    // Once a night between 02:00 and 02:59 Berlin time (the minute hashed from batch/database-backup), so
    // nightly jobs do not all start at 02:00. previewFrom lists the first runs in the annotation for review.
    schedule: Schedule.cron('H 2 * * *', { timezone: 'Europe/Berlin', previewFrom: new Date('2026-11-21T00:00:00Z') }),
    task: TaskTemplate.pod({
      metadata: {
        labels: { 'app.kubernetes.io/name': 'database-backup', 'backup.example.com/database': '${option.database}' },
        annotations: { 'backup.example.com/target': 's3://backups/${option.database}/${job.name}' },
      },
      spec: {
        serviceAccountName: 'database-backup',
        containers: [
          {
            name: 'pg-dump',
            image: 'registry.example.com/tools/pg-backup:16.4',
            args: ['${option.full}', '--database=${option.database}', '--retention-days=${option.retentionDays}'],
            env: [
              { name: 'BACKUP_ID', value: '${job.name}-${task.retry_index}' },
              { name: 'PGHOST', value: '${option.database}.db.svc' },
              { name: 'PGPASSWORD', valueFrom: { secretKeyRef: { name: '${option.database}-db', key: 'password' } } },
              { name: 'SNAPSHOT_AT', value: '${option.snapshotAt}' },
              { name: 'ARCHIVE', value: '$(PGHOST)-${job.name}.dump' },
            ],
            resources: {
              requests: { cpu: k8s.Quantity.fromString('250m'), memory: k8s.Quantity.fromString('512Mi') },
              limits: { memory: k8s.Quantity.fromString('1Gi') },
            },
          },
        ],
      },
    }),
  });

  // Under the JobConfig: TaskplaneApp writes it to dist/00-setup/jobs/database-backup.k8s.yaml, applied before any run.
  new k8s.KubeServiceAccount(backup, 'service-account', { metadata: { name: 'database-backup' } });

  backup.run('2026-11-21-full', { options: { database: 'billing', full: true, snapshotAt: new Date('2026-11-21T02:00:00Z') } });
  backup.run('2026-11-22', { options: { snapshotAt: '2026-11-22T02:00:00+01:00' } });
  // A restore drill: only the JobRun is in Git. Its own policy (Enqueue, as Furiko's startPolicy; the config's
  // too, but the run keeps it whatever the config says) makes it wait for the running backup; the watcher then starts it.
  backup.run('restore-drill', {
    materialization: Materialization.DEFERRED,
    concurrencyPolicy: 'Enqueue',
    options: { database: 'customers', snapshotAt: new Date('2026-11-23T01:00:00Z') },
  });
}
