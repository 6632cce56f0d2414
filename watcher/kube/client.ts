/**
 * A small Kubernetes REST client over client-node's KubeConfig (auth, TLS): the watcher needs a few
 * verbs on arbitrary kinds, precise errors (status, reason) and a count of every request it makes.
 */
import { Agent as HttpsAgent, request as httpsRequest, type RequestOptions } from 'node:https';
import { request as httpRequest } from 'node:http';
import type { KubeConfig } from '@kubernetes/client-node';

export interface KubeObject {
  apiVersion: string;
  kind: string;
  metadata: {
    name: string;
    namespace?: string;
    uid?: string;
    resourceVersion?: string;
    generation?: number;
    creationTimestamp?: string;
    deletionTimestamp?: string;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
    ownerReferences?: OwnerReference[];
    [key: string]: unknown;
  };
  [key: string]: unknown;
}

export interface OwnerReference {
  apiVersion: string;
  kind: string;
  name: string;
  uid: string;
  controller?: boolean;
  blockOwnerDeletion?: boolean;
}

export interface ObjectList<T> {
  metadata: { resourceVersion: string; continue?: string };
  items: T[];
}

/** An error answer of the API server (or the network), with what a caller decides on. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly reason: string,
    message: string,
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

export const isNotFound = (e: unknown) => e instanceof ApiError && e.status === 404;
export const isAlreadyExists = (e: unknown) => e instanceof ApiError && e.status === 409 && e.reason === 'AlreadyExists';
export const isConflict = (e: unknown) => e instanceof ApiError && e.status === 409 && e.reason !== 'AlreadyExists';
/** An answer about the object itself (forbidden, invalid, its namespace gone): sending it again cannot help. */
export const isRefused = (e: unknown) => e instanceof ApiError && e.status >= 400 && e.status < 500 && ![408, 409, 429].includes(e.status);

export interface RequestObserver {
  (verb: string, resource: string, status: number): void;
}

interface RequestInit {
  readonly body?: unknown;
  readonly contentType?: string;
  readonly query?: Record<string, string | number | boolean | undefined>;
  /** Aborting destroys the request: a write the watcher no longer may make (it lost the Lease) is never sent late. */
  readonly signal?: AbortSignal;
}

export const PATCH = {
  merge: 'application/merge-patch+json',
  apply: 'application/apply-patch+yaml',
} as const;

interface Resource {
  readonly plural: string;
  readonly namespaced: boolean;
}

export class KubeClient {
  private readonly discovery = new Map<string, Promise<Map<string, Resource>>>();
  /**
   * One keep-alive agent for every request: client-node builds a new agent per call, so each request
   * paid a TLS handshake (45% of the watcher's CPU under load). The pool is keyed by each request's
   * TLS options (CA, client certificate), which the kubeconfig still sets per request.
   */
  private readonly agent = new HttpsAgent({ keepAlive: true });

  constructor(
    readonly config: KubeConfig,
    readonly fieldManager: string,
    private readonly observe: RequestObserver = () => {},
  ) {}

  /** The REST path of a kind's collection, or of one object (and subresource). */
  async path(apiVersion: string, kind: string, namespace?: string, name?: string, subresource?: string): Promise<string> {
    const resource = await this.resource(apiVersion, kind);
    const base = apiVersion.includes('/') ? `/apis/${apiVersion}` : `/api/${apiVersion}`;
    let path = base;
    if (resource.namespaced && namespace) path += `/namespaces/${encodeURIComponent(namespace)}`;
    path += `/${resource.plural}`;
    if (name) path += `/${encodeURIComponent(name)}`;
    if (subresource) path += `/${subresource}`;
    return path;
  }

  /** The kind's plural resource name and scope (discovery, cached). */
  async resource(apiVersion: string, kind: string): Promise<Resource> {
    let resources = this.discovery.get(apiVersion);
    if (!resources) {
      const base = apiVersion.includes('/') ? `/apis/${apiVersion}` : `/api/${apiVersion}`;
      resources = this.request<{ resources: { name: string; kind: string; namespaced: boolean }[] }>('GET', base).then(
        (list) => new Map(list.resources.filter((r) => !r.name.includes('/')).map((r) => [r.kind, { plural: r.name, namespaced: r.namespaced }])),
      );
      this.discovery.set(apiVersion, resources);
      // A failed discovery (CRD not installed yet) must be retried later, not cached.
      resources.catch(() => this.discovery.delete(apiVersion));
    }
    const resource = (await resources).get(kind);
    if (!resource) {
      // The listing may predate the kind's CRD: look again next time.
      this.discovery.delete(apiVersion);
      throw new ApiError(404, 'NotFound', `the server has no ${kind} in ${apiVersion} (is its CRD installed?)`);
    }
    return resource;
  }

  async get<T extends KubeObject>(apiVersion: string, kind: string, namespace: string | undefined, name: string): Promise<T> {
    return this.request('GET', await this.path(apiVersion, kind, namespace, name));
  }

  /** Items of a list carry no apiVersion and kind on the wire; they are filled in here. */
  async list<T extends KubeObject>(apiVersion: string, kind: string, query: RequestInit['query'] = {}, namespace?: string): Promise<ObjectList<T>> {
    const list = await this.request<ObjectList<T>>('GET', await this.path(apiVersion, kind, namespace), { query });
    return { ...list, items: list.items.map((item) => ({ ...item, apiVersion, kind })) };
  }

  async create<T extends KubeObject>(object: KubeObject, signal?: AbortSignal): Promise<T> {
    const path = await this.path(object.apiVersion, object.kind, object.metadata.namespace);
    return this.request('POST', path, { body: object, query: { fieldManager: this.fieldManager }, signal });
  }

  /** PUT: replaces the object; its resourceVersion makes it a compare-and-swap. */
  async replace<T extends KubeObject>(object: KubeObject): Promise<T> {
    const path = await this.path(object.apiVersion, object.kind, object.metadata.namespace, object.metadata.name);
    return this.request('PUT', path, { body: object, query: { fieldManager: this.fieldManager } });
  }

  async mergePatch<T extends KubeObject>(object: Pick<KubeObject, 'apiVersion' | 'kind' | 'metadata'>, patch: unknown, subresource?: string, signal?: AbortSignal): Promise<T> {
    const path = await this.path(object.apiVersion, object.kind, object.metadata.namespace, object.metadata.name, subresource);
    return this.request('PATCH', path, { body: patch, contentType: PATCH.merge, query: { fieldManager: this.fieldManager }, signal });
  }

  /**
   * Server-side apply of the fields this manager owns (e.g. a status through the status subresource).
   * Forced by default: the watcher is the only writer of what it applies. A `metadata.resourceVersion`
   * in `object` is a precondition: the API server answers 409 Conflict if the object has moved on.
   */
  async apply<T extends KubeObject>(object: KubeObject, subresource?: string, { force = true, dryRun = false, signal }: { force?: boolean; dryRun?: boolean; signal?: AbortSignal } = {}): Promise<T> {
    const path = await this.path(object.apiVersion, object.kind, object.metadata.namespace, object.metadata.name, subresource);
    const query = { fieldManager: this.fieldManager, force, ...(dryRun && { dryRun: 'All' }) };
    return this.request('PATCH', path, { body: object, contentType: PATCH.apply, query, signal });
  }

  /** Whether a kind is namespaced (discovery, cached). */
  async namespaced(apiVersion: string, kind: string): Promise<boolean> {
    return (await this.resource(apiVersion, kind)).namespaced;
  }

  async delete(object: Pick<KubeObject, 'apiVersion' | 'kind' | 'metadata'>, preconditionUid?: string, signal?: AbortSignal): Promise<void> {
    const path = await this.path(object.apiVersion, object.kind, object.metadata.namespace, object.metadata.name);
    const body = { apiVersion: 'v1', kind: 'DeleteOptions', propagationPolicy: 'Background', ...(preconditionUid && { preconditions: { uid: preconditionUid } }) };
    await this.request('DELETE', path, { body, signal });
  }

  /** One HTTP request; JSON in and out; a non-2xx answer becomes an ApiError. */
  async request<T>(method: string, path: string, init: RequestInit = {}): Promise<T> {
    const cluster = this.config.getCurrentCluster();
    if (!cluster) throw new ApiError(0, 'NoCluster', 'the kubeconfig has no current cluster');
    const url = new URL(cluster.server);
    url.pathname = url.pathname.replace(/\/$/, '') + path;
    for (const [key, value] of Object.entries(init.query ?? {})) if (value !== undefined) url.searchParams.set(key, String(value));
    const body = init.body === undefined ? undefined : JSON.stringify(init.body);
    const options: RequestOptions = {
      method,
      hostname: url.hostname,
      port: url.port,
      path: url.pathname + url.search,
      headers: {
        Accept: 'application/json',
        ...(body !== undefined && { 'Content-Type': init.contentType ?? 'application/json', 'Content-Length': Buffer.byteLength(body) }),
      },
    };
    await this.config.applyToHTTPSOptions(options);
    if (url.protocol === 'https:') options.agent = this.agent;
    const resource = resourceOf(path);
    const { signal } = init;
    signal?.throwIfAborted();
    let abort = () => {};
    const pending = new Promise<T>((resolve, reject) => {
      const send = url.protocol === 'http:' ? httpRequest : httpsRequest;
      const req = send(options, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () => {
          const status = res.statusCode ?? 0;
          this.observe(method, resource, status);
          const text = Buffer.concat(chunks).toString('utf8');
          if (status >= 200 && status < 300) return resolve(parseBody(text) as T);
          let reason = 'Unknown';
          let message = text;
          try {
            const parsed = JSON.parse(text) as { reason?: string; message?: string };
            reason = parsed.reason ?? reason;
            message = parsed.message ?? message;
          } catch {
            // Not a Status object; keep the raw text.
          }
          reject(new ApiError(status, reason, `${method} ${path}: ${status} ${message}`));
        });
        res.on('error', (error) => reject(new ApiError(0, 'NetworkError', `${method} ${path}: ${error.message}`)));
      });
      req.setTimeout(30_000, () => req.destroy(new Error('request timed out after 30 s')));
      abort = () => req.destroy();
      signal?.addEventListener('abort', abort, { once: true });
      req.on('error', (error) => {
        if (signal?.aborted) return reject(signal.reason);
        this.observe(method, resource, 0);
        reject(new ApiError(0, 'NetworkError', `${method} ${path}: ${error.message}`));
      });
      if (body !== undefined) req.write(body);
      req.end();
    });
    // One signal serves a whole leadership term: each request takes its listener with it.
    return signal ? pending.finally(() => signal.removeEventListener('abort', abort)) : pending;
  }
}

/** JSON answers parsed; health endpoints answer plain text (`ok`). */
function parseBody(text: string): unknown {
  if (!text) return undefined;
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

/** `pods` for `/api/v1/namespaces/ns/pods/name/status`: the metrics label of a request. */
function resourceOf(path: string): string {
  const segments = path.split('/').filter(Boolean);
  let rest = segments.slice(segments[0] === 'api' ? 2 : 3);
  if (rest[0] === 'namespaces' && rest.length > 2) rest = rest.slice(2);
  return rest[0] ?? 'discovery';
}
