// Links that reproduce what is on screen:
//   ?lesson=NAME&nc=FLAVOR&step=N
//   ?t=SCRIPT&t=SCRIPT&nc=FLAVOR&seed=N&step=N   (the sandbox: one t per terminal)
// plus present=1 for presentation mode, and one i=STEP:TERMINAL:LINE per line the
// learner typed (`!int`, `!stp` and `!eof` stand for Ctrl-C, Ctrl-Z and Ctrl-D), in order.
// Pure functions: no DOM, no simulator.

export const FLAVORS = ['openbsd', 'traditional', 'busybox', 'textbook'];
const MAX_TERMINALS = 8;
const MAX_SCRIPT = 4096;

// Returns {ok: true, state} or {ok: false, error}; `state` is
// {lesson, nc, step, scripts, seed, present}.
export function parseLink(search, lessonNames) {
  const params = new URLSearchParams(search);
  const known = new Set(['lesson', 'nc', 'step', 't', 'seed', 'present', 'i']);
  for (const key of params.keys()) {
    if (!known.has(key)) return fail(`unknown parameter "${key}"`);
  }
  const state = {
    lesson: null,
    nc: 'openbsd',
    step: 0,
    scripts: null,
    seed: 0,
    present: params.get('present') === '1',
    inputs: [],
  };
  let last = 0;
  for (const raw of params.getAll('i')) {
    const m = /^(\d{1,9}):(\d{1,2}):([\s\S]*)$/.exec(raw);
    if (!m) return fail(`a typed line must read STEP:TERMINAL:TEXT, not "${raw}"`);
    const input = { step: Number(m[1]), terminal: Number(m[2]), text: m[3] };
    if (input.step < last) return fail('typed lines must be in step order');
    if (input.text.length > MAX_SCRIPT) return fail(`a typed line may hold at most ${MAX_SCRIPT} characters`);
    last = input.step;
    state.inputs.push(input);
  }
  if (params.has('nc')) {
    const nc = params.get('nc');
    if (!FLAVORS.includes(nc)) return fail(`unknown nc flavor "${nc}" (use ${FLAVORS.join(', ')})`);
    state.nc = nc;
  }
  if (params.has('step')) {
    const step = wholeNumber(params.get('step'));
    if (step === null) return fail(`step must be a whole number, not "${params.get('step')}"`);
    state.step = step;
  }
  const scripts = params.getAll('t');
  if (params.has('lesson') && scripts.length > 0) {
    return fail('a link names a lesson or gives terminals (t=), not both');
  }
  if (scripts.length > 0) {
    if (scripts.length > MAX_TERMINALS) return fail(`at most ${MAX_TERMINALS} terminals, not ${scripts.length}`);
    if (scripts.some((s) => s.length > MAX_SCRIPT)) return fail(`a script may hold at most ${MAX_SCRIPT} characters`);
    state.scripts = scripts;
    if (params.has('seed')) {
      const seed = wholeNumber(params.get('seed'));
      if (seed === null) return fail(`seed must be a whole number, not "${params.get('seed')}"`);
      state.seed = seed;
    }
  } else {
    if (params.has('seed')) return fail('seed goes with a sandbox (t=...), not a lesson');
    const lesson = params.get('lesson') ?? lessonNames[0];
    if (!lessonNames.includes(lesson)) {
      return fail(`there is no lesson "${lesson}" (the lessons: ${lessonNames.join(', ')})`);
    }
    state.lesson = lesson;
  }
  return { ok: true, state };
}

export function formatLink({ lesson, nc, step, scripts, seed, present, inputs = [] }) {
  const params = new URLSearchParams();
  if (scripts) {
    for (const s of scripts) params.append('t', s);
    params.set('nc', nc);
    params.set('seed', String(seed ?? 0));
  } else {
    params.set('lesson', lesson);
    params.set('nc', nc);
  }
  for (const i of inputs) params.append('i', `${i.step}:${i.terminal}:${i.text}`);
  params.set('step', String(step));
  if (present) params.set('present', '1');
  return `?${params.toString()}`;
}

function wholeNumber(text) {
  if (!/^\d{1,15}$/.test(text)) return null;
  return Number(text);
}

function fail(error) {
  return { ok: false, error: `This link is malformed: ${error}. Showing the first lesson instead.` };
}
