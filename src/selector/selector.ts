/**
 * The public face of a parsed selector. It hides the tree behind three questions every consumer
 * asks: does it match these labels, what is its canonical text, and what short stable id names it
 * (Felix puts the id into ipset names, `cali40s:<id>`, which the kernel caps at 31 characters).
 */
import { createHash } from 'node:crypto';
import { evaluateNode, printNode, referencedLabels, requiredValues, type SelectorNode } from './ast.js';
import { parseToNode } from './parser.js';

/** Length of `uniqueId()`: 22 base64url characters = 132 bits, and `cali40s:` + id = 30 ≤ 31. */
export const SELECTOR_ID_LENGTH = 22;

export interface Selector {
  /** True when the labels satisfy the selector. A missing label equals no value. */
  evaluate(labels: Readonly<Record<string, string>>): boolean;
  /** Same as `evaluate`, for callers holding a merged or computed view of labels. */
  evaluateLookup(get: (key: string) => string | undefined): boolean;
  /** The canonical form; parsing it gives a selector with the same meaning and the same string. */
  toString(): string;
  /** A short stable hash of the canonical form (base64url, `SELECTOR_ID_LENGTH` characters). */
  uniqueId(): string;
  /** The syntax tree, for renderers that translate a selector into something else. */
  readonly ast: SelectorNode;
  /** Label keys the selector reads. */
  labelKeys(): ReadonlySet<string>;
  /** For each label the selector cannot match without, the values allowed (see `requiredValues`). */
  requiredLabelValues(): ReadonlyMap<string, ReadonlySet<string>>;
}

type Labels = Readonly<Record<string, string>>;
type Matcher = (labels: Labels) => boolean;

const labelOf = (labels: Labels, key: string): string | undefined =>
  Object.hasOwn(labels, key) ? labels[key] : undefined;

/**
 * The tree turned into closures, one per node, each reading the label record directly: Felix
 * evaluates every rule selector against thousands of endpoints, and this skips the per-call lookup
 * closure and the dispatch on the node kind of `evaluateNode`, whose meaning it copies exactly.
 */
function compileNode(node: SelectorNode): Matcher {
  switch (node.kind) {
    case 'all':
    case 'global':
      return () => true;
    case 'has': {
      const { label } = node;
      return (l) => labelOf(l, label) !== undefined;
    }
    case 'eq': {
      const { label, value } = node;
      return (l) => labelOf(l, label) === value;
    }
    case 'ne': {
      const { label, value } = node;
      return (l) => labelOf(l, label) !== value;
    }
    case 'contains': {
      const { label, value } = node;
      return (l) => labelOf(l, label)?.includes(value) ?? false;
    }
    case 'startsWith': {
      const { label, value } = node;
      return (l) => labelOf(l, label)?.startsWith(value) ?? false;
    }
    case 'endsWith': {
      const { label, value } = node;
      return (l) => labelOf(l, label)?.endsWith(value) ?? false;
    }
    case 'in': {
      const { label, values } = node;
      return (l) => {
        const v = labelOf(l, label);
        return v !== undefined && values.includes(v);
      };
    }
    case 'notIn': {
      const { label, values } = node;
      return (l) => {
        const v = labelOf(l, label);
        return v === undefined || !values.includes(v);
      };
    }
    case 'not': {
      const operand = compileNode(node.operand);
      return (l) => !operand(l);
    }
    case 'and': {
      const operands = node.operands.map(compileNode);
      return (l) => {
        for (const o of operands) if (!o(l)) return false;
        return true;
      };
    }
    case 'or': {
      const operands = node.operands.map(compileNode);
      return (l) => {
        for (const o of operands) if (o(l)) return true;
        return false;
      };
    }
    default: {
      const unknown: never = node;
      throw new Error(`unknown selector node ${JSON.stringify(unknown)}`);
    }
  }
}

class ParsedSelector implements Selector {
  private canonical: string | undefined;
  private id: string | undefined;
  private keys: ReadonlySet<string> | undefined;
  private matcher: Matcher | undefined;

  constructor(readonly ast: SelectorNode) {}

  evaluate(labels: Labels): boolean {
    this.matcher ??= compileNode(this.ast);
    return this.matcher(labels);
  }

  evaluateLookup(get: (key: string) => string | undefined): boolean {
    return evaluateNode(this.ast, get);
  }

  toString(): string {
    this.canonical ??= printNode(this.ast);
    return this.canonical;
  }

  uniqueId(): string {
    this.id ??= selectorIdOf(this.toString());
    return this.id;
  }

  labelKeys(): ReadonlySet<string> {
    this.keys ??= referencedLabels(this.ast);
    return this.keys;
  }

  requiredLabelValues(): ReadonlyMap<string, ReadonlySet<string>> {
    return requiredValues(this.ast);
  }
}

function selectorIdOf(canonical: string): string {
  return createHash('sha256').update(canonical).digest('base64url').slice(0, SELECTOR_ID_LENGTH);
}

/** Parses selector text; throws `SelectorParseError` (quoting the text, naming the position). */
export function parseSelector(text: string): Selector {
  return new ParsedSelector(parseToNode(text));
}

/** The canonical form of selector text; throws `SelectorParseError` like `parseSelector`. */
export function canonicalSelector(text: string): string {
  return parseSelector(text).toString();
}
