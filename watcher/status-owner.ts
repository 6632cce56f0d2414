/**
 * The watcher owns JobRun status. What it trusts is what it wrote itself: it keeps its last write
 * per run, and a status that differs from it at another resourceVersion was written by someone else
 * (a `kubectl patch --subresource=status`, a script, another controller). Such a write is corrected
 * (the watcher plans on its own record and writes that back, replacing every field) and reported by
 * a Warning event naming the writer. After a restart the watcher has no record of its own: a status
 * whose fields another manager owns is then reported, once per run, and planned on as it is.
 */
import { isDeepStrictEqual } from 'node:util';
import type { JobRunStatus } from '../engine/schema/resources.js';
import type { KubeObject } from './kube/client.js';

type RunLike = KubeObject & { status?: JobRunStatus };

interface ManagedFieldsEntry {
  readonly manager?: string;
  readonly subresource?: string;
}

export interface ForeignWrite {
  /** The status as the watcher last wrote it; undefined when it has no record (after a restart). */
  readonly ours?: JobRunStatus;
  /** The field managers other than the watcher that own status fields. */
  readonly managers: string[];
}

export class StatusOwnership {
  private readonly written = new Map<string, { resourceVersion?: string; status: JobRunStatus }>();
  private readonly reported = new Set<string>();

  constructor(private readonly fieldManager: string) {}

  wrote(key: string, object: RunLike): void {
    this.written.set(key, { resourceVersion: object.metadata.resourceVersion, status: object.status ?? {} });
  }

  /** A new leadership term: another replica may have written since; only managedFields tell foreign writes now. */
  clear(): void {
    this.written.clear();
  }

  forget(key: string): void {
    this.written.delete(key);
    this.reported.delete(key);
  }

  /** True when `run` is a version of the run the watcher wrote itself (its own status write). */
  isOwnVersion(key: string, run: RunLike): boolean {
    return this.written.get(key)?.resourceVersion === run.metadata.resourceVersion;
  }

  /** A status someone else wrote, if `run` has one (see the file comment). */
  foreign(key: string, run: RunLike): ForeignWrite | undefined {
    const managers = this.foreignManagers(run);
    const record = this.written.get(key);
    if (record) {
      if (record.resourceVersion === run.metadata.resourceVersion || isDeepStrictEqual(record.status, run.status ?? {})) return undefined;
      return { ours: record.status, managers };
    }
    if (managers.length === 0 || this.reported.has(key)) return undefined;
    this.reported.add(key);
    return { managers };
  }

  private foreignManagers(run: RunLike): string[] {
    const entries = (run.metadata.managedFields ?? []) as ManagedFieldsEntry[];
    return [...new Set(entries.filter((e) => e.subresource === 'status' && e.manager && e.manager !== this.fieldManager).map((e) => e.manager!))];
  }
}

/** A merge patch that makes `current` exactly `next`: every member `next` lacks is removed. */
export function replacingPatch(current: JobRunStatus | undefined, next: JobRunStatus): Record<string, unknown> {
  const patch: Record<string, unknown> = { ...next };
  for (const key of Object.keys(current ?? {})) if (!(key in next)) patch[key] = null;
  return patch;
}
