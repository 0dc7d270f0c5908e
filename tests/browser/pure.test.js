// The page's pure modules (www/url.js, www/model.js) under Node, without a browser.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseLink, formatLink } from '../../www/url.js';
import { layoutRun, arrangements, diagramModel, diagramShape, fdSummary, G, TIME_WAIT_KEY } from '../../www/model.js';

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

test('kernel objects drawn below the processes stand below every card, none overlapping', () => {
  const events = [1, 2, 3].map((t) => ({ step: 0, type: 'spawn', pid: t + 1, parent: 1 }));
  events.push({ step: 1, type: 'spawn', pid: 5, parent: 2 }, { step: 2, type: 'spawn', pid: 6, parent: 2 });
  for (let i = 1; i <= 4; i++) events.push({ step: 2 + i, type: 'syscall', pid: 5, object: `pipe:[${i}]` });
  const layout = layoutRun(events, ['a', 'b', 'c']);
  const snapshot = {
    position: 10,
    processes: [2, 3, 4, 5, 6].map((pid) => ({ pid, argv: ['x'], state: 'running', fds: [], ignores: [] })),
    pipes: [1, 2, 3, 4].map((i) => ({ name: `pipe:[${i}]`, buffered: 0, capacity: 65536, readers: 1, writers: 1 })),
    sockets: [],
  };
  const vm = diagramModel(snapshot, [], layout, { perBand: 3, below: true });
  const lowestCard = Math.max(...vm.procs.map((p) => p.y + G.card.h));
  for (const o of vm.objects) assert.ok(o.y > lowestCard, `${o.key} at y=${o.y} overlaps a card ending at ${lowestCard}`);
  const spots = vm.objects.map((o) => `${o.x},${o.y}`);
  assert.equal(new Set(spots).size, spots.length, 'two objects share a cell');
  for (const o of vm.objects) assert.ok(o.x + G.cell.w <= vm.width, `${o.key} sticks out`);
  assert.ok(vm.height >= Math.max(...vm.objects.map((o) => o.y + G.cell.h)), 'the height holds the objects');
  // The shape the page chooses by is the drawing's: taller and narrower below.
  const [beside, below] = [false, true].map((b) => diagramShape(layout, { perBand: 3, below: b }));
  assert.deepEqual([below.width, below.height], [vm.width, vm.height]);
  assert.ok(below.width < beside.width && below.height > beside.height);
});

test('an fd table reads as one line, fds that point the same way at one object grouped', () => {
  const tty = (fd) => ({ fd, read: true, write: true, object: '/dev/pts/0' });
  assert.equal(fdSummary([tty(0), tty(1), tty(2)]), '0,1,2↔/dev/pts/0');
  assert.equal(
    fdSummary([{ fd: 0, read: true, write: false, object: 'pipe:[1]' }, tty(1), tty(2), { fd: 3, read: false, write: true, object: 'pipe:[1]' }]),
    '0←pipe:[1]  1,2↔/dev/pts/0  3→pipe:[1]',
  );
  assert.equal(fdSummary([]), '');
});

test('every arrangement of a five-terminal run keeps cards and cells apart and inside the drawing', () => {
  const events = [1, 2, 3, 4, 5].map((t) => ({ step: 0, type: 'spawn', pid: t + 1, parent: 1 }));
  // Terminal 2 runs three children at once; terminal 5 one.
  for (const pid of [7, 8, 9]) events.push({ step: 1, type: 'spawn', pid, parent: 3 });
  events.push({ step: 2, type: 'spawn', pid: 10, parent: 6 });
  for (let i = 1; i <= 5; i++) events.push({ step: 2 + i, type: 'syscall', pid: 7, object: `socket:[${i}]` });
  const layout = layoutRun(events, ['a', 'b', 'c', 'd', 'e']);
  const snapshot = {
    position: 10,
    processes: [2, 3, 4, 5, 6, 7, 8, 9, 10].map((pid) => ({ pid, argv: ['x'], state: 'running', fds: [], ignores: [] })),
    pipes: [],
    sockets: [1, 2, 3, 4, 5].map((id) => ({ id, state: 'ESTABLISHED', local: 'a', remote: 'b', queued: 0 })),
  };
  const shapes = arrangements(layout);
  assert.ok(shapes.some((a) => a.perBand < 5), 'a banded arrangement is offered');
  for (const a of shapes) {
    const vm = diagramModel(snapshot, [], layout, a);
    const boxes = [
      ...vm.procs.map((p) => ({ x: p.x, y: p.y, w: vm.card.w, h: vm.card.h })),
      ...vm.objects.map((o) => ({ x: o.x, y: o.y, w: vm.cell.w, h: vm.cell.h })),
    ];
    for (const [i, b] of boxes.entries()) {
      assert.ok(b.x + b.w <= vm.width && b.y + b.h <= vm.height, `${JSON.stringify(a)}: box ${i} sticks out`);
      for (const c of boxes.slice(i + 1)) {
        const apart = b.x + b.w <= c.x || c.x + c.w <= b.x || b.y + b.h <= c.y || c.y + c.h <= b.y;
        assert.ok(apart, `${JSON.stringify(a)}: boxes overlap`);
      }
    }
    assert.deepEqual(diagramShape(layout, a), { width: vm.width, height: vm.height }, JSON.stringify(a));
  }
  // Five columns draw narrower cards and cells than three do.
  assert.ok(layout.geometry.card.w < G.card.w && layout.geometry.cell.w < G.cell.w);
  const three = [1, 2, 3].map((t) => ({ step: 0, type: 'spawn', pid: t + 1, parent: 1 }));
  assert.equal(layoutRun(three, ['a', 'b', 'c']).geometry, G);
});

test('finished connections in TIME-WAIT share one cell, named in its tooltip, and the drawing keeps its shape', () => {
  // One terminal runs five short connections one after the other; each client
  // socket ends in TIME-WAIT and stays there to the end of the run.
  const events = [{ step: 0, type: 'spawn', pid: 2, parent: 1 }];
  for (let i = 1; i <= 5; i++) {
    events.push({ step: 100 * i, type: 'syscall', pid: 2, object: `socket:[${i}]` });
    events.push({ step: 100 * i + 1, type: 'tcpState', sock: i, from: 'ESTABLISHED', to: 'FIN-WAIT1' });
    events.push({ step: 100 * i + 2, type: 'tcpState', sock: i, from: 'FIN-WAIT2', to: 'TIME-WAIT' });
  }
  const layout = layoutRun(events, ['a']);
  const socket = (id, state) => ({ id, state, local: `127.0.0.1:${40000 + id}`, remote: '127.0.0.1:6000', queued: 0, orphan: true });
  const shape = diagramShape(layout, { perBand: 1, below: false });
  const at = (position) => {
    const sockets = [];
    for (let i = 1; i <= 5 && 100 * i < position; i++) sockets.push(socket(i, 100 * i + 2 < position ? 'TIME-WAIT' : 'ESTABLISHED'));
    const snapshot = { position, pipes: [], sockets, processes: [{ pid: 2, argv: ['x'], state: 'running', fds: [], ignores: [] }] };
    return diagramModel(snapshot, [], layout);
  };
  // Just after it enters TIME-WAIT a socket is still drawn in its own cell; a
  // few steps later it joins the others.
  assert.deepEqual(at(104).objects.map((o) => o.title), ['socket:[1] TIME-WAIT']);
  assert.deepEqual(at(204).objects.map((o) => o.title), ['socket:[2] TIME-WAIT', '1 in TIME-WAIT']);
  const last = at(600);
  assert.deepEqual(last.objects.map((o) => o.key), [TIME_WAIT_KEY]);
  assert.equal(last.objects[0].title, '5 in TIME-WAIT');
  for (let i = 1; i <= 5; i++) assert.match(last.objects[0].tip, new RegExp(`socket:\\[${i}\\] 127.0.0.1:4000${i} → 127.0.0.1:6000`));
  // Every step fits the shape the page chose the arrangement by.
  for (let position = 1; position <= 600; position += 7) {
    const vm = at(position);
    assert.deepEqual([vm.width, vm.height], [shape.width, shape.height], `at ${position}`);
  }
  assert.ok(layout.cells <= 2, `${layout.cells} cells`);
});

test('a terminal pane keeps the last lines only, like a scrollback', async () => {
  const { scrollback, SCROLLBACK_LINES } = await import('../../www/render/terminals.js');
  assert.equal(scrollback('$ echo hi\nhi\n$ '), '$ echo hi\nhi\n$ ');
  const lines = Array.from({ length: 3 * SCROLLBACK_LINES }, (_, i) => `line ${i}\n`).join('');
  const kept = scrollback(`${lines}$ `);
  assert.equal(kept.split('\n').length, SCROLLBACK_LINES + 1, 'the last lines and the prompt');
  assert.ok(kept.startsWith(`line ${2 * SCROLLBACK_LINES}\n`), kept.slice(0, 20));
  assert.ok(kept.endsWith(`line ${3 * SCROLLBACK_LINES - 1}\n$ `));
});
