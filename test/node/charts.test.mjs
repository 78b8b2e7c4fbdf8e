// Renders every chart the question shapes produce (written by the Go test
// TestChartsOfQuestionShapes) with the vega and vega-lite that package.json
// pins, in UTC and in America/New_York, and checks what a reader sees:
// the same tooltips and axis labels in both time zones, dates as stored,
// formatted numbers, years as plain integers, bars in the table's order
// and never stacked into sums.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..', '..');
const dir = mkdtempSync(join(tmpdir(), 'datachat-charts-'));
process.on('exit', () => rmSync(dir, { recursive: true, force: true }));

execFileSync('go', ['test', '-count=1', '-run', '^TestChartsOfQuestionShapes$', './shared/app/'], {
  cwd: root, env: { ...process.env, DATACHAT_CHART_DIR: dir }, stdio: ['ignore', 'inherit', 'inherit'],
});
const files = readdirSync(dir).filter(f => f.endsWith('.json')).sort();

function renderAll(tz) {
  const out = execFileSync(process.execPath, [join(here, 'render.mjs'), dir], { env: { ...process.env, TZ: tz }, maxBuffer: 1 << 28 });
  return JSON.parse(out.toString());
}
const rendered = { utc: renderAll('UTC'), ny: renderAll('America/New_York') };

const months = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
// The date a reader should see for a stored value, from the string alone.
function shown(value) {
  const [y, m, d] = value.slice(0, 10).split('-');
  return d === undefined ? `${months[+m - 1]} ${y}` : `${months[+m - 1]} ${d}, ${y}`;
}

test('there are charts to render', () => {
  assert.ok(files.length >= 10, `only ${files.length} charts were written`);
});

for (const file of files) {
  test(file, () => {
    const spec = JSON.parse(readFileSync(join(dir, file), 'utf8'));
    const { x, y } = spec.encoding;
    const values = spec.data.values;
    const utc = rendered.utc[file];
    const ny = rendered.ny[file];

    assert.ok(utc.tooltips.length > 0, 'no tooltips');
    assert.deepEqual(ny.tooltips, utc.tooltips, 'tooltips differ between UTC and America/New_York');
    assert.deepEqual(ny.axes, utc.axes, 'axis labels differ between UTC and America/New_York');

    if (x.type === 'temporal') {
      const want = new Set(values.map(v => shown(v[x.field])));
      for (const t of utc.tooltips) assert.ok(want.has(t[x.field]), `tooltip date ${t[x.field]} is not a date of the data`);
      assert.equal(utc.tooltips.filter(t => t[x.field] === shown(values[0][x.field])).length > 0, true,
        `no tooltip shows the first date ${values[0][x.field]} as ${shown(values[0][x.field])}`);
    }
    for (const t of utc.tooltips) {
      for (const [k, v] of Object.entries(t)) {
        assert.doesNotMatch(String(v), /\d\.\d{3,}/, `tooltip ${k} shows a raw float: ${v}`);
      }
    }
    if (x.type === 'quantitative' && Number.isInteger(values[0][x.field])) {
      for (const l of utc.axes.x ?? []) assert.match(l, /^-?\d+$/, `x label ${l} of an int column is not a plain integer`);
    }
    if (spec.mark.type === 'bar') {
      assert.equal(y.stack, null, 'bars must say stack: null');
      const largest = Math.max(...values.map(v => v[y.field]));
      const { domain, ticks } = utc.scales.y;
      const step = ticks[1] - ticks[0];
      assert.ok(domain[1] - largest < step,
        `y scale reaches ${domain[1]}, more than a tick (${step}) past the largest value ${largest}: bars were added up`);
      if (x.sort === null) {
        const order = [...new Set(values.map(v => String(v[x.field])))];
        assert.deepEqual(utc.scales.x.domain.map(String), order, 'bars are not in the table\'s order');
      }
    }
  });
}
