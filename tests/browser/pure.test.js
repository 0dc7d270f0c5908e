// The page's pure modules (www/url.js, www/model.js) under Node, without a browser.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseLink, formatLink } from '../../www/url.js';
import { layoutRun, diagramModel, G } from '../../www/model.js';

const LESSONS = ['naive-pipe', 'fifo-once', 'sandbox'];

test('a link survives formatting and parsing, typed lines included', () => {
  const states = [
    { lesson: 'fifo-once', nc: 'textbook', step: 12, scripts: null, seed: 0, present: true, inputs: [] },
    {
      lesson: null,
      nc: 'busybox',
      step: 40,
      scripts: ['echo "a & b" | cat', ''],
      seed: 7,
      present: false,
      inputs: [{ step: 3, terminal: 1, text: 'echo x:y; ls' }, { step: 9, terminal: 0, text: '!int' }],
    },
  ];
  for (const state of states) {
    const parsed = parseLink(formatLink(state), LESSONS);
    assert.ok(parsed.ok, parsed.error);
    assert.deepEqual(parsed.state, state);
  }
});

test('malformed links are refused with a message that says why', () => {
  for (const [search, why] of [
    ['?lesson=nope', /no lesson "nope"/],
    ['?nc=gnu', /unknown nc flavor/],
    ['?step=1e3', /whole number/],
    ['?lesson=fifo-once&t=echo', /not both/],
    ['?i=3:0:a&i=1:0:b', /step order/],
    ['?x=1', /unknown parameter/],
  ]) {
    const parsed = parseLink(search, LESSONS);
    assert.equal(parsed.ok, false, search);
    assert.match(parsed.error, why, search);
    assert.match(parsed.error, /first lesson/, search);
  }
});

test('the layout is stable: no two cards overlap at any step, and a card never moves', () => {
  // Two terminals; pid 3's children come and go, so rows are shared over time.
  const events = [
    { step: 0, type: 'spawn', pid: 2, parent: 1 },
    { step: 0, type: 'spawn', pid: 3, parent: 1 },
  ];
  let pid = 4;
  for (let s = 1; s < 200; s += 10) {
    events.push({ step: s, type: 'spawn', pid, parent: 3 });
    events.push({ step: s + 4, type: 'exit', pid, status: { code: 0 } });
    pid += 1;
  }
  const layout = layoutRun(events, ['a', 'b']);
  const seen = new Map();
  for (let position = 1; position <= 210; position++) {
    const alive = events.filter((e) => e.type === 'spawn' && e.step < position).map((e) => e.pid);
    const snapshot = {
      position,
      pipes: [],
      sockets: [],
      processes: alive.map((p) => {
        const exit = events.find((e) => e.type === 'exit' && e.pid === p && e.step < position);
        return { pid: p, argv: ['x'], state: exit ? 'exited' : 'running', exitCode: 0, fds: [], ignores: [] };
      }),
    };
    const vm = diagramModel(snapshot, [], layout);
    const spots = vm.procs.map((p) => `${p.x},${p.y}`);
    assert.equal(new Set(spots).size, spots.length, `overlap at ${position}`);
    for (const p of vm.procs) {
      if (seen.has(p.pid)) assert.deepEqual(seen.get(p.pid), [p.x, p.y], `pid ${p.pid} moved`);
      seen.set(p.pid, [p.x, p.y]);
    }
    assert.ok(vm.height >= G.header, 'a height');
  }
  // Twenty short-lived children share a handful of rows.
  assert.ok(layout.rows <= 4, `${layout.rows} rows`);
});
