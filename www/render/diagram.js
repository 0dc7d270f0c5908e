// The diagram: a pure function from the diagram view model (model.js) to SVG.
// Every string is set with textContent.

import { G } from '../model.js';

const NS = 'http://www.w3.org/2000/svg';

function el(name, attrs = {}, text) {
  const node = document.createElementNS(NS, name);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, String(v));
  if (text !== undefined) node.textContent = text;
  return node;
}

function clip(text, chars) {
  return text.length > chars ? `${text.slice(0, chars - 1)}…` : text;
}

export function renderDiagram(svg, vm) {
  const { card, cell } = vm;
  // How many characters a line holds: `chars` on a card or cell of G's width.
  const onCard = (chars) => Math.floor((chars * card.w) / G.card.w);
  const onCell = (chars) => Math.floor((chars * cell.w) / G.cell.w);
  svg.replaceChildren();
  svg.setAttribute('viewBox', `0 0 ${vm.width} ${vm.height}`);
  const defs = el('defs');
  const marker = el('marker', { id: 'arrow', viewBox: '0 0 10 10', refX: 9, refY: 5, markerWidth: 6, markerHeight: 6, orient: 'auto-start-reverse' });
  marker.append(el('path', { d: 'M0,0 L10,5 L0,10 z', class: 'arrowhead' }));
  defs.append(marker);
  svg.append(defs);

  for (const c of vm.columns) {
    svg.append(el('text', { x: c.x + 2, y: c.y, class: 'col-label' }, c.label));
  }
  svg.append(el('text', { x: vm.objLeft + 2, y: vm.objLabelY, class: 'col-label' }, 'pipes, FIFOs, sockets'));

  const edges = el('g', { class: 'edges' });
  for (const e of vm.edges) {
    const midX = (e.x1 + e.x2) / 2;
    const midY = (e.y1 + e.y2) / 2;
    const curve = e.vertical ? `${e.x1},${midY} ${e.x2},${midY}` : `${midX},${e.y1} ${midX},${e.y2}`;
    const attrs = {
      d: `M${e.x1},${e.y1} C${curve} ${e.x2},${e.y2}`,
      class: `edge edge-${e.dir}${e.active ? ' active' : ''}`,
    };
    if (e.dir === 'write' || e.dir === 'both') attrs['marker-end'] = 'url(#arrow)';
    if (e.dir === 'read' || e.dir === 'both') attrs['marker-start'] = 'url(#arrow)';
    edges.append(el('path', attrs));
  }
  svg.append(edges);

  for (const p of vm.procs) {
    const g = el('g', { class: `proc proc-${p.stateClass}${p.actor ? ' actor' : ''}`, 'data-pid': p.pid, transform: `translate(${p.x},${p.y})` });
    // The whole of what a card clips, as its tooltip.
    g.append(el('title', {}, `${p.title}\n${p.state}\n${p.fds}`));
    g.append(el('rect', { width: card.w, height: card.h, rx: 6, class: 'card' }));
    // "ignores SIGPIPE" shares the title's line, which is shortened for it
    // (about 7 units a title character, 5.3 an italic one).
    const titleChars = p.ignores ? Math.floor((card.w - 20 - p.ignores.length * 5.3) / 7.2) : onCard(30);
    g.append(el('text', { x: 7, y: 16, class: 'proc-title' }, clip(p.title, titleChars)));
    g.append(el('text', { x: 7, y: 33, class: 'proc-state' }, clip(p.state, onCard(32))));
    g.append(el('text', { x: 7, y: 50, class: 'proc-fds' }, clip(p.fds, onCard(35))));
    if (p.ignores) g.append(el('text', { x: card.w - 7, y: 15, 'text-anchor': 'end', class: 'proc-ignores' }, p.ignores));
    if (p.signal) {
      const badge = el('g', { class: 'signal-mark', transform: `translate(${card.w - 92},4)` });
      badge.append(el('rect', { width: 88, height: 20, rx: 10 }));
      badge.append(el('text', { x: 44, y: 14, 'text-anchor': 'middle' }, `⚡ ${p.signal}`));
      g.append(badge);
    }
    svg.append(g);
  }

  for (const o of vm.objects) {
    const g = el('g', { class: `obj obj-${o.kind}${o.active ? ' active' : ''}${o.warn ? ' warn' : ''}`, 'data-key': o.key, transform: `translate(${o.x},${o.y})` });
    g.append(el('rect', { width: cell.w, height: cell.h, rx: o.kind === 'socket' ? 4 : 14, class: 'cell' }));
    g.append(el('title', {}, o.tip ?? `${o.title}\n${o.detail}`));
    g.append(el('text', { x: 8, y: 16, class: 'obj-title' }, clip(o.title, onCell(28))));
    g.append(el('text', { x: 8, y: 47, class: 'obj-detail' }, clip(o.detail, onCell(34))));
    if (o.kind !== 'socket') {
      // The tube: its fill is the bytes buffered against the capacity.
      g.append(el('rect', { x: 8, y: 23, width: cell.w - 16, height: 12, rx: 6, class: 'tube' }));
      const w = o.buffered > 0 ? Math.max(4, (cell.w - 16) * o.fill) : 0;
      g.append(el('rect', { x: 8, y: 23, width: w, height: 12, rx: 6, class: 'tube-fill' }));
    } else if (o.buffered > 0) {
      g.append(el('rect', { x: 8, y: 25, width: Math.min(cell.w - 16, 6 + o.buffered / 8), height: 8, rx: 4, class: 'tube-fill' }));
    }
    if (o.active) g.append(el('text', { x: cell.w - 8, y: 16, 'text-anchor': 'end', class: 'data-mark' }, '● data'));
    svg.append(g);
  }
}
