/**
 * Text → resources: YAML or JSON, one or many documents, a top-level list (as the seed's
 * endpoints.yaml is), `kind: List` or `kind: <Kind>List`, in the seed's v1 format or in v3. Every
 * document is checked and converted before anything is returned, and problems carry the document's
 * number and line, so a caller can refuse a whole file when one document is wrong.
 */
import YAML, { isMap, isPair, isScalar, isSeq, LineCounter, type Node as YamlNode } from 'yaml';
import { normalizeBeforeValidation, withDefaults } from './defaults.js';
import type { Resource } from './types.js';
import { API_VERSION } from './types.js';
import { convertV1, validateV1 } from './v1.js';
import { describeResource, validateResource } from './validate.js';

export interface LoadedResource {
  /** 1-based position of the document in the input. */
  readonly index: number;
  readonly line: number;
  readonly format: 'v1' | 'v3';
  readonly resource: Resource;
}

export interface DocumentProblem {
  readonly index: number;
  readonly line: number;
  /** `document 2 (line 14), WorkloadEndpoint "default/x"` */
  readonly label: string;
  readonly problems: readonly string[];
}

export interface LoadResult {
  readonly resources: LoadedResource[];
  readonly problems: DocumentProblem[];
}

/** YAML reads `asNumber: 1.10` as the float 1.1; keep the dotted AS text as written. */
function keepDottedAsNumbers(doc: YAML.Document.Parsed): void {
  YAML.visit(doc, {
    Pair(_, pair) {
      if (isScalar(pair.key) && pair.key.value === 'asNumber' && isScalar(pair.value)) {
        const src = pair.value.source;
        if (typeof pair.value.value === 'number' && typeof src === 'string' && /^\d+\.\d+$/.test(src))
          pair.value.value = src;
      }
    },
  });
}

interface RawDoc {
  value: unknown;
  line: number;
}

function lineOf(node: YamlNode | null | undefined, lc: LineCounter, fallback: number): number {
  const start = node?.range?.[0];
  return start === undefined ? fallback : lc.linePos(start).line;
}

function isListKind(v: unknown): v is { kind: string; items: unknown[] } {
  if (typeof v !== 'object' || v === null) return false;
  const o = v as { kind?: unknown; items?: unknown };
  return typeof o.kind === 'string' && /List$/.test(o.kind) && Array.isArray(o.items);
}

/** Splits the input into raw documents with their line numbers, or reports syntax errors. */
function splitDocuments(text: string): { docs: RawDoc[]; syntax: DocumentProblem[] } {
  const lc = new LineCounter();
  const parsed = YAML.parseAllDocuments(text, { lineCounter: lc, prettyErrors: false });
  const docs: RawDoc[] = [];
  const syntax: DocumentProblem[] = [];
  const all = Array.isArray(parsed) ? parsed : [parsed];
  all.forEach((doc, i) => {
    if (doc.errors.length) {
      const problems = doc.errors.map((e) => {
        const pos = lc.linePos(e.pos[0]);
        return `line ${pos.line}, column ${pos.col}: ${e.message.split('\n')[0]?.replace(/ at line \d+, column \d+:?$/, '')}`;
      });
      syntax.push({
        index: i + 1,
        line: lc.linePos(doc.errors[0]?.pos[0] ?? 0).line,
        label: `document ${i + 1}`,
        problems: [`malformed YAML: ${problems.join('; ')}`],
      });
      return;
    }
    if (doc.contents === null) return;
    keepDottedAsNumbers(doc);
    const value: unknown = doc.toJS();
    const line = lineOf(doc.contents, lc, 1);
    const contents = doc.contents;
    if (Array.isArray(value) && isSeq(contents)) {
      value.forEach((v, j) => docs.push({ value: v, line: lineOf(contents.items[j] as YamlNode, lc, line) }));
    } else if (isListKind(value) && isMap(contents)) {
      const itemsPair = contents.items.find((p) => isPair(p) && isScalar(p.key) && p.key.value === 'items');
      const seq = itemsPair && isSeq(itemsPair.value) ? itemsPair.value : undefined;
      value.items.forEach((v, j) =>
        docs.push({ value: v, line: lineOf(seq?.items[j] as YamlNode, lc, line) }),
      );
    } else {
      docs.push({ value, line });
    }
  });
  return { docs, syntax };
}

/** Checks, converts and defaults one raw document. */
export function loadDocument(value: unknown): {
  resource?: Resource;
  format: 'v1' | 'v3';
  problems: string[];
} {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    return { format: 'v3', problems: ['a resource must be a map with apiVersion, kind, metadata and spec'] };
  }
  const doc = structuredClone(value) as Record<string, unknown>;
  if (doc.apiVersion === 'v1') {
    const v1Problems = validateV1(doc);
    if (v1Problems.length) return { format: 'v1', problems: v1Problems.map((p) => p.message) };
    const converted = convertV1(doc as { kind: string }) as unknown as Record<string, unknown>;
    normalizeBeforeValidation(converted);
    const problems = validateResource(converted);
    if (problems.length)
      return {
        format: 'v1',
        problems: problems.map((p) => `${p.message} (in the v3 form of this v1 document)`),
      };
    return { format: 'v1', resource: withDefaults(converted as unknown as Resource), problems: [] };
  }
  if (doc.apiVersion !== API_VERSION) {
    return {
      format: 'v3',
      problems: [
        `apiVersion: "${String(doc.apiVersion)}" is not supported (use ${API_VERSION}, or v1 for the seed's format)`,
      ],
    };
  }
  normalizeBeforeValidation(doc);
  const problems = validateResource(doc);
  if (problems.length) return { format: 'v3', problems: problems.map((p) => p.message) };
  return { format: 'v3', resource: withDefaults(doc as unknown as Resource), problems: [] };
}

/** Parses every document of a YAML/JSON text. Nothing is written anywhere. */
export function loadResources(text: string): LoadResult {
  const { docs, syntax } = splitDocuments(text);
  const resources: LoadedResource[] = [];
  const problems: DocumentProblem[] = [...syntax];
  docs.forEach((raw, i) => {
    const index = i + 1;
    const r = loadDocument(raw.value);
    if (r.resource) resources.push({ index, line: raw.line, format: r.format, resource: r.resource });
    else
      problems.push({
        index,
        line: raw.line,
        label: `document ${index} (line ${raw.line}), ${describeResource(raw.value)}`,
        problems: r.problems,
      });
  });
  return { resources, problems };
}

/** Drops empty and undefined fields so printed resources look like what the user wrote. */
function clean(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(clean);
  if (v && typeof v === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v)) if (x !== undefined) out[k] = clean(x);
    return out;
  }
  return v;
}

export function toYaml(value: unknown): string {
  return YAML.stringify(clean(value), { indent: 2, lineWidth: 0 });
}

export function toJson(value: unknown): string {
  return JSON.stringify(clean(value), null, 2) + '\n';
}
