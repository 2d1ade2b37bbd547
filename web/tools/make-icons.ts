/**
 * Writes the PWA icons as real PNGs (web/public/icons/*.png): a mesh of four nodes on a dark
 * rounded tile. Run with `node --import tsx web/tools/make-icons.ts`; the output is committed.
 * No image library: the shapes are distance functions sampled 4x4 per pixel, PNG written by zlib.
 */
import { deflateSync } from 'node:zlib';
import { writeFileSync, mkdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

type RGBA = [number, number, number, number];
const BG: RGBA = [15, 20, 25, 255];
const TILE: RGBA = [22, 34, 44, 255];
const EDGE: RGBA = [94, 234, 212, 255];
const NODE: RGBA = [45, 212, 191, 255];
const HUB: RGBA = [250, 204, 21, 255];

const nodes: Array<[number, number]> = [
  [0.3, 0.32],
  [0.7, 0.3],
  [0.72, 0.7],
  [0.28, 0.68],
];
const hub: [number, number] = [0.5, 0.5];

function segDist(px: number, py: number, [ax, ay]: [number, number], [bx, by]: [number, number]): number {
  const dx = bx - ax,
    dy = by - ay;
  const t = Math.max(0, Math.min(1, ((px - ax) * dx + (py - ay) * dy) / (dx * dx + dy * dy)));
  return Math.hypot(px - ax - t * dx, py - ay - t * dy);
}

/** Colour at a point in unit space; `inset` shrinks the drawing into the maskable safe zone. */
function shade(x: number, y: number, maskable: boolean): RGBA {
  const s = maskable ? 0.72 : 1;
  const u = (x - 0.5) / s + 0.5,
    v = (y - 0.5) / s + 0.5;
  if (!maskable) {
    // rounded tile; outside it is transparent
    const r = 0.2,
      cx = Math.min(Math.max(u, r), 1 - r),
      cy = Math.min(Math.max(v, r), 1 - r);
    if (Math.hypot(u - cx, v - cy) > r) return [0, 0, 0, 0];
  }
  for (const n of nodes) if (Math.hypot(u - n[0], v - n[1]) < 0.085) return NODE;
  if (Math.hypot(u - hub[0], v - hub[1]) < 0.07) return HUB;
  const all = [...nodes, hub];
  for (let i = 0; i < all.length; i++) for (let j = i + 1; j < all.length; j++) if (segDist(u, v, all[i]!, all[j]!) < 0.018) return EDGE;
  return maskable ? BG : TILE;
}

function render(size: number, maskable: boolean): Buffer {
  const ss = 4;
  const raw = Buffer.alloc((size * 4 + 1) * size);
  for (let py = 0; py < size; py++) {
    raw[py * (size * 4 + 1)] = 0; // filter: none
    for (let px = 0; px < size; px++) {
      const acc = [0, 0, 0, 0];
      for (let sy = 0; sy < ss; sy++)
        for (let sx = 0; sx < ss; sx++) {
          const c = shade((px + (sx + 0.5) / ss) / size, (py + (sy + 0.5) / ss) / size, maskable);
          // premultiplied accumulation so transparent samples do not darken the edge
          acc[0]! += c[0] * c[3];
          acc[1]! += c[1] * c[3];
          acc[2]! += c[2] * c[3];
          acc[3]! += c[3];
        }
      const o = py * (size * 4 + 1) + 1 + px * 4;
      const a = acc[3]!;
      raw[o] = a ? Math.round(acc[0]! / a) : 0;
      raw[o + 1] = a ? Math.round(acc[1]! / a) : 0;
      raw[o + 2] = a ? Math.round(acc[2]! / a) : 0;
      raw[o + 3] = Math.round(a / (ss * ss));
    }
  }
  return png(size, size, raw);
}

const CRC_TABLE = Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});
function crc32(buf: Buffer): number {
  let c = 0xffffffff;
  for (const b of buf) c = CRC_TABLE[(c ^ b) & 0xff]! ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}
function chunk(type: string, data: Buffer): Buffer {
  const len = Buffer.alloc(4);
  len.writeUInt32BE(data.length);
  const td = Buffer.concat([Buffer.from(type, 'ascii'), data]);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(td));
  return Buffer.concat([len, td, crc]);
}
function png(w: number, h: number, raw: Buffer): Buffer {
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(w, 0);
  ihdr.writeUInt32BE(h, 4);
  ihdr[8] = 8;
  ihdr[9] = 6;
  ihdr[10] = 0;
  ihdr[11] = 0;
  ihdr[12] = 0; // 8-bit RGBA
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', ihdr),
    chunk('IDAT', deflateSync(raw, { level: 9 })),
    chunk('IEND', Buffer.alloc(0)),
  ]);
}

const out = fileURLToPath(new URL('../public/icons/', import.meta.url));
mkdirSync(out, { recursive: true });
const files: Array<[string, number, boolean]> = [
  ['icon-192.png', 192, false],
  ['icon-512.png', 512, false],
  ['maskable-512.png', 512, true],
  ['apple-touch-icon.png', 180, true],
  ['favicon-32.png', 32, false],
];
for (const [name, size, maskable] of files) writeFileSync(out + name, render(size, maskable));
console.log(`wrote ${files.length} icons to ${out}`);
