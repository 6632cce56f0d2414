/** Health checks for GitOps engines: Argo CD Lua scripts and Flux healthCheckExprs (docs/gitops.md). */
export * from './argocd.js';
export * from './flux.js';
