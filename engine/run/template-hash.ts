/** Detects an edit of a started run's template (runs are immutable records, DESIGN §5). */
import { shortHash } from '../names.js';

/** 100 bits of SHA-256 over the template as JSON with sorted keys (key order in Git must not matter). */
export function templateHash(template: unknown): string {
  return shortHash(stableJson(template), 20);
}

export function stableJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(stableJson).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value).filter(([, v]) => v !== undefined).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${stableJson(v)}`).join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}
