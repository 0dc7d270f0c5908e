// The panels beside the narration: what the processes cost, and the memory a
// program publishes. Pure DOM from the view models of model.js; text only.

function node(tag, className, text) {
  const n = document.createElement(tag);
  if (className) n.className = className;
  if (text !== undefined) n.textContent = text;
  return n;
}

export function renderCosts(box, rows) {
  box.hidden = rows.length === 0;
  const table = node('table', 'costs-table');
  const head = node('tr');
  for (const h of ['program', 'processes', 'fds', 'memory (RSS)']) head.append(node('th', '', h));
  table.append(head);
  for (const r of rows) {
    const tr = node('tr');
    tr.append(node('td', 'mono', r.program), node('td', 'num', String(r.processes)), node('td', 'num', String(r.fds)), node('td', 'num', r.memory));
    table.append(tr);
  }
  box.replaceChildren(node('h3', '', 'What the live processes cost'), table);
}

export function renderMemory(box, views) {
  box.hidden = views.length === 0;
  const parts = [];
  for (const v of views) {
    const section = node('div', 'memory-view');
    section.dataset.pid = String(v.pid);
    section.append(node('h3', '', `Memory of ${v.title}`));
    const legend = node('p', 'memory-legend');
    v.regions.forEach((r, i) => {
      const item = node('span', `region region-${i % 4}`, `${r.label} (${r.start}..${r.start + r.len})`);
      legend.append(item, document.createTextNode(' '));
    });
    if (v.lastRead) {
      legend.append(node('span', 'region read', `last copied out: ${v.lastRead.len} bytes from ${v.lastRead.start}`));
    }
    section.append(legend);
    const grid = node('pre', 'memory-grid');
    for (const row of v.rows) {
      const line = node('span', 'memory-row');
      line.append(node('span', 'memory-offset', String(row.offset).padStart(4, ' ') + '  '));
      for (const c of row.cells) {
        const cls = ['byte'];
        if (c.region >= 0) cls.push(`region-${c.region % 4}`);
        if (c.read) cls.push('read');
        line.append(node('span', cls.join(' '), c.char));
      }
      grid.append(line, document.createTextNode('\n'));
    }
    section.append(grid);
    parts.push(section);
  }
  box.replaceChildren(...parts);
}
