// Builders for hand-assembled wire bytes, so error tests can say exactly which octet is wrong
// without going through the encoder under test.

export function hex(text: string): Buffer {
  return Buffer.from(text.replace(/\s+/g, ''), 'hex');
}

export function message(type: number, body: Buffer): Buffer {
  const head = Buffer.alloc(19, 0xff);
  head.writeUInt16BE(19 + body.length, 16);
  head[18] = type;
  return Buffer.concat([head, body]);
}

/** One path attribute; extended length is used when asked or when the value needs it. */
export function attr(flags: number, type: number, value: Buffer | string, extended = false): Buffer {
  const v = typeof value === 'string' ? hex(value) : value;
  if (extended || v.length > 255) {
    const h = Buffer.from([flags | 0x10, type, 0, 0]);
    h.writeUInt16BE(v.length, 2);
    return Buffer.concat([h, v]);
  }
  return Buffer.concat([Buffer.from([flags & ~0x10, type, v.length]), v]);
}

export function update(parts: {
  withdrawn?: Buffer | string;
  attrs?: Buffer[];
  nlri?: Buffer | string;
}): Buffer {
  const w = typeof parts.withdrawn === 'string' ? hex(parts.withdrawn) : (parts.withdrawn ?? Buffer.alloc(0));
  const a = Buffer.concat(parts.attrs ?? []);
  const n = typeof parts.nlri === 'string' ? hex(parts.nlri) : (parts.nlri ?? Buffer.alloc(0));
  const wl = Buffer.alloc(2);
  wl.writeUInt16BE(w.length, 0);
  const al = Buffer.alloc(2);
  al.writeUInt16BE(a.length, 0);
  return message(2, Buffer.concat([wl, w, al, a, n]));
}

export const ORIGIN_IGP = attr(0x40, 1, '00');
/** AS_PATH with one AS_SEQUENCE [65001], 4-octet form. */
export const AS_PATH_4 = attr(0x40, 2, '02 01 0000fde9');
/** AS_PATH with one AS_SEQUENCE [65001], 2-octet form. */
export const AS_PATH_2 = attr(0x40, 2, '02 01 fde9');
export const NEXT_HOP_192_0_2_1 = attr(0x40, 3, 'c0000201');
/** NLRI 198.51.100.0/24 */
export const NLRI_198_51_100 = '18 c63364';
export const MANDATORY_4 = [ORIGIN_IGP, AS_PATH_4, NEXT_HOP_192_0_2_1];
