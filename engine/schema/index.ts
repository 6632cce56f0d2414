export * from './option.js';
export * from './template.js';
export * from './http.js';
export * from './resources.js';
export * from './cache-entry.js';
export * from './crd.js';
export * from './validate.js';
