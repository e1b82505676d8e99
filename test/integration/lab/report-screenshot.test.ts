import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { requireRootAndTools } from '../../support/netns.js';
import { CalicoLabCli } from './calico-lab-cli.js';
import { decodePng, findColour, inkedShare, type ColourRegion, type DecodedPng } from '../../support/png.js';

/** The report's colours (src/lab/report.ts): matrix badges and topology boxes. */
const COLOURS = {
  delivered: '#2a7',
  dropped: '#c33',
  host: '#cfe3ff',
  workload: '#dff3df',
  network: '#e4e4e4',
};

const WINDOW = { width: 1400, height: 1200 };

/**
 * Smallest areas, in pixels, that a badge or a box shows once its text is drawn over it: a badge is
 * at least as wide as "tcp/80 ✓" (about 50 px) and a line (16 px) high, a box at least 110 x 28
 * (report.ts); the text covers well under a third of either.
 */
const MIN_BADGE_AREA = 50 * 16 * 0.7;
const MIN_BOX_AREA = 110 * 28 * 0.7;
/** Largest area of one badge: a matrix cell is no wider than about 220 px. */
const MAX_BADGE_AREA = 220 * 22;

/** Headless Chromium, as the issue names it; a fresh profile so nothing from a previous run leaks in. */
function screenshot(html: string, png: string, profile: string): void {
  const r = spawnSync(
    'chromium',
    [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      `--user-data-dir=${profile}`,
      `--screenshot=${png}`,
      `--window-size=${WINDOW.width},${WINDOW.height}`,
      pathToFileURL(html).href,
    ],
    { encoding: 'utf8', timeout: 120_000 },
  );
  assert.equal(r.status, 0, `chromium failed (${r.status ?? r.signal}): ${r.stderr.slice(-2000)}`);
}

/** Chromium's helpers can outlive the browser for a moment; any still using our profile are ended. */
async function endChromiumUsing(profile: string): Promise<void> {
  const deadline = Date.now() + 5000;
  for (;;) {
    const pids = readdirSync('/proc')
      .filter((d) => /^\d+$/.test(d))
      .filter((d) => {
        try {
          return readFileSync(`/proc/${d}/cmdline`, 'utf8').includes(profile);
        } catch {
          return false;
        }
      })
      .map(Number);
    if (pids.length === 0) return;
    if (Date.now() > deadline) {
      for (const pid of pids) {
        try {
          process.kill(pid, 'SIGKILL');
        } catch {
          /* already gone */
        }
      }
      return;
    }
    await new Promise((r) => setTimeout(r, 200));
  }
}

function overlaps(a: ColourRegion['box'], b: ColourRegion['box']): boolean {
  if (!a || !b) return false;
  return a.left <= b.right && b.left <= a.right && a.top <= b.bottom && b.top <= a.bottom;
}

function union(...regions: ColourRegion[]): ColourRegion['box'] {
  const boxes = regions.flatMap((r) => (r.box ? [r.box] : []));
  if (boxes.length === 0) return undefined;
  return {
    top: Math.min(...boxes.map((b) => b.top)),
    left: Math.min(...boxes.map((b) => b.left)),
    bottom: Math.max(...boxes.map((b) => b.bottom)),
    right: Math.max(...boxes.map((b) => b.right)),
  };
}

describe('the lab report opens in headless Chromium and shows the topology and the matrix', () => {
  let calicoLab: CalicoLabCli;
  const lab = `s${process.pid.toString(36)}`;
  let png: DecodedPng;
  let pngFile: string;
  /** What the probe printed: ✓ and ✗ marks of the matrix rows, one per probed cell. */
  let marks: { delivered: number; dropped: number };

  before(async () => {
    requireRootAndTools(['ip', 'iptables-restore', 'ipset', 'nc', 'ping', 'chromium']);
    calicoLab = new CalicoLabCli('calico-ts-lab-shot-');
    const up = await calicoLab.run('up', 'tenant', '--name', lab);
    assert.equal(up.code, 0, `${up.out}\n${up.err}`);
    const html = join(calicoLab.dir, 'report.html');
    const report = await calicoLab.run('report', lab, '-o', html);
    assert.equal(report.code, 0, report.err);
    const rows = report.out.split('\n').filter((l) => l.startsWith('slave'));
    const count = (c: string) => rows.join('').split(c).length - 1;
    marks = { delivered: count('✓'), dropped: count('✗') };
    pngFile = join(calicoLab.dir, 'report.png');
    const profile = join(calicoLab.dir, 'chromium-profile');
    try {
      screenshot(html, pngFile, profile);
    } finally {
      await endChromiumUsing(profile);
    }
    png = decodePng(readFileSync(pngFile));
  });

  after(() => calicoLab?.close());

  test('the screenshot is a PNG of the window size, and not a blank page', () => {
    assert.ok(existsSync(pngFile));
    assert.deepEqual({ width: png.width, height: png.height }, WINDOW);
    // A blank page inks nothing; the tenant report inks several percent of the window.
    assert.ok(inkedShare(png) > 0.03, `only ${(inkedShare(png) * 100).toFixed(2)}% of the page is drawn`);
  });

  test('the matrix shows one green badge per delivered probe and one red per dropped probe', () => {
    assert.equal(marks.delivered + marks.dropped, 18, 'the tenant probe prints 18 cells');
    assert.ok(marks.dropped > 0 && marks.delivered > 0, 'the tenant has both open and closed cells');
    for (const [name, colour, badges] of [
      ['delivered', COLOURS.delivered, marks.delivered],
      ['dropped', COLOURS.dropped, marks.dropped],
    ] as const) {
      const { pixels } = findColour(png, colour);
      assert.ok(
        pixels >= badges * MIN_BADGE_AREA && pixels <= badges * MAX_BADGE_AREA,
        `${name} (${colour}): ${pixels} px for ${badges} badges (${pngFile})`,
      );
    }
  });

  test('the topology shows the two hosts, the three workloads and the fabric as boxes', () => {
    for (const [name, colour, boxes] of [
      ['host', COLOURS.host, 2],
      ['workload', COLOURS.workload, 3],
      ['network', COLOURS.network, 1],
    ] as const) {
      const { pixels } = findColour(png, colour);
      assert.ok(pixels >= boxes * MIN_BOX_AREA, `${name} boxes (${colour}): only ${pixels} px (${pngFile})`);
    }
  });

  test('the topology and the matrix are both in view and do not overlap', () => {
    const topology = union(findColour(png, COLOURS.host), findColour(png, COLOURS.workload));
    const matrix = union(findColour(png, COLOURS.delivered), findColour(png, COLOURS.dropped));
    assert.ok(topology && matrix, 'both drawn');
    assert.equal(
      overlaps(topology, matrix),
      false,
      `topology ${JSON.stringify(topology)} vs matrix ${JSON.stringify(matrix)}`,
    );
  });
});
