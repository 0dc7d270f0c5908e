// The trace panel: strace -f lines, the current step's lines highlighted.
// Built once per run (`renderTrace`), then only re-highlighted (`highlightTrace`).

// `more.before` / `more.after`: where the lines left out are. For the whole
// trace, the first and last position shown, when the lines stop short of the
// run's start or end; for one process (`more.pid`), the positions of its nearest
// lines left out.
export function renderTrace(list, lines, more = {}) {
  const items = [];
  const one = more.pid != null;
  if (more.before) {
    items.push(note(one ? `… earlier lines of pid ${more.pid}: the nearest at step ${more.before}` : `… earlier lines: go back before step ${more.before}`));
  }
  for (const line of lines) {
    const li = document.createElement('li');
    li.dataset.position = String(line.position);
    li.className = line.key ? 'key' : '';
    const pos = document.createElement('span');
    pos.className = 'pos';
    pos.textContent = String(line.position);
    const text = document.createElement('span');
    text.textContent = line.text;
    li.append(pos, text);
    items.push(li);
  }
  if (more.after) {
    items.push(note(one ? `… later lines of pid ${more.pid}: the next at step ${more.after}` : `… later lines: go on past step ${more.after}`));
  }
  list.replaceChildren(...items);
}

function note(text) {
  const li = document.createElement('li');
  li.className = 'more';
  li.textContent = text;
  return li;
}

export function highlightTrace(list, position, scroll) {
  let first = null;
  for (const li of list.querySelectorAll('li.current')) li.classList.remove('current');
  for (const li of list.querySelectorAll(`li[data-position="${position}"]`)) {
    li.classList.add('current');
    first ??= li;
  }
  // Centred by hand: scrollIntoView could also scroll the page itself.
  if (scroll && first) list.scrollTop = first.offsetTop - list.clientHeight / 2;
  return first !== null;
}
