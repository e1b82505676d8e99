// Public face of the resource model: types, kinds, validation, defaults, v1 conversion, codecs.
export * from './types.js';
export * from './kinds.js';
export { validateResource, assertValidResource, ValidationError, describeResource } from './validate.js';
export type { FieldError } from './schema.js';
export * from './defaults.js';
export { convertV1, validateV1, workloadEndpointName, nameFromAddress, V1_KINDS } from './v1.js';
export { loadResources, loadDocument, toYaml, toJson } from './codec.js';
export type { LoadResult, LoadedResource, DocumentProblem } from './codec.js';
export * from './values.js';
