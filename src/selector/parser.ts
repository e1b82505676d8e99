/**
 * Stage two of the selector language: tokens → syntax tree, by recursive descent.
 *
 *   or      := and ("||" and)*
 *   and     := unary ("&&" unary)*
 *   unary   := "!" unary | primary
 *   primary := "(" or ")" | has(label) | all() | global()
 *            | label ("==" | "!=" | contains | starts with | ends with) string
 *            | label ("in" | "not in") "{" [string ("," string)* [","]] "}"
 *
 * So `!` binds tighter than `&&`, which binds tighter than `||`, and the empty selector is `all()`.
 * Every error names the token where the parse went wrong.
 */
import { makeAnd, makeNot, makeOr, makeSet, type SelectorNode, type ValueOperator } from './ast.js';
import { SelectorParseError } from './errors.js';
import { tokenize, type Token, type TokenKind } from './tokenizer.js';

const TOKEN_DESCRIPTION: Record<TokenKind, string> = {
  label: 'label',
  string: 'quoted string',
  lbrace: '"{"',
  rbrace: '"}"',
  comma: '","',
  eq: '"=="',
  ne: '"!="',
  in: '"in"',
  notIn: '"not in"',
  contains: '"contains"',
  startsWith: '"starts with"',
  endsWith: '"ends with"',
  not: '"!"',
  and: '"&&"',
  or: '"||"',
  lparen: '"("',
  rparen: '")"',
  has: 'has(...)',
  all: 'all()',
  global: 'global()',
  eof: 'end of selector',
};

function describe(token: Token): string {
  if (token.kind === 'label') return `label "${token.value}"`;
  if (token.kind === 'string') return `string ${JSON.stringify(token.value)}`;
  return TOKEN_DESCRIPTION[token.kind];
}

const VALUE_OPERATORS: ReadonlySet<TokenKind> = new Set<ValueOperator>([
  'eq',
  'ne',
  'contains',
  'startsWith',
  'endsWith',
]);

export function parseToNode(text: string): SelectorNode {
  const tokens = tokenize(text);
  let at = 0;
  const peek = (): Token => tokens[at] as Token; // the eof token is always last, never passed
  const next = (): Token => {
    const t = peek();
    if (t.kind !== 'eof') at++;
    return t;
  };
  const fail = (token: Token, reason: string): never => {
    throw new SelectorParseError(text, token.pos, reason);
  };
  const expect = (kind: TokenKind, context: string): Token => {
    const t = next();
    if (t.kind !== kind) fail(t, `expected ${TOKEN_DESCRIPTION[kind]} ${context}, found ${describe(t)}`);
    return t;
  };

  const parseOr = (): SelectorNode => {
    const operands = [parseAnd()];
    while (peek().kind === 'or') {
      next();
      operands.push(parseAnd());
    }
    return makeOr(operands);
  };
  const parseAnd = (): SelectorNode => {
    const operands = [parseUnary()];
    while (peek().kind === 'and') {
      next();
      operands.push(parseUnary());
    }
    return makeAnd(operands);
  };
  const parseUnary = (): SelectorNode => {
    if (peek().kind === 'not') {
      next();
      return makeNot(parseUnary());
    }
    return parsePrimary();
  };
  const parsePrimary = (): SelectorNode => {
    const t = next();
    switch (t.kind) {
      case 'lparen': {
        const inner = parseOr();
        expect('rparen', `to close the "(" at position ${t.pos}`);
        return inner;
      }
      case 'has':
        return { kind: 'has', label: t.value };
      case 'all':
        return { kind: 'all' };
      case 'global':
        return { kind: 'global' };
      case 'label':
        return parseComparison(t);
      default:
        return fail(t, `expected a label, has(...), all(), global(), "!" or "(", found ${describe(t)}`);
    }
  };
  const parseComparison = (label: Token): SelectorNode => {
    const op = next();
    if (VALUE_OPERATORS.has(op.kind)) {
      const value = next();
      if (value.kind !== 'string') {
        fail(value, `expected a quoted string after ${describe(op)}, found ${describe(value)}`);
      }
      return { kind: op.kind as ValueOperator, label: label.value, value: value.value };
    }
    if (op.kind === 'in' || op.kind === 'notIn') {
      expect('lbrace', `to open the set after ${describe(op)} (sets are written {"a", "b"})`);
      const values: string[] = [];
      while (peek().kind === 'string') {
        values.push(next().value);
        if (peek().kind !== 'comma') break;
        next();
      }
      const close = next();
      if (close.kind !== 'rbrace') {
        fail(close, `expected a quoted string, "," or "}" in the set, found ${describe(close)}`);
      }
      return makeSet(op.kind, label.value, values);
    }
    // The tokenizer only lets an operator follow a label, so this is the end of the text.
    return fail(op, `expected an operator after label "${label.value}", found ${describe(op)}`);
  };

  if (peek().kind === 'eof') return { kind: 'all' };
  const root = parseOr();
  const trailing = peek();
  if (trailing.kind !== 'eof') {
    fail(trailing, `unexpected ${describe(trailing)} after a complete expression (missing && or ||?)`);
  }
  return root;
}
