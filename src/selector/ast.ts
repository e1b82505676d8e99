/**
 * Stage three of the selector language: the syntax tree, what it means (evaluation) and how it is
 * written back (the canonical form).
 *
 * Why a canonical form matters: Felix names ipsets after a hash of the selector, so two spellings
 * of the same selector (`a=='x'` and `a == "x"`) must print identically or they would get two
 * ipsets. The printer therefore normalises everything that does not change meaning: spacing,
 * quotes (double unless the value holds a double quote), set order and duplicates, operator
 * spelling (`starts with`), and parentheses (only where precedence needs them). The tree is built
 * already flattened (`a && (b && c)` is one `and` of three) and with double negations removed, so
 * parsing the printed form gives back the same tree and the same text.
 */

export type ValueOperator = 'eq' | 'ne' | 'contains' | 'startsWith' | 'endsWith';
export type SetOperator = 'in' | 'notIn';

export type SelectorNode =
  | { readonly kind: 'all' }
  | { readonly kind: 'global' }
  | { readonly kind: 'has'; readonly label: string }
  | { readonly kind: ValueOperator; readonly label: string; readonly value: string }
  /** `values` is sorted and de-duplicated. */
  | { readonly kind: SetOperator; readonly label: string; readonly values: readonly string[] }
  | { readonly kind: 'not'; readonly operand: SelectorNode }
  /** Two or more operands, none of them itself an `and`. */
  | { readonly kind: 'and'; readonly operands: readonly SelectorNode[] }
  /** Two or more operands, none of them itself an `or`. */
  | { readonly kind: 'or'; readonly operands: readonly SelectorNode[] };

export function makeNot(operand: SelectorNode): SelectorNode {
  // `!!x` means `x`; folding it keeps the canonical form a fixed point (Calico folds it too).
  return operand.kind === 'not' ? operand.operand : { kind: 'not', operand };
}

export function makeAnd(operands: readonly SelectorNode[]): SelectorNode {
  const flat = operands.flatMap((o) => (o.kind === 'and' ? o.operands : [o]));
  return flat.length === 1 ? (flat[0] as SelectorNode) : { kind: 'and', operands: flat };
}

export function makeOr(operands: readonly SelectorNode[]): SelectorNode {
  const flat = operands.flatMap((o) => (o.kind === 'or' ? o.operands : [o]));
  return flat.length === 1 ? (flat[0] as SelectorNode) : { kind: 'or', operands: flat };
}

export function makeSet(kind: SetOperator, label: string, values: readonly string[]): SelectorNode {
  const sorted = [...new Set(values)].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  return { kind, label, values: sorted };
}

/**
 * Labels are looked up, never iterated, so a caller can pass a merged view (an endpoint's own
 * labels over its profiles') without building a new object for every evaluation.
 */
export type LabelLookup = (key: string) => string | undefined;

export function evaluateNode(node: SelectorNode, get: LabelLookup): boolean {
  switch (node.kind) {
    // `global()` only has meaning in a rule's namespaceSelector (non-namespaced endpoints); the
    // policy model handles that. As a plain label match it matches everything, as in Calico.
    case 'all':
    case 'global':
      return true;
    case 'has':
      return get(node.label) !== undefined;
    case 'eq':
      return get(node.label) === node.value;
    case 'ne':
      // A missing label is not equal to any value, so `k != "v"` matches a set without `k`.
      return get(node.label) !== node.value;
    case 'contains': {
      const v = get(node.label);
      return v !== undefined && v.includes(node.value);
    }
    case 'startsWith': {
      const v = get(node.label);
      return v !== undefined && v.startsWith(node.value);
    }
    case 'endsWith': {
      const v = get(node.label);
      return v !== undefined && v.endsWith(node.value);
    }
    case 'in': {
      const v = get(node.label);
      return v !== undefined && node.values.includes(v);
    }
    case 'notIn': {
      const v = get(node.label);
      return v === undefined || !node.values.includes(v);
    }
    case 'not':
      return !evaluateNode(node.operand, get);
    case 'and':
      return node.operands.every((o) => evaluateNode(o, get));
    case 'or':
      return node.operands.some((o) => evaluateNode(o, get));
    default: {
      const unknown: never = node;
      throw new Error(`unknown selector node ${JSON.stringify(unknown)}`);
    }
  }
}

function quote(value: string): string {
  return value.includes('"') ? `'${value}'` : `"${value}"`;
}

const VALUE_OPERATOR_TEXT: Record<ValueOperator, string> = {
  eq: '==',
  ne: '!=',
  contains: 'contains',
  startsWith: 'starts with',
  endsWith: 'ends with',
};

/** Binding strength: a child binding looser than its parent needs parentheses. */
function precedence(node: SelectorNode): number {
  return node.kind === 'or' ? 1 : node.kind === 'and' ? 2 : 3;
}

function printChild(child: SelectorNode, parentPrecedence: number): string {
  const text = printNode(child);
  return precedence(child) < parentPrecedence ? `(${text})` : text;
}

export function printNode(node: SelectorNode): string {
  switch (node.kind) {
    case 'all':
      return 'all()';
    case 'global':
      return 'global()';
    case 'has':
      return `has(${node.label})`;
    case 'eq':
    case 'ne':
    case 'contains':
    case 'startsWith':
    case 'endsWith':
      return `${node.label} ${VALUE_OPERATOR_TEXT[node.kind]} ${quote(node.value)}`;
    case 'in':
    case 'notIn':
      return `${node.label} ${node.kind === 'in' ? 'in' : 'not in'} {${node.values.map(quote).join(', ')}}`;
    case 'not':
      return `!${printChild(node.operand, 3)}`;
    case 'and':
      return node.operands.map((o) => printChild(o, 2)).join(' && ');
    case 'or':
      return node.operands.map((o) => printChild(o, 1)).join(' || ');
    default: {
      const unknown: never = node;
      throw new Error(`unknown selector node ${JSON.stringify(unknown)}`);
    }
  }
}

/** Every label key the selector reads: a label change elsewhere cannot change its result. */
export function referencedLabels(node: SelectorNode, into: Set<string> = new Set()): Set<string> {
  switch (node.kind) {
    case 'all':
    case 'global':
      break;
    case 'not':
      referencedLabels(node.operand, into);
      break;
    case 'and':
    case 'or':
      for (const o of node.operands) referencedLabels(o, into);
      break;
    default:
      into.add(node.label);
  }
  return into;
}

/**
 * For each label the selector cannot match without, the values it must have (`a == "x"` needs
 * `a` ∈ {x}). The label index files a selector under one of these so an endpoint only meets the
 * selectors that could possibly match it. An empty set means the selector can never match.
 */
export function requiredValues(node: SelectorNode): Map<string, ReadonlySet<string>> {
  switch (node.kind) {
    case 'eq':
      return new Map([[node.label, new Set([node.value])]]);
    case 'in':
      return new Map([[node.label, new Set(node.values)]]);
    case 'and': {
      const out = new Map<string, ReadonlySet<string>>();
      for (const operand of node.operands) {
        for (const [label, values] of requiredValues(operand)) {
          const prior = out.get(label);
          out.set(label, prior === undefined ? values : new Set([...prior].filter((v) => values.has(v))));
        }
      }
      return out;
    }
    case 'or': {
      const [first, ...rest] = node.operands.map(requiredValues);
      const out = new Map<string, ReadonlySet<string>>();
      if (first === undefined) return out;
      for (const [label, values] of first) {
        const union = new Set(values);
        let everywhere = true;
        for (const other of rest) {
          const more = other.get(label);
          if (more === undefined) {
            everywhere = false;
            break;
          }
          for (const v of more) union.add(v);
        }
        if (everywhere) out.set(label, union);
      }
      return out;
    }
    default:
      return new Map();
  }
}
