/**
 * Stage one of the selector language: text → tokens, each carrying the offset where it starts.
 *
 * Why a separate stage with positions: the parser's errors must point at the exact character a
 * user got wrong (`'FOO` unterminated at 0, `a b` missing an operator at 2), and that is only
 * possible if every token remembers where it came from.
 *
 * The grammar is context sensitive in one place, as Calico's is: right after a label the words
 * `in`, `not in`, `contains`, `starts with`/`startswith` and `ends with`/`endswith` are operators;
 * anywhere else a word made of label characters is a label. So `in == "x"` is a label named `in`.
 */
import { SelectorParseError } from './errors.js';

export type TokenKind =
  | 'label'
  | 'string'
  | 'lbrace'
  | 'rbrace'
  | 'comma'
  | 'eq'
  | 'ne'
  | 'in'
  | 'notIn'
  | 'contains'
  | 'startsWith'
  | 'endsWith'
  | 'not'
  | 'and'
  | 'or'
  | 'lparen'
  | 'rparen'
  | 'has'
  | 'all'
  | 'global'
  | 'eof';

export interface Token {
  readonly kind: TokenKind;
  /** Offset (0-based, in UTF-16 code units) of the token's first character in the selector text. */
  readonly pos: number;
  /** The label name for `label` and `has`, the unquoted value for `string`; empty otherwise. */
  readonly value: string;
}

const WHITESPACE = new Set([' ', '\t', '\n', '\r']);

/** Characters Calico's tokenizer accepts in a label name inside a selector. */
function isLabelChar(c: string | undefined): boolean {
  if (c === undefined) return false;
  return /[A-Za-z0-9_./-]/.test(c);
}

/** The operator words accepted right after a label, longest spellings first. */
const OPERATOR_WORDS: ReadonlyArray<{ words: readonly string[]; kind: TokenKind }> = [
  { words: ['not', 'in'], kind: 'notIn' },
  { words: ['in'], kind: 'in' },
  { words: ['contains'], kind: 'contains' },
  { words: ['starts', 'with'], kind: 'startsWith' },
  { words: ['startswith'], kind: 'startsWith' },
  { words: ['ends', 'with'], kind: 'endsWith' },
  { words: ['endswith'], kind: 'endsWith' },
];

const FUNCTION_WORDS: ReadonlyArray<{ word: string; kind: 'has' | 'all' | 'global' }> = [
  { word: 'has', kind: 'has' },
  { word: 'all', kind: 'all' },
  { word: 'global', kind: 'global' },
];

export function tokenize(text: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  const fail = (pos: number, reason: string): never => {
    throw new SelectorParseError(text, pos, reason);
  };
  const skipSpace = (from: number): number => {
    let j = from;
    while (j < text.length && WHITESPACE.has(text[j] as string)) j++;
    return j;
  };
  const readWord = (from: number): string => {
    let j = from;
    while (isLabelChar(text[j])) j++;
    return text.slice(from, j);
  };
  /** Matches a sequence of words separated by optional whitespace, each ending on a word boundary. */
  const matchWords = (from: number, words: readonly string[]): number | undefined => {
    let j = from;
    for (const [n, w] of words.entries()) {
      if (n > 0) j = skipSpace(j);
      if (!text.startsWith(w, j) || isLabelChar(text[j + w.length])) return undefined;
      j += w.length;
    }
    return j;
  };

  while (true) {
    i = skipSpace(i);
    if (i >= text.length) {
      tokens.push({ kind: 'eof', pos: i, value: '' });
      return tokens;
    }
    const c = text[i] as string;
    const start = i;
    const simple = (kind: TokenKind, length: number): void => {
      tokens.push({ kind, pos: start, value: '' });
      i += length;
    };
    switch (c) {
      case '(':
        simple('lparen', 1);
        continue;
      case ')':
        simple('rparen', 1);
        continue;
      case '{':
        simple('lbrace', 1);
        continue;
      case '}':
        simple('rbrace', 1);
        continue;
      case ',':
        simple('comma', 1);
        continue;
      case '"':
      case "'": {
        const end = text.indexOf(c, i + 1);
        if (end === -1) fail(start, `unterminated string: no closing ${c} for the quote opened here`);
        tokens.push({ kind: 'string', pos: start, value: text.slice(i + 1, end) });
        i = end + 1;
        continue;
      }
      case '=':
        if (text[i + 1] !== '=') fail(start, 'expected "==" (a single "=" is not an operator)');
        simple('eq', 2);
        continue;
      case '!':
        if (text[i + 1] === '=') simple('ne', 2);
        else simple('not', 1);
        continue;
      case '&':
        if (text[i + 1] !== '&') fail(start, 'expected "&&" (a single "&" is not an operator)');
        simple('and', 2);
        continue;
      case '|':
        if (text[i + 1] !== '|') fail(start, 'expected "||" (a single "|" is not an operator)');
        simple('or', 2);
        continue;
    }

    const previous = tokens[tokens.length - 1];
    if (previous?.kind === 'label') {
      const op = OPERATOR_WORDS.map((o) => ({ kind: o.kind, end: matchWords(i, o.words) })).find(
        (o) => o.end !== undefined,
      );
      if (op === undefined || op.end === undefined) {
        fail(
          start,
          `expected an operator (==, !=, in, not in, contains, starts with, ends with) after label "${previous.value}"`,
        );
        return tokens; // unreachable: fail throws
      }
      tokens.push({ kind: op.kind, pos: start, value: '' });
      i = op.end;
      continue;
    }

    const fn = FUNCTION_WORDS.find((f) => matchWords(i, [f.word]) !== undefined);
    if (fn !== undefined) {
      const open = skipSpace(i + fn.word.length);
      if (text[open] === '(') {
        let j = skipSpace(open + 1);
        let label = '';
        if (fn.kind === 'has') {
          label = readWord(j);
          if (label === '') fail(j, 'expected a label name inside has(...)');
          j = skipSpace(j + label.length);
        }
        if (text[j] !== ')') fail(j, `expected ")" to close ${fn.word}(`);
        tokens.push({ kind: fn.kind, pos: start, value: label });
        i = j + 1;
        continue;
      }
    }

    const word = readWord(i);
    if (word === '') fail(start, `unexpected character ${JSON.stringify(c)}`);
    tokens.push({ kind: 'label', pos: start, value: word });
    i += word.length;
  }
}
