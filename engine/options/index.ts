/**
 * Job options (Furiko's OptionSpec): spec validation and evaluation of option values into the text
 * substituted for `${option.<name>}`. Pure: no cdk8s. (Typed option values for TypeScript users
 * live with the constructs, in `constructs/option.ts`.)
 */
export { validateOptionSpecs } from './validate.js';
export { evaluateOptions, defaultOptionValues, type OptionEvaluation } from './evaluate.js';
export { parseRfc3339, formatMoment, type ZonedInstant } from './date.js';
