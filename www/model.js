// Turns the simulator's data (snapshots, trace events) into view models for the
// renderers. Pure functions: no DOM, no simulator calls.

// Geometry of the diagram, in SVG units.
export const G = {
  colWidth: 232,
  card: { w: 222, h: 60, gap: 6 },
  cell: { w: 200, h: 54, gap: 6 },
  // Kernel objects stand in columns to the right of the processes, or below
  // them: whichever shape the panel shows larger (see `diagramShape`).
  objColumns: 2,
  pad: 6,
  header: 22,
};

// A run of five columns or more draws narrower cards and cells, so that the
// drawing is shown larger: their lines are clipped sooner (a card's tooltip holds
// them whole). Without it the concurrency lesson's titles were 6.7 px at 1280x720.
const NARROW = { ...G, colWidth: 192, card: { ...G.card, w: 184 }, cell: { ...G.cell, w: 154 } };
const NARROW_FROM_COLUMNS = 5;

// How long an ended process stays drawn (in steps), so its end can be seen.
const LINGER_STEPS = 15;
const LINGER_KILLED = 400;
// How long before the trace first names an object its cell is kept for it (see
// layoutRun), and how long a socket that entered TIME-WAIT keeps its own cell.
const EARLY_STEPS = 10;
const TIME_WAIT_LINGER_STEPS = 3;

// The one cell that holds every finished connection's socket in TIME-WAIT (the
// side that closed first keeps it 60 s): drawn in a cell of its own, each would
// stay on screen to the end of a lesson, a column of them after a few requests.
export const TIME_WAIT_KEY = 'time-wait';

// A stable layout for a whole run, from its trace: each process gets a column
// (its terminal) and a row, each kernel object a cell. Lifetimes that do not
// overlap share a row, so nothing moves when the timeline moves.
export function layoutRun(events, terminalLabels) {
  const parent = new Map();
  const born = new Map();
  const died = new Map();
  const killed = new Set();
  const roots = [];
  const objFirst = new Map();
  const objLast = new Map();
  // Sockets that enter TIME-WAIT: they keep their own cell a few steps past their
  // last mention, then join the TIME-WAIT cell (so the drawing makes room for
  // the connections open at once, not for every one the run made).
  const timeWait = new Set();
  // Objects last named by a process blocked on them: which one.
  const lastBlocked = new Map();
  const touch = (key, step, blockedPid = null) => {
    if (!objFirst.has(key)) objFirst.set(key, step);
    objLast.set(key, step);
    if (blockedPid !== null) lastBlocked.set(key, blockedPid);
    else lastBlocked.delete(key);
  };
  for (const e of events) {
    if (e.type === 'spawn') {
      parent.set(e.pid, e.parent);
      born.set(e.pid, e.step);
      if (e.parent === 1) roots.push(e.pid);
    } else if (e.type === 'exit') {
      died.set(e.pid, e.step);
      if (e.status && e.status.signaled) killed.add(e.pid);
    } else if (e.type === 'syscall' && e.object) {
      // Pipes, sockets, and FIFOs (which live in /tmp in the lessons; a FIFO
      // elsewhere still gets a cell, after these). The outline the page reads
      // keeps these same keys (`object_keys` in crates/web): change both together.
      if (/^(pipe|socket):\[/.test(e.object) || e.object.startsWith('/tmp/')) touch(e.object, e.step);
    } else if (e.type === 'tcpState' && e.from !== 'TIME-WAIT') {
      // TIME-WAIT's end, 60 s later, is no use of the socket's own cell.
      touch(`socket:[${e.sock}]`, e.step);
      if (e.to === 'TIME-WAIT') timeWait.add(`socket:[${e.sock}]`);
    } else if (e.type === 'blocked') {
      for (const key of e.on ?? []) {
        if (key.kind === 'pipe') touch(`pipe:[${key.id}]`, e.step, e.pid);
        if (key.kind === 'socket') touch(`socket:[${key.id}]`, e.step, e.pid);
      }
    }
  }
  const end = events.length ? events[events.length - 1].step + 1 : 0;
  const column = new Map();
  const columnOf = (pid) => {
    if (column.has(pid)) return column.get(pid);
    const root = roots.indexOf(pid);
    let col = 0;
    if (root >= 0) col = root;
    else if (parent.has(pid) && parent.get(pid) !== pid) col = columnOf(parent.get(pid));
    column.set(pid, col);
    return col;
  };
  // Interval packing per column, in birth order.
  const rowsEnd = [];
  const procSlot = new Map();
  const pids = [...born.keys()].sort((a, b) => born.get(a) - born.get(b) || a - b);
  for (const pid of pids) {
    const col = columnOf(pid);
    const from = born.get(pid);
    const until = died.has(pid) ? died.get(pid) + (killed.has(pid) ? LINGER_KILLED : LINGER_STEPS) : Infinity;
    rowsEnd[col] ??= [];
    let row = rowsEnd[col].findIndex((free) => free < from);
    if (row < 0) row = rowsEnd[col].length;
    rowsEnd[col][row] = until;
    procSlot.set(pid, { col, row, until });
  }
  // The step after which each of them is drawn in the TIME-WAIT cell, which is
  // held from the first of those steps to the end of the run.
  const timeWaitAfter = new Map();
  let firstGrouped = Infinity;
  for (const key of timeWait) {
    const after = objLast.get(key) + TIME_WAIT_LINGER_STEPS;
    timeWaitAfter.set(key, after);
    firstGrouped = Math.min(firstGrouped, after + 1);
  }
  if (timeWait.size) {
    objFirst.set(TIME_WAIT_KEY, firstGrouped);
    objLast.set(TIME_WAIT_KEY, Infinity);
  }
  const objSlot = new Map();
  const cellsEnd = [];
  const keys = [...objFirst.keys()].sort((a, b) => objFirst.get(a) - objFirst.get(b));
  for (const key of keys) {
    // An object is drawn from before the trace first names it (socket(2) and
    // pipe(2) name none; a connection's socket is named when it is established),
    // and some stay after the last time: a FIFO until it is removed (no lesson
    // removes one), what a process blocks on to the end of the run. A cell given
    // to two of them at once sends one to a spare cell, and the drawing grows.
    const from = key === TIME_WAIT_KEY ? objFirst.get(key) : objFirst.get(key) - EARLY_STEPS;
    const forever = key.startsWith('/tmp/') || (lastBlocked.has(key) && !died.has(lastBlocked.get(key)));
    const until = forever ? Infinity : (timeWaitAfter.get(key) ?? objLast.get(key) + LINGER_STEPS);
    let cell = cellsEnd.findIndex((free) => free < from);
    if (cell < 0) cell = cellsEnd.length;
    cellsEnd[cell] = until;
    objSlot.set(key, cell);
  }
  const columns = Math.max(terminalLabels.length, rowsEnd.length, 1);
  const colRows = Array.from({ length: columns }, (_, c) => rowsEnd[c]?.length ?? 0);
  const rows = Math.max(1, ...colRows);
  const geometry = columns >= NARROW_FROM_COLUMNS ? NARROW : G;
  return { columns, rows, colRows, procSlot, objSlot, timeWaitAfter, cells: Math.max(cellsEnd.length, 1), labels: terminalLabels, end, geometry };
}

export function stateText(p) {
  if (p.state === 'killed') return `killed by ${p.killedBy}`;
  if (p.state === 'exited') return `exited ${p.exitCode}`;
  if (p.state === 'blocked') return `blocked in ${shortCall(p.blockedIn)}`;
  if (p.state === 'stopped') return `stopped by ${p.blockedIn}`;
  return 'running';
}

// `read(0, ...)` from strace's unfinished text `read(0, ...)`.
function shortCall(text) {
  if (!text) return 'a call';
  const open = text.indexOf('(');
  if (open < 0) return text;
  const name = text.slice(0, open);
  // An array or a struct first (poll's fds, select's sets) says little this short.
  if (/^[[{]/.test(text.slice(open + 1))) return `${name}(…)`;
  const firstArg = text.slice(open + 1).split(/[,)]/)[0];
  return `${name}(${firstArg.trim()}${text.length > open + 1 + firstArg.length + 1 ? ', …' : ''})`;
}

function fdArrow(fd) {
  if (fd.read && fd.write) return '↔';
  return fd.read ? '←' : '→';
}

// A process's fd table in one line, fds that point the same way at the same
// object grouped: `0,1,2↔/dev/pts/0  3→pipe:[1]`.
export function fdSummary(fds) {
  const groups = [];
  for (const fd of fds) {
    const how = `${fdArrow(fd)}${fd.object}`;
    const last = groups[groups.length - 1];
    if (last && last.how === how) last.fds.push(fd.fd);
    else groups.push({ fds: [fd.fd], how });
  }
  return groups.map((g) => `${g.fds.join(',')}${g.how}`).join('  ');
}

// The ways a run's drawing can be arranged: its terminals' columns side by side
// or wrapped into bands of `perBand` columns, one band under the other, and the
// kernel objects beside the processes or below them.
export function arrangements(layout) {
  const out = [];
  for (let bands = 1; bands <= Math.min(3, layout.columns); bands++) {
    const perBand = Math.ceil(layout.columns / bands);
    if (bands > 1 && Math.ceil(layout.columns / (perBand)) < bands) continue;
    for (const below of [false, true]) out.push({ perBand, below });
  }
  return out;
}

// Where the parts of a run's drawing go in an arrangement.
function frame(layout, { perBand, below }) {
  const { colWidth, card, cell, pad, header, objColumns } = layout.geometry ?? G;
  const bandTops = [];
  let top = header + pad;
  for (let first = 0; first < layout.columns; first += perBand) {
    bandTops.push(top);
    const rows = Math.max(1, ...layout.colRows.slice(first, first + perBand));
    top += rows * (card.h + card.gap) + header;
  }
  const procsBottom = top - header;
  const procsWidth = Math.min(perBand, layout.columns) * colWidth;
  const objLeft = below ? pad : procsWidth + 10;
  const objTop = below ? top : header + pad;
  const perRow = below ? Math.max(1, Math.floor(procsWidth / (cell.w + cell.gap))) : objColumns;
  const width = Math.max(procsWidth, objLeft + perRow * (cell.w + cell.gap)) + pad;
  return { bandTops, procsBottom, objLeft, objTop, perRow, width };
}

// The drawing's size for a whole run (as many objects as the run ever holds at
// once), so the page can pick the arrangement once per run, not per step.
export function diagramShape(layout, arrangement) {
  const { cell, pad } = layout.geometry ?? G;
  const f = frame(layout, arrangement);
  const objRows = Math.ceil(layout.cells / f.perRow);
  const height = Math.max(f.procsBottom, f.objTop + objRows * (cell.h + cell.gap)) + pad;
  return { width: f.width, height };
}

// The view model of the diagram at one position, in an arrangement (by default
// every column side by side, objects to the right).
// `stepEvents` are the events of the step that led here.
export function diagramModel(snapshot, stepEvents, layout, arrangement = { perBand: layout.columns, below: false }) {
  const { colWidth, card, cell, pad } = layout.geometry ?? G;
  const { below, perBand } = arrangement;
  const { bandTops, procsBottom, objLeft, objTop, perRow, width } = frame(layout, arrangement);
  const colX = (col) => pad + (col % perBand) * colWidth;
  const colTop = (col) => bandTops[Math.floor(col / perBand)] ?? bandTops[0];

  const moved = new Set();
  const signalled = new Map();
  for (const e of stepEvents) {
    if (e.type === 'syscall' && e.bytes > 0 && e.object) moved.add(e.object);
    if (e.type === 'signal' && e.signal !== 'SIGCHLD') signalled.set(e.pid, e.signal);
  }
  const actor = stepEvents.find((e) => e.type === 'syscall' || e.type === 'blocked')?.pid ?? null;

  const objects = [];
  const objectAt = new Map();
  let overflow = layout.cells;
  for (const p of snapshot.pipes) {
    const fifo = !p.name.startsWith('pipe:[');
    const o = {
      kind: fifo ? 'fifo' : 'pipe',
      key: p.name,
      x: 0,
      y: 0,
      title: fifo ? `FIFO ${p.name}` : p.name,
      detail: `${p.buffered} / ${p.capacity} bytes · ${p.readers} reader${p.readers === 1 ? '' : 's'}, ${p.writers} writer${p.writers === 1 ? '' : 's'}`,
      fill: p.capacity ? Math.min(1, p.buffered / p.capacity) : 0,
      buffered: p.buffered,
      warn: p.readers === 0 && p.writers > 0,
      active: moved.has(p.name),
    };
    objects.push(o);
    objectAt.set(p.name, o);
  }
  const finished = [];
  for (const s of snapshot.sockets) {
    const key = `socket:[${s.id}]`;
    const after = layout.timeWaitAfter?.get(key);
    if (s.state === 'TIME-WAIT' && after !== undefined && snapshot.position - 1 > after) {
      finished.push(s);
      continue;
    }
    const where = s.remote ? `${s.local ?? '?'} → ${s.remote}` : (s.local ?? 'unbound');
    const extras = [];
    if (s.queued) extras.push(`${s.queued} B queued`);
    if (s.state === 'LISTEN') extras.push(`accept queue ${s.acceptQueue}/${s.backlog}`);
    if (s.orphan) extras.push('no fd');
    const o = {
      kind: 'socket',
      key,
      x: 0,
      y: 0,
      title: `${key} ${s.state}`,
      detail: [where, ...extras].join(' · '),
      state: s.state,
      fill: 0,
      buffered: s.queued,
      warn: false,
      active: moved.has(key),
    };
    objects.push(o);
    objectAt.set(key, o);
  }

  if (finished.length) {
    const n = finished.length;
    const o = {
      kind: 'socket',
      key: TIME_WAIT_KEY,
      x: 0,
      y: 0,
      title: `${n} in TIME-WAIT`,
      detail: 'finished connections, kept 60 s',
      // The cell shows how many; its tooltip names each.
      tip: [
        'Finished connections: the side that closed first keeps its socket in TIME-WAIT for 60 s, so that late packets of the old connection are not taken for a new one.',
        ...finished.map((s) => `socket:[${s.id}] ${s.local ?? '?'} → ${s.remote ?? '?'}`),
      ].join('\n'),
      state: 'TIME-WAIT',
      fill: 0,
      buffered: 0,
      warn: false,
      active: false,
    };
    objects.push(o);
    for (const s of finished) objectAt.set(`socket:[${s.id}]`, o);
  }
  // An object that outlives its last mention in the trace (a pipe whose holders
  // no longer use it) may find its cell given to a newer one: it moves to a cell
  // free at this step, or past the drawing's room only when none is.
  const taken = new Set();
  const spare = [];
  const slotOf = new Map();
  for (const o of objects) {
    const slot = layout.objSlot.get(o.key);
    if (slot === undefined || taken.has(slot)) spare.push(o);
    else {
      taken.add(slot);
      slotOf.set(o, slot);
    }
  }
  let free = 0;
  for (const o of spare) {
    while (free < layout.cells && taken.has(free)) free++;
    const slot = free < layout.cells ? free : overflow++;
    taken.add(slot);
    slotOf.set(o, slot);
  }
  for (const o of objects) {
    const slot = slotOf.get(o);
    o.x = objLeft + (slot % perRow) * (cell.w + cell.gap);
    o.y = objTop + Math.floor(slot / perRow) * (cell.h + cell.gap);
  }

  const procs = [];
  const edges = [];
  // A process the layout does not know (none should be) goes under everything.
  let extraY = Math.max(procsBottom, below ? 0 : objTop);
  let extraBottom = extraY;
  for (const p of snapshot.processes) {
    const slot = layout.procSlot.get(p.pid);
    // An ended process is drawn a while, then its row goes to a later one.
    if (slot && snapshot.position - 1 > slot.until) continue;
    let x = pad;
    let y;
    if (slot) {
      x = colX(slot.col);
      y = colTop(slot.col) + slot.row * (card.h + card.gap);
    } else {
      y = extraY;
      extraY += card.h + card.gap;
      extraBottom = extraY;
    }
    const ignores = p.ignores.filter((s) => s === 'SIGPIPE' || s === 'SIGINT');
    procs.push({
      pid: p.pid,
      x,
      y,
      title: `${p.pid}  ${p.argv.join(' ')}`,
      state: stateText(p),
      stateClass: p.state,
      fds: fdSummary(p.fds),
      ignores: ignores.length ? `ignores ${ignores.join(', ')}` : '',
      signal: signalled.get(p.pid) ?? null,
      actor: p.pid === actor,
    });
    for (const fd of p.fds) {
      const o = objectAt.get(fd.object);
      if (!o) continue;
      edges.push({
        // From the card's right side to the cell's left, or down to its top.
        x1: below ? x + card.w / 2 : x + card.w,
        y1: below ? y + card.h : y + card.h / 2,
        x2: below ? o.x + cell.w / 2 : o.x,
        y2: below ? o.y : o.y + cell.h / 2,
        vertical: below,
        active: o.active && p.pid === actor,
        dir: fd.read && fd.write ? 'both' : fd.read ? 'read' : 'write',
      });
    }
  }
  const objRows = Math.ceil(Math.max(overflow, 1) / perRow);
  const height = Math.max(procsBottom, extraBottom, objTop + objRows * (cell.h + cell.gap)) + pad;
  const labelY = (top) => top - 7;
  const columns = layout.labels.map((label, i) => ({ label, x: colX(i), y: labelY(colTop(i)) }));
  return { width, height, card, cell, columns, objTop, objLeft, objLabelY: labelY(objTop), procs, objects, edges };
}

// The trace lines of a whole run, for the trace panel.
export function traceLines(events) {
  return events
    .filter((e) => e.line)
    .map((e) => ({ position: e.step + 1, pid: e.pid, text: e.line, key: e.key, type: e.type }));
}

// The pids that appear in a run's trace, for the filter.
// The processes of a run (from its outline or its events), for the trace filter.
export function tracePids(events) {
  return [...new Set(events.filter((e) => e.type === 'spawn').map((e) => e.pid))].sort((a, b) => a - b);
}

// The terminals written to in this step (`/dev/pts/N` is terminal N).
export function terminalsWritten(stepEvents) {
  const written = new Set();
  for (const e of stepEvents) {
    const m = e.type === 'syscall' && e.bytes > 0 && /^\/dev\/pts\/(\d+)$/.exec(e.object ?? '');
    if (m && /^(write|sendto|writev)$/.test(e.name)) written.add(Number(m[1]));
  }
  return written;
}

// What the live processes cost, grouped by program: how many, their fds, and
// their resident memory as measured for the real program (`rssKb`, when known).
export function costsModel(snapshot) {
  const rows = new Map();
  for (const p of snapshot.processes) {
    if (p.state === 'exited' || p.state === 'killed') continue;
    const program = p.argv[0] ?? '?';
    const row = rows.get(program) ?? { program, processes: 0, fds: 0, rssKb: 0, rssKnown: true };
    row.processes += 1;
    row.fds += p.fds.length;
    if (p.rssKb == null) row.rssKnown = false;
    else row.rssKb += p.rssKb;
    rows.set(program, row);
  }
  return [...rows.values()].map((r) => ({
    program: r.program,
    processes: r.processes,
    fds: r.fds,
    memory: r.rssKnown ? formatKb(r.rssKb) : '?',
  }));
}

function formatKb(kb) {
  return kb >= 1024 ? `${(kb / 1024).toFixed(1)} MiB` : `${kb} KiB`;
}

// 32 bytes a row, not a hexdump's 16: the Heartbleed server's 128-byte arena in
// four rows, so that two servers' memory stand beside the narration.
const MEMORY_ROW = 32;

// The user-space memory a process publishes (the Heartbleed server's arena, a
// reader's buffer): rows of MEMORY_ROW bytes, each byte with its region and
// whether the program's last copy read it.
export function memoryModel(snapshot) {
  const out = [];
  for (const p of snapshot.processes) {
    const m = p.memory;
    if (!m || p.state === 'exited' || p.state === 'killed') continue;
    const regionOf = (i) => m.regions.findIndex((r) => i >= r.start && i < r.start + r.len);
    const read = m.lastRead;
    const rows = [];
    for (let start = 0; start < m.bytes.length; start += MEMORY_ROW) {
      const cells = m.bytes.slice(start, start + MEMORY_ROW).map((b, k) => {
        const i = start + k;
        return {
          char: b >= 0x20 && b < 0x7f ? String.fromCharCode(b) : '·',
          region: regionOf(i),
          read: !!read && i >= read.start && i < read.start + read.len,
        };
      });
      rows.push({ offset: start, cells });
    }
    out.push({
      pid: p.pid,
      title: `${p.pid}  ${p.argv.join(' ')}`,
      regions: m.regions.map((r) => ({ label: r.label, start: r.start, len: r.len })),
      lastRead: read ? { ...read } : null,
      rows,
    });
  }
  return out;
}
