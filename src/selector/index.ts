// Public face of the selector language and the label index (issue 4).
export { parseSelector, canonicalSelector, SELECTOR_ID_LENGTH, type Selector } from './selector.js';
export { SelectorParseError } from './errors.js';
export type { SelectorNode, ValueOperator, SetOperator } from './ast.js';
export { validateLabelKey, validateLabelValue, validateLabels } from './labels.js';
export { LabelIndex, type MatchEvent, type MatchListener } from './labelindex.js';
export { evaluateNode as evaluateSelectorNode, type LabelLookup } from './ast.js';
