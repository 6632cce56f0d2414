/** Printing for people (aligned tables, colours only on a terminal) and for programs (JSON, YAML). */
import { stringify } from 'yaml';
import { UsageError } from './usage.js';

export type OutputFormat = 'table' | 'json' | 'yaml';

export function outputFormat(value: string | undefined, fallback: OutputFormat = 'table'): OutputFormat {
  const format = value ?? fallback;
  if (format === 'table' || format === 'json' || format === 'yaml') return format;
  throw new UsageError(`--output ${format} is not supported; use table, json or yaml`);
}

export function serialize(value: unknown, format: 'json' | 'yaml'): string {
  return format === 'json' ? `${JSON.stringify(value, null, 2)}\n` : stringify(value);
}

const CODES = { red: 31, green: 32, yellow: 33, cyan: 36, dim: 2, bold: 1 } as const;
export type Colour = keyof typeof CODES;

export interface Painter {
  (text: string, colour: Colour): string;
}

/** Colours only when writing to a terminal and NO_COLOR is unset. */
export function painter(stream: NodeJS.WriteStream = process.stdout): Painter {
  const enabled = Boolean(stream.isTTY) && !process.env.NO_COLOR;
  return (text, colour) => (enabled ? `\u001b[${CODES[colour]}m${text}\u001b[0m` : text);
}

// eslint-disable-next-line no-control-regex
const visibleLength = (text: string) => text.replace(/\u001b\[\d+m/g, '').length;

/** Columns padded to their widest cell; the last column is not padded. */
export function table(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = header.map((h, i) => Math.max(visibleLength(h), ...rows.map((r) => visibleLength(r[i] ?? ''))));
  const line = (cells: readonly string[]) =>
    cells.map((cell, i) => (i === cells.length - 1 ? cell : cell + ' '.repeat(widths[i]! - visibleLength(cell)))).join('   ').trimEnd();
  return [line(header), ...rows.map(line)].join('\n') + '\n';
}

/** `1h2m`, `3m5s`, `12s`: kubectl's style of age. */
export function duration(ms: number): string {
  const s = Math.max(0, Math.floor(ms / 1000));
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${s % 60 ? `${s % 60}s` : ''}`;
  if (s < 86400) return `${Math.floor(s / 3600)}h${Math.floor((s % 3600) / 60) ? `${Math.floor((s % 3600) / 60)}m` : ''}`;
  return `${Math.floor(s / 86400)}d${Math.floor((s % 86400) / 3600) ? `${Math.floor((s % 86400) / 3600)}h` : ''}`;
}
