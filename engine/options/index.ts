/**
 * Job options (Furiko's OptionSpec): spec validation, evaluation of option values into the text
 * substituted for `${option.<name>}`,. (The typed option values of the public API live with the constructs: `constructs/option.ts`.) Pure: no cdk8s.
 */
export { validateOptionSpecs } from './validate.js';
export { evaluateOptions, defaultOptionValues, type OptionEvaluation } from './evaluate.js';
export { parseRfc3339, formatMoment, type ZonedInstant } from './date.js';
