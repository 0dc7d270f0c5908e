// The terminals: one pane per terminal (label, output, a command line, presets).
// `buildTerminals` makes the panes once per run; `updateTerminals` only sets text.
// Ctrl-C, Ctrl-Z and Ctrl-D in a command line go to `handlers.onKey`.

export function buildTerminals(container, terminals, presets, histories, handlers) {
  const panes = terminals.map((t, i) => {
    const pane = document.createElement('div');
    pane.className = 'term';
    pane.dataset.terminal = String(i);
    const head = document.createElement('div');
    head.className = 'term-head';
    const label = document.createElement('span');
    label.className = 'term-label';
    label.textContent = t.label;
    head.append(label);
    const out = document.createElement('pre');
    out.className = 'term-out';
    out.setAttribute('aria-label', `${t.label} terminal output`);
    out.tabIndex = 0;
    const form = document.createElement('form');
    form.className = 'term-line';
    const prompt = document.createElement('span');
    prompt.className = 'term-prompt';
    prompt.textContent = '$';
    const input = document.createElement('input');
    input.type = 'text';
    input.spellcheck = false;
    input.autocomplete = 'off';
    input.setAttribute('aria-label', `Command for ${t.label}`);
    input.placeholder = 'type a command, Enter runs it';
    const error = document.createElement('pre');
    error.className = 'term-error';
    error.setAttribute('role', 'alert');
    error.hidden = true;
    form.append(prompt, input);
    const presetBar = document.createElement('div');
    presetBar.className = 'presets';
    for (const p of presets.filter((p) => p.terminal === i)) {
      const b = document.createElement('button');
      b.type = 'button';
      b.className = 'preset';
      b.textContent = p.command;
      b.title = 'Type this command';
      b.addEventListener('click', () => handlers.onCommand(i, p.command, pane));
      presetBar.append(b);
    }
    histories[i] ??= [];
    const history = histories[i];
    let cursor = history.length;
    form.addEventListener('submit', (event) => {
      event.preventDefault();
      const text = input.value;
      if (!text.trim()) return;
      if (handlers.onCommand(i, text, pane)) {
        history.push(text);
        cursor = history.length;
        input.value = '';
      }
    });
    input.addEventListener('keydown', (event) => {
      if (event.key === 'ArrowUp' && history.length) {
        cursor = Math.max(0, cursor - 1);
        input.value = history[cursor];
        event.preventDefault();
      } else if (event.key === 'ArrowDown' && history.length) {
        cursor = Math.min(history.length, cursor + 1);
        input.value = history[cursor] ?? '';
        event.preventDefault();
      } else if (event.ctrlKey && 'cz'.includes(event.key) || event.key === 'd' && event.ctrlKey && !input.value) {
        // Ctrl-C, Ctrl-Z, and Ctrl-D on an empty line: `!int`, `!stp`, `!eof`.
        handlers.onKey(i, { c: '!int', z: '!stp', d: '!eof' }[event.key]);
        event.preventDefault();
      }
      event.stopPropagation();
    });
    pane.append(head, out, form, error);
    if (presetBar.childElementCount) pane.append(presetBar);
    return { pane, out, input, error };
  });
  container.replaceChildren(...panes.map((p) => p.pane));
  return panes;
}

// Like a terminal's scrollback, a pane keeps the last lines only: a loop can
// print 200,000 of them, and laying those out again at every step stalls the page.
export const SCROLLBACK_LINES = 1000;

export function scrollback(text) {
  let at = text.length;
  for (let n = 0; n <= SCROLLBACK_LINES; n++) {
    at = text.lastIndexOf('\n', at - 1);
    if (at < 0) return text;
  }
  return text.slice(at + 1);
}

export function updateTerminals(panes, snapshot, written) {
  panes.forEach((p, i) => {
    p.pane.classList.toggle('written', written.has(i));
    const text = scrollback(snapshot.terminals[i]?.output ?? '');
    if (p.out.textContent !== text) {
      p.out.textContent = text;
      p.out.scrollTop = p.out.scrollHeight;
    }
  });
}

export function showCommandError(pane, message) {
  const error = pane.querySelector('.term-error');
  error.textContent = message;
  error.hidden = !message;
}
