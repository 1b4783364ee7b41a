// The page around the plots: escaping, tables, sections and the inline stylesheet. Everything here
// is plain strings, so the report opens anywhere with no network and no JavaScript.

const ENTITIES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

/** Text (or an attribute value) made safe to put into HTML: every value from a result goes through here. */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ENTITIES[c]);
}

/** A table cell: text (escaped); `numeric` cells are right-aligned, `title` shows on hover. */
export interface TableCell {
  text: string;
  numeric?: boolean;
  title?: string;
}

export type Cell = string | TableCell;

/** A right-aligned (numeric) cell. */
export function num(text: string): TableCell {
  return { text, numeric: true };
}

/** An HTML table; `name` names it for tests and readers (data-table); `rowClass` may mark rows (e.g. `failed`). */
export function htmlTable(name: string, header: Cell[], rows: Cell[][], rowClass?: (row: number) => string | undefined): string {
  const cell = (tag: 'th' | 'td', c: Cell) => {
    const { text, numeric, title } = typeof c === 'string' ? { text: c, numeric: false, title: undefined } : c;
    const attrs = `${numeric ? ' class="num"' : ''}${title ? ` title="${escapeHtml(title)}"` : ''}`;
    return `<${tag}${attrs}>${escapeHtml(text)}</${tag}>`;
  };
  const body = rows.map((r, i) => {
    const cls = rowClass?.(i);
    return `<tr${cls ? ` class="${escapeHtml(cls)}"` : ''}>${r.map((c) => cell('td', c)).join('')}</tr>`;
  });
  return (
    `<table data-table="${escapeHtml(name)}"><thead><tr>${header.map((c) => cell('th', c)).join('')}</tr></thead>` +
    `<tbody>${body.join('')}</tbody></table>`
  );
}

/**
 * A rendered plot with its caption. `svg` is Vega's own output (it escapes the text it draws);
 * `plot` names the figure (data-plot) so tests and readers can find it.
 */
export function figure(plot: string, svg: string, caption: string): string {
  return `<figure class="plot" data-plot="${escapeHtml(plot)}">${svg}<figcaption>${escapeHtml(caption)}</figcaption></figure>`;
}

/** Figures side by side, wrapping onto the next line when the page is narrow. */
export function plotRow(figures: string[]): string {
  return `<div class="plots">${figures.join('')}</div>`;
}

/** A paragraph of text. */
export function paragraph(text: string, className?: string): string {
  return `<p${className ? ` class="${escapeHtml(className)}"` : ''}>${escapeHtml(text)}</p>`;
}

/** A block of preformatted text (the spec as YAML). */
export function preformatted(name: string, text: string): string {
  return `<pre data-block="${escapeHtml(name)}">${escapeHtml(text)}</pre>`;
}

/** Label/value pairs shown under the title. */
export function facts(pairs: Array<[string, string]>): string {
  return `<dl class="facts">${pairs.map(([k, v]) => `<dt>${escapeHtml(k)}</dt><dd>${escapeHtml(v)}</dd>`).join('')}</dl>`;
}

export interface Section {
  id: string;
  title: string;
  /** Already-built HTML (from the helpers above). */
  html: string;
}

/** The whole document: title, facts, a table of contents and the sections, with the stylesheet inline. */
export function page(title: string, header: string, sections: Section[]): string {
  const toc = sections.map((s) => `<li><a href="#${escapeHtml(s.id)}">${escapeHtml(s.title)}</a></li>`).join('');
  const body = sections.map((s) => `<section id="${escapeHtml(s.id)}"><h2>${escapeHtml(s.title)}</h2>${s.html}</section>`).join('\n');
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(title)}</title>
<style>${STYLE}</style>
</head>
<body>
<header><h1>${escapeHtml(title)}</h1>${header}<nav><ol>${toc}</ol></nav></header>
<main>
${body}
</main>
<footer>${escapeHtml('Made by `retain report` (Vega-Lite plots rendered to SVG). Self-contained: no scripts, no network.')}</footer>
</body>
</html>
`;
}

const STYLE = `
:root { color-scheme: light; }
body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif; color: #1b1f24; margin: 0 auto; max-width: 1280px; padding: 16px 24px 48px; }
h1 { font-size: 22px; margin: 8px 0 4px; }
h2 { font-size: 17px; margin: 28px 0 8px; padding-bottom: 4px; border-bottom: 1px solid #d8dee4; }
dl.facts { display: grid; grid-template-columns: max-content 1fr; gap: 2px 14px; margin: 8px 0; }
dl.facts dt { color: #57606a; }
dl.facts dd { margin: 0; }
nav ol { display: flex; flex-wrap: wrap; gap: 4px 16px; list-style: none; padding: 0; margin: 8px 0 0; }
nav a { color: #0969da; text-decoration: none; }
div.plots { display: flex; flex-wrap: wrap; gap: 4px 40px; align-items: flex-start; }
figure.plot { margin: 8px 0 16px; overflow-x: auto; max-width: 100%; }
div.plots figure.plot figcaption { max-width: 420px; }
figure.plot svg { display: block; max-width: none; }
figcaption { color: #57606a; font-size: 13px; margin-top: 4px; }
table { border-collapse: collapse; margin: 6px 0 14px; font-variant-numeric: tabular-nums; }
th, td { border-bottom: 1px solid #e3e7eb; padding: 3px 10px; text-align: left; vertical-align: top; }
th { background: #f6f8fa; font-weight: 600; }
td.num, th.num { text-align: right; }
tr.failed td { background: #fff1f0; }
pre { background: #f6f8fa; padding: 10px 12px; overflow-x: auto; font-size: 12.5px; border-radius: 4px; }
p.note { color: #57606a; }
footer { margin-top: 32px; color: #8c959f; font-size: 12px; }
`;
