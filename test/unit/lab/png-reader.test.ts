import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { deflateSync } from 'node:zlib';
import { decodePng, findColour, inkedShare, parseHexColour } from '../../support/png.js';

/** A PNG written the long way: each row filtered with the given filter type (0-4), as encoders do. */
function encodePng(width: number, rows: number[][], channels: 3 | 4, filters: number[]): Buffer {
  const colourType = channels === 3 ? 2 : 6;
  const stride = width * channels;
  const raw: number[] = [];
  rows.forEach((row, y) => {
    const filter = filters[y % filters.length] ?? 0;
    const prev = rows[y - 1];
    raw.push(filter);
    for (let x = 0; x < stride; x++) {
      const a = x >= channels ? (row[x - channels] ?? 0) : 0;
      const b = prev ? (prev[x] ?? 0) : 0;
      const c = prev && x >= channels ? (prev[x - channels] ?? 0) : 0;
      const p = a + b - c;
      const paeth =
        Math.abs(p - a) <= Math.abs(p - b) && Math.abs(p - a) <= Math.abs(p - c)
          ? a
          : Math.abs(p - b) <= Math.abs(p - c)
            ? b
            : c;
      const predicted = [0, a, b, (a + b) >> 1, paeth][filter] ?? 0;
      raw.push(((row[x] ?? 0) - predicted) & 0xff);
    }
  });
  const chunk = (type: string, data: Buffer) => {
    const length = Buffer.alloc(4);
    length.writeUInt32BE(data.length);
    return Buffer.concat([length, Buffer.from(type, 'latin1'), data, Buffer.alloc(4)]);
  };
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(rows.length, 4);
  ihdr[8] = 8;
  ihdr[9] = colourType;
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', ihdr),
    chunk('IDAT', deflateSync(Buffer.from(raw))),
    chunk('IEND', Buffer.alloc(0)),
  ]);
}

/** A 5x4 picture: white, with a 2x2 block of #2a7 at (1,1) and one #c33 pixel at (4,3). */
function picture(channels: 3 | 4): number[][] {
  return Array.from({ length: 4 }, (_, y) =>
    Array.from({ length: 5 }, (_, x) => {
      const rgb =
        x >= 1 && x <= 2 && y >= 1 && y <= 2
          ? [0x22, 0xaa, 0x77]
          : x === 4 && y === 3
            ? [0xcc, 0x33, 0x33]
            : [255, 255, 255];
      return channels === 4 ? [...rgb, 255] : rgb;
    }).flat(),
  );
}

describe('the screenshot PNG reader', () => {
  const cases = [
    { name: 'RGB, no filter', channels: 3 as const, filters: [0] },
    { name: 'RGB, sub/up/average/paeth rows', channels: 3 as const, filters: [1, 2, 3, 4] },
    { name: 'RGBA, paeth then up', channels: 4 as const, filters: [4, 2] },
  ];
  for (const c of cases)
    test(`${c.name}: decodes every pixel back`, () => {
      const png = decodePng(encodePng(5, picture(c.channels), c.channels, c.filters));
      assert.equal(png.width, 5);
      assert.equal(png.height, 4);
      const green = findColour(png, '#2a7', 0);
      assert.deepEqual(green, { pixels: 4, box: { top: 1, left: 1, bottom: 2, right: 2 } });
      assert.deepEqual(findColour(png, '#c33', 0), {
        pixels: 1,
        box: { top: 3, left: 4, bottom: 3, right: 4 },
      });
      assert.equal(findColour(png, '#00f').pixels, 0);
      assert.equal(inkedShare(png), 5 / 20);
    });

  test('a file that is not a PNG is refused by name', () => {
    assert.throws(() => decodePng(Buffer.from('<html></html>')), /not a PNG file/);
  });

  test('colours are read as #rgb or #rrggbb', () => {
    assert.deepEqual(parseHexColour('#2a7'), [0x22, 0xaa, 0x77]);
    assert.deepEqual(parseHexColour('#CFE3FF'), [0xcf, 0xe3, 0xff]);
    assert.throws(() => parseHexColour('green'), /not a #rgb or #rrggbb colour/);
  });
});
