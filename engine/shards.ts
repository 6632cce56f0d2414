/**
 * Which shard owns what. The unit is the JobConfig: its shard is a stable hash of
 * `<namespace>/<config>`, so every run of a config, and the config's status, concurrency and
 * schedule, are decided by one owner. Each shard is held through its own Lease.
 */

/** FNV-1a, 32 bits, over UTF-8: stable across processes, versions and platforms. */
export function fnv1a32(text: string): number {
  let hash = 0x811c9dc5;
  for (const byte of new TextEncoder().encode(text)) hash = Math.imul(hash ^ byte, 0x01000193) >>> 0;
  return hash;
}

/** The shard owning a JobConfig (and all its runs). */
export function shardOf(namespace: string | undefined, config: string, shards: number): number {
  return shards === 1 ? 0 : fnv1a32(`${namespace ?? ''}/${config}`) % shards;
}

/** One shard: the Lease `--lease-name` itself, or `<lease-name>-shard-<i>` when there are several. */
export function shardLeaseName(leaseName: string, shard: number, shards: number): string {
  return shards === 1 ? leaseName : `${leaseName}-shard-${shard}`;
}
