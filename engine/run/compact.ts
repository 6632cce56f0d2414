/** Drops undefined members, so statuses compare equal however they were built and serialize the same. */
export function compact<T extends object>(value: T): T {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as T;
}
