/** Test helpers: synthesize an app into a temporary directory and read back what was written. */
import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { parseAllDocuments } from 'yaml';
import type { App } from 'cdk8s';

export function tempOutdir(): string {
  return mkdtempSync(join(tmpdir(), 'taskplane-synth-'));
}

/** Every file under `dir`, by relative path, sorted. */
export function readTree(dir: string): Map<string, string> {
  const files = new Map<string, string>();
  const walk = (d: string) => {
    for (const entry of readdirSync(d, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
      const path = join(d, entry.name);
      if (entry.isDirectory()) walk(path);
      else files.set(relative(dir, path), readFileSync(path, 'utf8'));
    }
  };
  walk(dir);
  return files;
}

export function parseDocuments(text: string): any[] {
  return parseAllDocuments(text).map((d) => d.toJS());
}

export function synthToTree(app: App): Map<string, string> {
  app.synth();
  return readTree(app.outdir);
}

/** The message of a synth that must fail ('synth succeeded' when it did not). */
export function synthFailure(app: App): string {
  try {
    app.synth();
  } catch (error) {
    return (error as Error).message;
  }
  return 'synth succeeded';
}
