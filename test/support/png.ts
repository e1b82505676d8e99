/**
 * A small PNG reader for screenshot tests: enough of the format (RFC 2083 / PNG 1.2) to read what a
 * browser writes, 8-bit greyscale, RGB or RGBA, not interlaced, and turn it into RGBA pixels. Lets
 * a test ask "which colours, where" without an image library. Anything else is refused by name
 * rather than decoded wrong.
 */
import { inflateSync } from 'node:zlib';

export interface DecodedPng {
  readonly width: number;
  readonly height: number;
  /** Four bytes per pixel (red, green, blue, alpha), row after row. */
  readonly rgba: Uint8Array;
}

const SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

/** Colour types (PNG 1.2 section 4.1.1) this reader handles, with their channels per pixel. */
const CHANNELS: Record<number, { channels: number; name: string }> = {
  0: { channels: 1, name: 'greyscale' },
  2: { channels: 3, name: 'RGB' },
  4: { channels: 2, name: 'greyscale with alpha' },
  6: { channels: 4, name: 'RGBA' },
};

export function decodePng(file: Buffer): DecodedPng {
  if (file.length < SIGNATURE.length || !file.subarray(0, 8).equals(SIGNATURE))
    throw new Error('not a PNG file: the 8-byte signature is missing');
  let width = 0;
  let height = 0;
  let colorType = -1;
  const idat: Buffer[] = [];
  for (let at = 8; at + 8 <= file.length;) {
    const length = file.readUInt32BE(at);
    const type = file.toString('latin1', at + 4, at + 8);
    const data = file.subarray(at + 8, at + 8 + length);
    if (type === 'IHDR') {
      width = data.readUInt32BE(0);
      height = data.readUInt32BE(4);
      const bitDepth = data[8];
      colorType = data[9] ?? -1;
      const interlace = data[12];
      if (bitDepth !== 8) throw new Error(`PNG bit depth ${bitDepth} is not supported (only 8)`);
      if (!CHANNELS[colorType]) throw new Error(`PNG colour type ${colorType} is not supported`);
      if (interlace !== 0) throw new Error('interlaced PNGs are not supported');
    } else if (type === 'IDAT') idat.push(data);
    else if (type === 'IEND') break;
    at += 12 + length; // length, type, data, CRC
  }
  const format = CHANNELS[colorType];
  if (!format || width === 0 || height === 0) throw new Error('PNG has no usable IHDR chunk');
  const raw = inflateSync(Buffer.concat(idat));
  const bpp = format.channels;
  const stride = width * bpp;
  if (raw.length < height * (stride + 1))
    throw new Error(`PNG image data is short: ${raw.length} bytes for ${width}x${height}`);
  const pixels = unfilter(raw, width, height, bpp);
  const rgba = new Uint8Array(width * height * 4);
  for (let i = 0; i < width * height; i++) {
    const p = i * bpp;
    const grey = format.channels <= 2;
    rgba[i * 4] = pixels[p] ?? 0;
    rgba[i * 4 + 1] = grey ? (pixels[p] ?? 0) : (pixels[p + 1] ?? 0);
    rgba[i * 4 + 2] = grey ? (pixels[p] ?? 0) : (pixels[p + 2] ?? 0);
    rgba[i * 4 + 3] = bpp === 4 ? (pixels[p + 3] ?? 0) : bpp === 2 ? (pixels[p + 1] ?? 0) : 255;
  }
  return { width, height, rgba };
}

/** Undoes the per-row filters (PNG 1.2 section 6): each row starts with its filter type. */
function unfilter(raw: Buffer, width: number, height: number, bpp: number): Uint8Array {
  const stride = width * bpp;
  const out = new Uint8Array(stride * height);
  for (let y = 0; y < height; y++) {
    const filter = raw[y * (stride + 1)];
    const row = y * stride;
    const up = (x: number) => (y > 0 ? (out[row - stride + x] ?? 0) : 0);
    const left = (x: number) => (x >= bpp ? (out[row + x - bpp] ?? 0) : 0);
    const upLeft = (x: number) => (y > 0 && x >= bpp ? (out[row - stride + x - bpp] ?? 0) : 0);
    for (let x = 0; x < stride; x++) {
      const byte = raw[y * (stride + 1) + 1 + x] ?? 0;
      let predicted: number;
      switch (filter) {
        case 0:
          predicted = 0;
          break;
        case 1:
          predicted = left(x);
          break;
        case 2:
          predicted = up(x);
          break;
        case 3:
          predicted = (left(x) + up(x)) >> 1;
          break;
        case 4:
          predicted = paeth(left(x), up(x), upLeft(x));
          break;
        default:
          throw new Error(`PNG row ${y} has unknown filter type ${filter}`);
      }
      out[row + x] = (byte + predicted) & 0xff;
    }
  }
  return out;
}

function paeth(a: number, b: number, c: number): number {
  const p = a + b - c;
  const pa = Math.abs(p - a);
  const pb = Math.abs(p - b);
  const pc = Math.abs(p - c);
  return pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
}

/** A colour as `#rgb` or `#rrggbb`, to red, green, blue. */
export function parseHexColour(hex: string): [number, number, number] {
  const m = /^#([0-9a-f]{3}|[0-9a-f]{6})$/i.exec(hex);
  if (!m?.[1]) throw new Error(`"${hex}" is not a #rgb or #rrggbb colour`);
  const digits = m[1].length === 3 ? [...m[1]].map((d) => d + d) : (m[1].match(/../g) ?? []);
  return digits.map((d) => parseInt(d, 16)) as [number, number, number];
}

export interface ColourRegion {
  /** Pixels within `tolerance` of the colour on every channel. */
  readonly pixels: number;
  /** The smallest rectangle holding them, or undefined when there are none. */
  readonly box?: {
    readonly top: number;
    readonly left: number;
    readonly bottom: number;
    readonly right: number;
  };
}

/** Where a colour occurs in the image. */
export function findColour(png: DecodedPng, hex: string, tolerance = 2): ColourRegion {
  const [r, g, b] = parseHexColour(hex);
  let pixels = 0;
  let top = Infinity;
  let left = Infinity;
  let bottom = -1;
  let right = -1;
  for (let y = 0; y < png.height; y++)
    for (let x = 0; x < png.width; x++) {
      const i = (y * png.width + x) * 4;
      if (
        Math.abs((png.rgba[i] ?? 0) - r) <= tolerance &&
        Math.abs((png.rgba[i + 1] ?? 0) - g) <= tolerance &&
        Math.abs((png.rgba[i + 2] ?? 0) - b) <= tolerance
      ) {
        pixels++;
        top = Math.min(top, y);
        left = Math.min(left, x);
        bottom = Math.max(bottom, y);
        right = Math.max(right, x);
      }
    }
  return pixels === 0 ? { pixels } : { pixels, box: { top, left, bottom, right } };
}

/** The share of pixels that are not (near) white: 0 for a blank page. */
export function inkedShare(png: DecodedPng): number {
  let inked = 0;
  for (let i = 0; i < png.width * png.height; i++)
    if (Math.min(png.rgba[i * 4] ?? 0, png.rgba[i * 4 + 1] ?? 0, png.rgba[i * 4 + 2] ?? 0) < 240) inked++;
  return inked / (png.width * png.height);
}
