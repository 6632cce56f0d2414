import type { Construct } from 'constructs';
import { formatFieldError, type FieldError } from '../engine/errors.js';

/** Reports engine FieldErrors through cdk8s validation, so `synth` lists every one with its construct path. */
export function addFieldValidation(scope: Construct, errors: () => readonly FieldError[]): void {
  scope.node.addValidation({ validate: () => errors().map(formatFieldError) });
}
