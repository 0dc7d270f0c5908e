// Wires the page to the simulator (crates/web, bound into ./pkg by `cargo xtask serve`):
// controls, keyboard, links, and the loop that redraws after each move. The
// simulator is called only here; model.js shapes its data, render/*.js draw it.

import { parseLink, formatLink } from './url.js';
import { layoutRun, arrangements, diagramModel, diagramShape, traceLines, tracePids, terminalsWritten, costsModel, memoryModel } from './model.js';
import { renderDiagram } from './render/diagram.js';
import { renderCosts, renderMemory } from './render/panels.js';
import { renderTrace, highlightTrace } from './render/trace.js';
import { renderNarration, renderGoals, renderRichText } from './render/narration.js';
import { buildTerminals, updateTerminals, showCommandError } from './render/terminals.js';

const $ = (id) => document.getElementById(id);
const PLAY_INTERVAL_MS = 120;

const ui = {
  version: $('sim-version'),
  loadError: $('load-error'),
  loadErrorDetail: $('load-error-detail'),
  message: $('message'),
  lesson: $('lesson'),
  flavor: $('flavor'),
  flavorLine: $('flavor-line'),
  reset: $('reset'),
  back: $('back'),
  play: $('play'),
  step: $('step'),
  nextKey: $('next-key'),
  timeline: $('timeline'),
  position: $('position'),
  present: $('present'),
  helpButton: $('help-button'),
  help: $('help'),
  terminals: $('terminal-list'),
  addTerminal: $('add-terminal'),
  svg: $('diagram-svg'),
  costs: $('costs'),
  memory: $('memory'),
  narration: $('narration'),
  lessonTitle: $('lesson-title'),
  lessonIntro: $('lesson-intro'),
  goals: $('goals'),
  traceFilter: $('trace-filter'),
  traceList: $('trace-list'),
  permalink: $('permalink'),
};

let sim = null;
let lessonList = [];
let flavorList = [];
const app = {
  pg: null,
  state: null, // {lesson, nc, step, scripts, seed, present}
  info: null,
  events: [],
  lines: [],
  layout: null,
  panes: [],
  filterPid: null,
  timer: null,
  // Each terminal's command history (Up/Down), kept while the run is rebuilt.
  histories: [],
};

async function start() {
  try {
    // Imported here, not at the top, so that a missing or broken ./pkg is caught
    // and shown instead of leaving the page silently half-alive.
    sim = await import('./pkg/pipelab_web.js');
    await sim.default();
    ui.version.textContent = `pipelab-sim ${sim.version()}`;
    ui.version.dataset.state = 'ready';
  } catch (error) {
    showLoadError(error);
    return;
  }
  lessonList = sim.lessons('openbsd');
  flavorList = sim.flavors();
  for (const l of lessonList) ui.lesson.append(new Option(l.title, l.name));
  for (const f of flavorList) ui.flavor.append(new Option(f.name, f.name));
  wireControls();
  const parsed = parseLink(location.search, lessonList.map((l) => l.name));
  if (parsed.ok) {
    open(parsed.state);
  } else {
    showMessage(parsed.error);
    open({ lesson: lessonList[0].name, nc: 'openbsd', step: 0, scripts: null, seed: 0, present: false });
  }
  document.body.dataset.ready = 'true';
  // Read by `cargo xtask bench-web`: time from navigation to the first full draw.
  performance.mark('pipelab-first-render');
}

function showLoadError(error) {
  const detail = error instanceof Error ? error.message : String(error);
  // Text, never HTML: the message can quote a URL or anything a server sent.
  ui.loadErrorDetail.textContent = detail;
  ui.loadError.hidden = false;
  ui.version.textContent = 'simulator not loaded';
  ui.version.dataset.state = 'failed';
  console.error('pipelab: the simulator did not load', error);
}

function showMessage(text) {
  ui.message.textContent = text ?? '';
  ui.message.hidden = !text;
}

// Opens a run (a lesson or a sandbox) at a step.
function open(state) {
  pause();
  // A link's script that does not parse is not lost: its terminal starts with a
  // bare prompt and the script waits in its command line, the error beneath it.
  const broken = [];
  if (state.scripts) {
    state = { ...state, scripts: state.scripts.map((script, i) => {
      const problem = sim.checkCommand(script);
      if (!problem) return script;
      broken.push({ i, script, problem });
      return '';
    }) };
  }
  let pg;
  try {
    pg = state.scripts
      ? sim.Playground.fromScripts(state.scripts, state.nc, state.seed)
      : sim.Playground.fromLesson(state.lesson, state.nc);
  } catch (error) {
    showMessage(`${error.message ?? error}. Showing the first lesson instead.`);
    state = { lesson: lessonList[0].name, nc: 'openbsd', step: 0, scripts: null, seed: 0, present: state.present, inputs: [] };
    pg = sim.Playground.fromLesson(state.lesson, state.nc);
  }
  app.pg?.free();
  app.pg = pg;
  app.histories = [];
  state.inputs ??= [];
  // Typed lines from a link, replayed at their steps.
  const typed = [];
  for (const input of state.inputs) {
    try {
      pg.seek(input.step);
      applyInput(pg, input);
      typed.push(input);
    } catch (error) {
      showMessage(`A typed line of this link could not be replayed (${error.message ?? error}); the rest is shown without it.`);
      break;
    }
  }
  state.inputs = typed;
  app.state = state;
  ui.lesson.value = state.scripts ? 'sandbox' : state.lesson;
  ui.flavor.value = state.nc;
  setPresent(state.present);
  refreshRun();
  pg.seek(state.step);
  draw();
  for (const { i, script, problem } of broken) {
    const pane = app.panes[i];
    if (!pane) continue;
    // A text input keeps one line: a script's lines are joined as bash would
    // read them from one line, at least for the simple ones.
    pane.input.value = script.split('\n').map((l) => l.trim()).filter(Boolean).join('; ');
    showCommandError(pane.pane, problem.rendered || problem.message);
  }
  if (broken.length) {
    const which = broken.map((b) => b.i + 1).join(', ');
    showMessage(`This link's script for terminal ${which} does not parse; it is in that terminal's command line, with the error beneath it.`);
  }
}

// After the run's future changed (a new run, or typing): everything built per run.
function refreshRun() {
  const pg = app.pg;
  app.info = pg.info();
  // The layout reads an outline of the whole run; the trace panel and each step
  // fetch their own events, so a 200,000-step loop costs no more than a lesson.
  const outline = pg.outline();
  app.traceWindow = null;
  const lesson = lessonFor(app.state);
  const labels = app.info.terminals.map((t) => t.label);
  app.layout = layoutRun(outline, labels);
  // Five terminals or more draw five columns of cards, wider than the diagram's
  // panel: the diagram takes more of the row, the terminals (short lines) less.
  document.body.classList.toggle('wide-diagram', app.layout.columns >= 5);
  arrange();
  const presets = lesson?.presets ?? [];
  app.showCosts = !!lesson?.showCosts;
  app.panes = buildTerminals(ui.terminals, app.info.terminals, presets, app.histories, {
    onCommand: typeCommand,
    onKey: (t, text) => act(() => typeInput({ step: app.pg.position(), terminal: t, text })),
  });
  ui.timeline.max = String(app.info.end);
  const pids = tracePids(outline);
  ui.traceFilter.replaceChildren(new Option('all', ''), ...pids.map((p) => new Option(String(p), String(p))));
  if (app.filterPid !== null && !pids.includes(app.filterPid)) app.filterPid = null;
  ui.traceFilter.value = app.filterPid === null ? '' : String(app.filterPid);
  if (lesson) {
    ui.lessonTitle.textContent = lesson.title;
    renderRichText(ui.lessonIntro, lesson.intro);
  } else {
    ui.lessonTitle.textContent = 'Sandbox';
    ui.lessonIntro.textContent = 'Your own terminals: type anything the simulator runs.';
  }
  const flavor = flavorList.find((f) => f.name === app.state.nc);
  ui.flavorLine.textContent = flavor ? `nc = ${flavor.name}: ${flavor.line}` : '';
}

function lessonFor(state) {
  if (state.scripts) return null;
  // The lesson as it reads for the chosen flavor (goals differ per flavor).
  return sim.lessons(state.nc).find((l) => l.name === state.lesson) ?? null;
}

// The diagram's arrangement (columns side by side or in bands, kernel objects
// beside or below): whichever the panel shows largest. Chosen per run and panel
// size, never per step, so nothing moves while stepping. A small world is drawn
// a little larger, not blown up to fill the panel (more so when presenting).
function arrange() {
  ui.svg.style.maxWidth = ui.svg.style.maxHeight = '';
  const { width: w, height: h } = ui.svg.getBoundingClientRect();
  const all = arrangements(app.layout);
  const scale = (a) => {
    const shape = diagramShape(app.layout, a);
    return Math.min(w / shape.width, h / shape.height);
  };
  // Ties go to the first, the plainest.
  app.arrangement = w && h ? all.reduce((best, a) => (scale(a) > scale(best) * 1.02 ? a : best)) : all[0];
  const shape = diagramShape(app.layout, app.arrangement);
  const most = app.state.present ? 2.5 : 1.3;
  ui.svg.style.maxWidth = `${Math.round(shape.width * most)}px`;
  ui.svg.style.maxHeight = `${Math.round(shape.height * most)}px`;
}

// The trace panel holds the lines of the positions around the current one (a
// whole lesson fits), and is rebuilt only when the position nears its edge.
const TRACE_SPAN = 3000;
function showTraceAround(position) {
  if (app.filterPid !== null) {
    showProcessTraceAround(position);
    return;
  }
  const w = app.traceWindow;
  const end = app.info.end;
  const inside = w && w.pid === null && position >= w.from && position <= w.to;
  const nearEdge = w && ((w.from > 1 && position < w.from + TRACE_SPAN / 4) || (w.to < end && position > w.to - TRACE_SPAN / 4));
  if (inside && !nearEdge) return;
  const from = Math.max(1, position - TRACE_SPAN / 2);
  const to = Math.min(end, from + TRACE_SPAN);
  app.traceWindow = { pid: null, from, to };
  const lines = traceLines(app.pg.events(from, to));
  renderTrace(ui.traceList, lines, { before: from > 1 ? from : null, after: to < end ? to : null });
}

// With a process chosen, the panel holds that process's lines nearest the
// position, from the whole run: a process quiet around here still shows its
// lines, however far. Rebuilt only when fewer than a quarter of the span is
// left on a side where the process has more.
function showProcessTraceAround(position) {
  const w = app.traceWindow;
  if (w && w.pid === app.filterPid) {
    const upTo = countUpTo(w.positions, position);
    const enoughBefore = w.earlier === null || upTo >= TRACE_SPAN / 4;
    const enoughAfter = w.later === null || w.positions.length - upTo >= TRACE_SPAN / 4;
    if (enoughBefore && enoughAfter) return;
  }
  const around = app.pg.linesOf(app.filterPid, position, TRACE_SPAN / 2, TRACE_SPAN / 2);
  const lines = traceLines(around.events);
  app.traceWindow = { pid: app.filterPid, positions: lines.map((l) => l.position), earlier: around.earlier, later: around.later };
  renderTrace(ui.traceList, lines, { before: around.earlier, after: around.later, pid: app.filterPid });
}

// How many of the ascending `positions` are at most `position`.
function countUpTo(positions, position) {
  let lo = 0;
  let hi = positions.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (positions[mid] <= position) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

// Redraws everything that depends on the position.
function draw() {
  const pg = app.pg;
  const snap = pg.snapshot();
  const position = snap.position;
  const stepEvents = position > 0 ? pg.events(position, position) : [];
  renderDiagram(ui.svg, diagramModel(snap, stepEvents, app.layout, app.arrangement));
  renderMemory(ui.memory, memoryModel(snap));
  // The costs table belongs to the lessons that compare servers.
  renderCosts(ui.costs, app.showCosts ? costsModel(snap) : []);
  renderNarration(ui.narration, pg.narration(), position, app.info.end);
  renderGoals(ui.goals, pg.goals());
  updateTerminals(app.panes, snap, terminalsWritten(stepEvents));
  ui.timeline.value = String(position);
  ui.position.textContent = `${position} / ${app.info.end}`;
  showTraceAround(position);
  highlightTrace(ui.traceList, position, true);
  ui.back.disabled = position === 0;
  ui.step.disabled = position >= app.info.end;
  ui.nextKey.disabled = position >= app.info.end;
  app.state.step = position;
  const link = formatLink(app.state);
  ui.permalink.href = link;
  history.replaceState(null, '', link);
}

function act(fn) {
  try {
    fn();
  } catch (error) {
    showMessage(String(error.message ?? error));
  }
  draw();
}

function applyInput(pg, { terminal, text }) {
  if (text === '!int') pg.interrupt(terminal);
  else if (text === '!eof') pg.eof(terminal);
  else if (text === '!stp') pg.suspend(terminal);
  else pg.typeLine(terminal, text);
}

// Types into the run at the current step, and remembers it for links. Typing after
// stepping back replaces the old future, in the simulator and here alike.
function typeInput(input) {
  pause();
  applyInput(app.pg, input);
  app.state.inputs = [...app.state.inputs.filter((i) => i.step <= input.step), input];
  refreshRun();
  app.pg.seek(Math.min(app.info.end, input.step + 1));
}

// A line the shell would take as a command must parse (the run refuses it with
// bash's error and a caret); a line typed to a program such as nc is its data.
function typeCommand(terminal, text, pane) {
  try {
    typeInput({ step: app.pg.position(), terminal, text });
    showCommandError(pane, '');
    draw();
    return true;
  } catch (error) {
    showCommandError(pane, String(error.message ?? error));
    return false;
  }
}

function forward() { act(() => app.pg.forward()); }
function back() { act(() => app.pg.back()); }
function seek(n) { act(() => app.pg.seek(n)); }
function nextKey() { seek(app.pg.nextKey()); }
function prevKey() { seek(app.pg.prevKey()); }

function play() {
  if (app.timer !== null) return;
  if (app.pg.position() >= app.info.end) app.pg.seek(0);
  app.timer = setInterval(() => {
    if (app.pg.position() >= app.info.end) {
      pause();
      return;
    }
    app.pg.forward();
    draw();
  }, PLAY_INTERVAL_MS);
  ui.play.textContent = '⏸ Pause';
  ui.play.setAttribute('aria-label', 'Pause');
}

function pause() {
  if (app.timer === null) return;
  clearInterval(app.timer);
  app.timer = null;
  ui.play.textContent = '▶ Play';
  ui.play.setAttribute('aria-label', 'Play');
}

function togglePlay() {
  if (app.timer === null) play();
  else pause();
}

function setPresent(on) {
  document.body.classList.toggle('present', on);
  ui.present.setAttribute('aria-pressed', String(on));
  if (app.state) app.state.present = on;
  // The diagram's panel has a new size.
  if (app.layout) arrange();
}

function wireControls() {
  ui.step.addEventListener('click', () => { pause(); forward(); });
  ui.back.addEventListener('click', () => { pause(); back(); });
  ui.play.addEventListener('click', togglePlay);
  ui.reset.addEventListener('click', () => { pause(); seek(0); });
  ui.nextKey.addEventListener('click', () => { pause(); nextKey(); });
  ui.timeline.addEventListener('input', () => { pause(); seek(Number(ui.timeline.value)); });
  ui.present.addEventListener('click', () => { setPresent(!document.body.classList.contains('present')); draw(); });
  ui.helpButton.addEventListener('click', () => ui.help.showModal());
  ui.lesson.addEventListener('change', () => {
    showMessage('');
    const present = app.state.present;
    if (ui.lesson.value === 'sandbox') {
      // The sandbox's links carry its terminals' scripts (t=...).
      const sandbox = lessonList.find((l) => l.name === 'sandbox');
      open({ lesson: null, nc: app.state.nc, step: 0, scripts: sandbox.terminals.map((t) => t.script), seed: 0, present });
    } else {
      open({ lesson: ui.lesson.value, nc: app.state.nc, step: 0, scripts: null, seed: 0, present });
    }
  });
  ui.flavor.addEventListener('change', () => {
    showMessage('');
    open({ ...app.state, nc: ui.flavor.value, step: 0, inputs: [] });
  });
  ui.addTerminal.addEventListener('click', () => {
    const scripts = app.state.scripts ?? app.info.terminals.map((t) => t.script);
    if (scripts.length >= 8) return;
    open({ lesson: null, nc: app.state.nc, step: 0, scripts: [...scripts, ''], seed: app.state.seed ?? 0, present: app.state.present });
  });
  ui.traceFilter.addEventListener('change', () => {
    app.filterPid = ui.traceFilter.value === '' ? null : Number(ui.traceFilter.value);
    app.traceWindow = null;
    showTraceAround(app.pg.position());
    highlightTrace(ui.traceList, app.pg.position(), true);
  });
  ui.traceList.addEventListener('click', (event) => {
    const li = event.target.closest('li[data-position]');
    if (!li) return;
    pause();
    seek(Number(li.dataset.position));
  });
  // A new panel size may suit the other arrangement of the diagram.
  let resizing = false;
  window.addEventListener('resize', () => {
    if (resizing || !app.pg) return;
    resizing = true;
    requestAnimationFrame(() => {
      resizing = false;
      arrange();
      draw();
    });
  });
  document.addEventListener('keydown', (event) => {
    if (event.target.closest?.('input[type="text"], select, textarea')) return;
    if (event.altKey || event.ctrlKey || event.metaKey) return;
    const keys = {
      ArrowRight: () => { pause(); forward(); },
      ArrowLeft: () => { pause(); back(); },
      ' ': togglePlay,
      Home: () => { pause(); seek(0); },
      End: () => { pause(); seek(app.info.end); },
      PageDown: () => { pause(); nextKey(); },
      PageUp: () => { pause(); prevKey(); },
      '?': () => ui.help.showModal(),
    };
    const run = keys[event.key];
    if (!run || ui.help.open) return;
    // The slider handles its own arrows; the page's shortcuts still apply.
    event.preventDefault();
    run();
  });
}

start();
