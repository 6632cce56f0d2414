/**
 * xxHash64 (seed 0) of a UTF-8 string, as `cespare/xxhash` computes it for Furiko's `H`.
 * BigInt arithmetic: inputs are short hash IDs (`<ns>/<name>:<field>`), so speed does not matter.
 */
const MASK = (1n << 64n) - 1n;
const P1 = 11400714785074694791n;
const P2 = 14029467366897019727n;
const P3 = 1609587929392839161n;
const P4 = 9650029242287828579n;
const P5 = 2870177450012600261n;

const rotl = (x: bigint, r: bigint): bigint => ((x << r) | (x >> (64n - r))) & MASK;

function round(acc: bigint, lane: bigint): bigint {
  return (rotl((acc + lane * P2) & MASK, 31n) * P1) & MASK;
}

function mergeRound(acc: bigint, value: bigint): bigint {
  return ((((acc ^ round(0n, value)) * P1) & MASK) + P4) & MASK;
}

function readU64(bytes: Uint8Array, at: number): bigint {
  let v = 0n;
  for (let i = 7; i >= 0; i--) v = (v << 8n) | BigInt(bytes[at + i]!);
  return v;
}

function readU32(bytes: Uint8Array, at: number): bigint {
  return BigInt((bytes[at]! | (bytes[at + 1]! << 8) | (bytes[at + 2]! << 16) | (bytes[at + 3]! << 24)) >>> 0);
}

/** The unsigned 64-bit xxHash64 of `text` (UTF-8), seed 0. */
export function xxHash64(text: string): bigint {
  const bytes = new TextEncoder().encode(text);
  const length = bytes.length;
  let at = 0;
  let h: bigint;
  if (length >= 32) {
    let v1 = (P1 + P2) & MASK;
    let v2 = P2;
    let v3 = 0n;
    let v4 = (MASK + 1n - P1) & MASK;
    for (; at + 32 <= length; at += 32) {
      v1 = round(v1, readU64(bytes, at));
      v2 = round(v2, readU64(bytes, at + 8));
      v3 = round(v3, readU64(bytes, at + 16));
      v4 = round(v4, readU64(bytes, at + 24));
    }
    h = (rotl(v1, 1n) + rotl(v2, 7n) + rotl(v3, 12n) + rotl(v4, 18n)) & MASK;
    for (const v of [v1, v2, v3, v4]) h = mergeRound(h, v);
  } else {
    h = P5;
  }
  h = (h + BigInt(length)) & MASK;
  for (; at + 8 <= length; at += 8) h = ((rotl(h ^ round(0n, readU64(bytes, at)), 27n) * P1) & MASK) + P4 & MASK;
  if (at + 4 <= length) {
    h = ((rotl(h ^ ((readU32(bytes, at) * P1) & MASK), 23n) * P2) & MASK) + P3 & MASK;
    at += 4;
  }
  for (; at < length; at++) h = (rotl(h ^ ((BigInt(bytes[at]!) * P5) & MASK), 11n) * P1) & MASK;
  h ^= h >> 33n;
  h = (h * P2) & MASK;
  h ^= h >> 29n;
  h = (h * P3) & MASK;
  h ^= h >> 32n;
  return h;
}

/**
 * Furiko's `GetValue(min, max)`: the hash as a signed 64-bit integer, truncated modulo, made
 * non-negative, plus `min` (so `myid3` mod 16 is 13, not `uint64 % 16`).
 */
export function hashInRange(hash: bigint, min: number, max: number): number {
  const mod = BigInt(max - min + 1);
  let r = BigInt.asIntN(64, hash) % mod;
  if (r < 0n) r += mod;
  return min + Number(r);
}
