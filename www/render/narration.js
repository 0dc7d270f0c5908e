// Narration, the lesson's intro and its goals: pure DOM from plain data.

export function renderNarration(box, narration, position, end) {
  box.querySelector('.narration-text').textContent = narration.text;
  box.querySelector('.narration-man').textContent = narration.man ? `man ${narration.man}` : '';
  box.querySelector('.narration-step').textContent = `step ${position} of ${end}`;
  box.classList.toggle('key', narration.key);
}

export function renderGoals(list, goals) {
  const items = goals.map((g) => {
    const li = document.createElement('li');
    li.className = g.met ? 'met' : 'unmet';
    const mark = document.createElement('span');
    mark.className = 'goal-mark';
    mark.textContent = g.met ? '✓' : '○';
    mark.setAttribute('aria-label', g.met ? 'met' : 'not yet');
    const text = document.createElement('span');
    text.textContent = g.text;
    li.append(mark, text);
    return li;
  });
  list.replaceChildren(...items);
}

// `code` spans for text between backticks; the rest as plain text.
export function renderRichText(node, text) {
  const parts = text.split('`');
  node.replaceChildren(...parts.map((part, i) => {
    if (i % 2 === 0) return document.createTextNode(part);
    const code = document.createElement('code');
    code.textContent = part;
    return code;
  }));
}
