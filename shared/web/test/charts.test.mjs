// Every chart the server emitted (CHARTS_FILE, written by the Go test
// TestChartsCompileWithTheShippedVegaLite) must compile with the vega-lite
// the page ships, parse with its vega, and draw marks; and its $schema must
// name that vega-lite's major version.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { runInThisContext } from "node:vm";
import { fileURLToPath } from "node:url";

// The embedded copies themselves, not node_modules: what the page runs,
// loaded as the page loads them (their UMD wrappers set globals).
for (const name of ["vega.min.js", "vega-lite.min.js"]) {
  const path = fileURLToPath(new URL("../assets/vendor/" + name, import.meta.url));
  runInThisContext(readFileSync(path, "utf8"), { filename: path });
}
const { vega, vegaLite } = globalThis;
// The interpreter vega-embed runs expressions with (the page has no eval).
const { expressionInterpreter } = await import("vega-interpreter");

const file = process.env.CHARTS_FILE;
test("CHARTS_FILE names the charts to check", () => {
  assert.ok(file, "set CHARTS_FILE; `go test ./shared/web -run TestChartsCompileWithTheShippedVegaLite` writes it and runs this test");
});

const charts = file ? JSON.parse(readFileSync(file, "utf8")) : [];
const major = vegaLite.version.split(".")[0];

for (const { question, chart } of charts) {
  test(`chart of "${question}"`, async () => {
    const m = /\/vega-lite\/v(\d+)(\.\d+)*\.json$/.exec(chart.$schema || "");
    assert.ok(m, `$schema ${chart.$schema} is not a vega-lite schema URL`);
    assert.equal(m[1], major, `$schema is vega-lite v${m[1]} but the page ships vega-lite ${vegaLite.version}`);
    const warnings = [];
    const logger = { level() { return this; }, warn: (...a) => warnings.push(a.join(" ")), info() {}, debug() {}, error: (...a) => warnings.push(a.join(" ")) };
    const { spec } = vegaLite.compile(chart, { logger });
    assert.deepEqual(warnings, [], "vega-lite warned");
    const view = new vega.View(vega.parse(spec, null, { ast: true }), { renderer: "none", expr: expressionInterpreter });
    const svg = await view.toSVG();
    view.finalize();
    const marks = (svg.match(/<(path|rect|circle|line) /g) || []).length;
    assert.ok(marks > 2, `the chart drew ${marks} marks`);
  });
}
