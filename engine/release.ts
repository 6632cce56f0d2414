/**
 * What a taskplane release publishes besides the npm package: the watcher image, tagged with the
 * package's version (docs/install.md, "The image"). `npm run image` names its output this way, and
 * `WatcherInstall` uses it when no `image` is given.
 */
import { readFileSync } from 'node:fs';

/** The registry and repository releases push the watcher image to. */
export const WATCHER_IMAGE_REPOSITORY = 'ghcr.io/taskplane/watcher';

/** This package's version, from its package.json (engine/ in the repository, lib/engine/ in the package). */
export function packageVersion(): string {
  const path = import.meta.url.endsWith('/lib/engine/release.js') ? '../../package.json' : '../package.json';
  return (JSON.parse(readFileSync(new URL(path, import.meta.url), 'utf8')) as { version: string }).version;
}

/** The watcher image released with this version of the package, e.g. `ghcr.io/taskplane/watcher:0.1.0`. */
export const releasedWatcherImage = (): string => `${WATCHER_IMAGE_REPOSITORY}:${packageVersion()}`;
