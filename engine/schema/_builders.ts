/**
 * Small builders over TypeBox so that one schema definition serves three uses: the TypeScript
 * types (`Static<>`), ajv validation, and the CRDs' structural openAPIV3Schema (see `crd-schema.ts`).
 * Only the JSON Schema shapes that `toStructuralSchema` can translate are produced here.
 */
import Type, { type TProperties, type TSchema, type TUnsafe } from 'typebox';

/** A string restricted to a fixed set of values; the TypeScript type is the union of the values. */
export function StringEnum<const V extends readonly string[]>(
  values: V,
  options: { description?: string; default?: V[number] } = {},
): TUnsafe<V[number]> {
  return Type.Unsafe<V[number]>({ type: 'string', enum: [...values], ...options });
}

/** An object whose fields are not described here (a Kubernetes PodSpec, an arbitrary manifest...). */
export function OpaqueObject(description: string): TUnsafe<Record<string, unknown>> {
  return Type.Unsafe<Record<string, unknown>>({
    type: 'object',
    description,
    'x-kubernetes-preserve-unknown-fields': true,
  });
}

/** A map of string to `value`, rendered as `additionalProperties` in the CRD. */
export function StringMap<T extends TSchema>(value: T, description?: string) {
  return Type.Record(Type.String(), value, description ? { description } : {});
}

/** An RFC 3339 timestamp, as Kubernetes `metav1.Time` serializes it. */
export function Timestamp(description: string) {
  return Type.String({ format: 'date-time', description });
}

/** An object with exactly these fields: a misspelt field is an error, not silently ignored. */
export function StrictObject<P extends TProperties>(properties: P, options: { description?: string } = {}) {
  return Type.Object(properties, { ...options, additionalProperties: false });
}
