/**
 * The packet mark bits that carry a verdict between chains, as the seed walks through them:
 * accept (a rule allowed the packet), pass (a policy said Pass, or the tier's policies were
 * checked), endpoint (the packet came from a workload interface). They are the three lowest bits
 * of the configured mask; the seed's 0x7000000 is the default.
 */
export interface Marks {
  readonly accept: number;
  readonly pass: number;
  readonly endpoint: number;
  readonly all: number;
}

export const DEFAULT_MARK_MASK = 0x7000000;

/** One Marks object per mask, so renders can tell "same marks" by identity. */
const marksByMask = new Map<number, Marks>();

export function allocateMarks(mask: number = DEFAULT_MARK_MASK): Marks {
  let marks = marksByMask.get(mask);
  if (marks === undefined) {
    if (marksByMask.size >= 100) marksByMask.clear();
    marksByMask.set(mask, (marks = markBits(mask)));
  }
  return marks;
}

function markBits(mask: number): Marks {
  const bits: number[] = [];
  for (let bit = 0; bit < 32 && bits.length < 3; bit++) {
    const value = 2 ** bit;
    if (Math.floor(mask / value) % 2 === 1) bits.push(value);
  }
  if (bits.length < 3)
    throw new Error(`iptablesMarkMask 0x${mask.toString(16)} has fewer than the 3 bits Felix needs`);
  const [accept, pass, endpoint] = bits as [number, number, number];
  return { accept, pass, endpoint, all: accept + pass + endpoint };
}

/** A text naming the mark bits, for memo keys. */
export const marksKey = (m: Marks): string => `${m.accept}/${m.pass}/${m.endpoint}`;

export const hex = (n: number): string => `0x${n.toString(16)}`;

// Every rendered rule asks for one of these few strings; build each once, looked up by the numbers
// themselves (no key text built per call).
type TextMemo = Map<number, Map<number, string>>;
const setMarkTexts: TextMemo = new Map();
const markIsTexts: TextMemo = new Map();
function remembered(memo: TextMemo, value: number, mask: number, make: () => string): string {
  let byMask = memo.get(value);
  if (byMask === undefined) memo.set(value, (byMask = new Map()));
  let text = byMask.get(mask);
  if (text === undefined) byMask.set(mask, (text = make()));
  return text;
}

/** `--set-xmark value/mask` */
export const setMark = (value: number, mask: number): string =>
  remembered(setMarkTexts, value, mask, () => `-j MARK --set-xmark ${hex(value)}/${hex(mask)}`);
/** `-m mark --mark value/mask` */
export const markIs = (value: number, mask: number): string =>
  remembered(markIsTexts, value, mask, () => `-m mark --mark ${hex(value)}/${hex(mask)}`);
