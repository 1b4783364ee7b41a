// Plots are Vega-Lite specs compiled by `vega-lite` and rendered to SVG strings by `vega`'s headless
// View, in Node: the report carries the SVG and needs neither library (nor JavaScript) to be viewed.
// Both packages are ESM-only with top-level await (vega-canvas probes for the optional `canvas`), so
// they load through import(), which TypeScript keeps as is in this CommonJS package.

type Vega = typeof import('vega', { with: { 'resolution-mode': 'import' } });
type VegaLite = typeof import('vega-lite', { with: { 'resolution-mode': 'import' } });

/** A Vega-Lite specification, as `vega-lite`'s compile takes it. */
export type VegaLiteSpec = Parameters<VegaLite['compile']>[0];

let libraries: Promise<[Vega, VegaLite]> | undefined;

function loadLibraries(): Promise<[Vega, VegaLite]> {
  // One after the other: they share modules (vega-util), and jest's ESM loader (the unit tests) fails
  // on two graphs loading one module at once.
  return (libraries ??= import('vega').then(async (vega) => [vega, await import('vega-lite')]));
}

/** Shared look of every plot: the page's font, no chart border. */
const CONFIG = {
  font: 'system-ui, -apple-system, "Segoe UI", Roboto, Arial, sans-serif',
  view: { stroke: null },
  axis: { labelFontSize: 11, titleFontSize: 12 },
  header: { labelFontSize: 12, titleFontSize: 12 },
} as const;

/** One Vega-Lite spec rendered to a standalone SVG element (a string). */
export async function renderSvg(spec: VegaLiteSpec): Promise<string> {
  const [vega, vegaLite] = await loadLibraries();
  const compiled = vegaLite.compile({ ...spec, config: { ...CONFIG, ...spec.config } } as VegaLiteSpec).spec;
  const view = new vega.View(vega.parse(compiled), { renderer: 'none' });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}
