// Reads the recorded streams of POST /chat (shared/app/testdata/*.sse,
// kept current by the Go test TestStreamRecordings) the way a stock AG-UI
// client does: @ag-ui/client parses the server-sent events and verifies
// the event order, and every event must pass @ag-ui/core's schemas.
// AGUI_STREAMS (a directory) reads other recordings instead.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import { join, dirname } from "node:path";
import { fileURLToPath } from "node:url";
import { EventType } from "@ag-ui/core";
import { EventSchemas } from "@ag-ui/core/schemas";
import { runHttpRequest, transformHttpEventStream, verifyEvents } from "@ag-ui/client";

const here = dirname(fileURLToPath(import.meta.url));
const dir = process.env.AGUI_STREAMS || join(here, "..", "shared", "app", "testdata");
const files = readdirSync(dir).filter((f) => f.endsWith(".sse"));

test("there are recorded streams", () => {
  assert.ok(files.length >= 2, `no .sse recordings in ${dir}`);
});

for (const file of files) {
  test(file, async () => {
    const body = readFileSync(join(dir, file));
    const response = () =>
      Promise.resolve(new Response(body, { status: 200, headers: { "Content-Type": "text/event-stream" } }));
    const events = await new Promise((resolve, reject) => {
      const seen = [];
      transformHttpEventStream(runHttpRequest(response))
        .pipe(verifyEvents())
        .subscribe({ next: (e) => seen.push(e), error: reject, complete: () => resolve(seen) });
    });
    assert.ok(events.length > 2, "too few events");
    let seq = 0;
    for (const e of events) {
      const parsed = EventSchemas.safeParse(e);
      assert.ok(parsed.success, `${e.type}: ${parsed.error}`);
      assert.ok(e.metadata.seq >= seq && e.metadata.seq <= seq + 1, `${e.type}: seq ${e.metadata.seq} after ${seq}`);
      seq = e.metadata.seq;
    }
    assert.equal(events[0].type, EventType.RUN_STARTED);
    const last = events[events.length - 1];
    assert.ok([EventType.RUN_FINISHED, EventType.RUN_ERROR].includes(last.type), last.type);
    if (last.type === EventType.RUN_FINISHED) {
      // The result is POST /chat's JSON answer.
      for (const key of ["conversation_id", "turn", "answer", "table", "chart", "usage", "finish_reason"]) {
        assert.ok(key in last.result, `result has no ${key}`);
      }
      assert.equal(last.result.conversation_id, events[0].threadId);
      const text = events.filter((e) => e.type === EventType.TEXT_MESSAGE_CONTENT).map((e) => e.delta).join("");
      assert.equal(text, last.result.answer);
    } else {
      assert.ok(last.code && last.message, "RUN_ERROR without code and message");
    }
  });
}
