export * from './concurrency.js';
export * from './job-config.js';
export * from './job-run.js';
export * from './option.js';
export * from './parallelism.js';
export * from './task-template.js';
export * from './taskplane-app.js';
export * from './taskplane-crds.js';
