// render.mjs DIR: compiles every Vega-Lite chart DIR/*.json with the
// vega-lite of package.json, runs it headless with vega, and prints what a
// reader sees, by file name, as JSON: every tooltip, the labels of each
// axis, and the x and y scales. The test runs it once per time zone (TZ is
// read when node starts).
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as vega from 'vega';
import * as vl from 'vega-lite';

const dir = process.argv[2];
const all = {};
for (const file of readdirSync(dir).filter(f => f.endsWith('.json'))) {
  all[file] = await render(JSON.parse(readFileSync(join(dir, file), 'utf8')));
}
process.stdout.write(JSON.stringify(all));

async function render(spec) {
  // "container" width needs a page; a fixed width renders the same marks.
  const compiled = vl.compile({ ...spec, width: 600 }).spec;
  const view = new vega.View(vega.parse(compiled), { renderer: 'none' });
  await view.runAsync();

  const out = { tooltips: [], axes: {}, scales: {} };
  (function walk(node, orient) {
    if (!node || !node.items) return;
    for (const item of node.items) {
      let o = orient;
      if (node.role === 'axis' && item.datum && item.datum.scale) o = item.datum.scale;
      if (item.tooltip !== undefined && item.tooltip !== null) out.tooltips.push(item.tooltip);
      if (node.role === 'axis-label') (out.axes[o] ??= []).push(item.text);
      walk(item, o);
    }
  })(view.scenegraph().root);
  for (const name of ['x', 'y']) {
    try {
      const s = view.scale(name);
      out.scales[name] = { type: s.type, domain: s.domain().map(v => (v instanceof Date ? v.toISOString() : v)) };
      if (typeof s.ticks === 'function') out.scales[name].ticks = s.ticks().map(v => (v instanceof Date ? v.toISOString() : v));
    } catch {
      // a chart without that scale
    }
}
return out;
}
