/**
 * Task object names: `<run>-<index>-<attempt>`, readable and collision-free.
 *
 * `<index>` is the index number, the key, or the matrix values in key order, when those are already
 * clean DNS slugs. Otherwise (characters changed, ambiguous dashes in matrix values, or too long) it is
 * `<slug>--<hash>`: clean parts never contain `--`, so a hashed part can never equal a clean one, and
 * hashed parts differ by a 50-bit hash of the canonical index (10 base32 characters, kept whole at
 * every run name length).
 */
import { createHash } from 'node:crypto';
import { canonicalIndexJson, type ParallelIndex } from './indexes.js';

export const MAX_NAME_LENGTH = 63;
/**
 * Leaves room for `-<index>-<attempt>` with a hashed index part in every name of the run:
 * 63 - 1 (`-`) - 1 (a stem character) - 2 (`--`) - 10 (hash) - 3 (`-` and two attempt digits).
 */
export const MAX_RUN_NAME_LENGTH = 46;
/** 50 bits: 10,000 hashed indexes in one run clash with odds of about 1 in 20 million (and synth checks). */
const HASH_LENGTH = 10;
/** `-` + up to two attempt digits (maxAttempts <= 50). */
const ATTEMPT_SUFFIX_BUDGET = 3;

export const DNS_LABEL_PATTERN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

/** Lowercase letters and digits; every other run of characters becomes one `-`. */
export function slugify(text: string): string {
  return text.toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-+|-+$/g, '');
}

const BASE32 = 'abcdefghijklmnopqrstuvwxyz234567';

/** Lowercase RFC 4648 base32 of the SHA-256 of `text`, first `length` characters. */
export function shortHash(text: string, length = HASH_LENGTH): string {
  const digest = createHash('sha256').update(text).digest();
  let out = '';
  let bits = 0;
  let buffer = 0;
  for (const byte of digest) {
    buffer = (buffer << 8) | byte;
    bits += 8;
    while (bits >= 5 && out.length < length) {
      out += BASE32[(buffer >>> (bits - 5)) & 31];
      bits -= 5;
    }
    if (out.length >= length) break;
  }
  return out;
}

function readablePart(index: ParallelIndex): { slug: string; clean: boolean } {
  if (index.matrixValues) {
    const values = Object.keys(index.matrixValues).sort().map((k) => index.matrixValues![k]!);
    const clean = values.every((v) => v !== '' && slugify(v) === v && !v.includes('-'));
    return { slug: slugify(values.join('-')), clean };
  }
  if (index.indexKey !== undefined) {
    const slug = slugify(index.indexKey);
    return { slug, clean: slug === index.indexKey && !slug.includes('--') };
  }
  return { slug: String(index.indexNumber ?? 0), clean: true };
}

/** The index as it appears in task names and the `taskplane.dev/task-index` label. */
export function indexNamePart(runName: string, index: ParallelIndex): string {
  const budget = MAX_NAME_LENGTH - runName.length - 1 - ATTEMPT_SUFFIX_BUDGET;
  const { slug, clean } = readablePart(index);
  if (clean && slug.length <= budget) return slug;
  // The part is also a label value, which must start with a letter or digit: keep a stem of at least
  // one character. MAX_RUN_NAME_LENGTH leaves room for that, `--` and the full hash.
  const room = Math.max(1, budget - HASH_LENGTH - 2);
  const kept = slug.slice(0, room).replace(/-+$/, '');
  return `${kept || 'idx'.slice(0, room)}--${shortHash(canonicalIndexJson(index))}`;
}

export function taskName(runName: string, index: ParallelIndex, retryIndex: number): string {
  return `${runName}-${indexNamePart(runName, index)}-${retryIndex}`;
}
