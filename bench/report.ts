import { writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import path from 'node:path';
import { THROUGHPUT_GOAL, type Metric, type ThroughputPoint } from './metrics';

const round = (value: number, digits = 2) => (Number.isFinite(value) ? Number(value.toPrecision(digits + 2)) : value);

/** The table printed at the end of `npm run bench` (also pasted into bench/README.md). */
export function table(metrics: Metric[], points: ThroughputPoint[]): string {
  const rows = metrics.map((m) => {
    const spread =
      m.kernSpread && m.kernSpread.min !== m.kernSpread.max
        ? ` (${round(m.kernSpread.min)}–${round(m.kernSpread.max)})`
        : '';
    const p99 = m.kernP99 !== undefined ? `${round(m.kernP99)} / ${round(m.baselineP99 ?? NaN)}` : '';
    return `| ${m.name} | ${round(m.kern)}${spread} | ${round(m.baseline)} | ${round(m.ratio)}× | ${p99} | ${m.unit} | ${m.goal ?? ''} | ${m.verdict ?? ''} |`;
  });
  const throughputRows = points.map(
    (p) =>
      `| ${p.n} | ${p.workers} | ${p.pairs} | ${round(p.kernRunsPerSecond)} | ${round(p.baselineRunsPerSecond)} | ${round(p.ratio)}× (${round(p.ratioSpread[0])}–${round(p.ratioSpread[1])}) | ${p.verdict} | ${round(p.kernLatencyP50)} / ${round(p.baselineLatencyP50)} | ${round(p.kernRssPerRunKiB)} / ${round(p.baselineRssPerRunKiB)} | ${round(p.kernServerCpuMsPerRun)} / ${round(p.baselineServerCpuMsPerRun)} |`,
  );
  const notes = metrics.filter((m) => m.note).map((m) => `- ${m.name}: ${m.note}`);
  return [
    '| metric | kern p50 (spread) | baseline p50 | ratio | p99 kern / baseline | unit | goal | verdict |',
    '|---|---|---|---|---|---|---|---|',
    ...rows,
    '',
    `| concurrent runs (500 ms model) | workers | pairs | kern runs/s | baseline runs/s | ratio, median of the pairs (range) | ≥ ${THROUGHPUT_GOAL}× | run latency p50 kern / baseline (ms) | peak RSS per run kern / baseline (KiB) | Temporal server CPU per run kern / baseline (ms) |`,
    '|---|---|---|---|---|---|---|---|---|---|',
    ...throughputRows,
    ...(notes.length ? ['', ...notes] : []),
  ].join('\n');
}

/** How many goals each verdict has, as the bench's last line says it. */
export function verdictCounts(metrics: Metric[]): string {
  const judged = metrics.filter((m) => m.verdict !== undefined);
  const count = (verdict: string) => judged.filter((m) => m.verdict === verdict).length;
  const missed = judged.filter((m) => m.verdict !== 'met').map((m) => `${m.name}: ${m.verdict}`);
  return `goals: ${count('met')} met, ${count('missed')} missed, ${count('undecided')} undecided${missed.length ? ` (${missed.join('; ')})` : ''}`;
}

/**
 * bench/results.json: `{ machine, when, metrics: { name: { kern, baseline, ratio, unit, p99?, goal?, verdict? } },
 * throughput }`.
 */
export function writeResults(metrics: Metric[], points: ThroughputPoint[], config: Record<string, unknown>): string {
  const file = path.resolve(__dirname, 'results.json');
  const results = {
    machine: {
      cpus: cpus().length,
      cpu: cpus()[0]?.model,
      memoryGiB: Math.round(totalmem() / 2 ** 30),
      node: process.version,
      platform: `${process.platform}-${process.arch}`,
    },
    when: new Date().toISOString(),
    config,
    metrics: Object.fromEntries(
      metrics.map((m) => [
        m.name,
        {
          kern: round(m.kern, 4),
          baseline: round(m.baseline, 4),
          ratio: round(m.ratio, 3),
          unit: m.unit,
          ...(m.kernP99 !== undefined ? { p99: round(m.kernP99, 4), baselineP99: round(m.baselineP99 ?? NaN, 4) } : {}),
          ...(m.kernSpread ? { spread: [round(m.kernSpread.min, 4), round(m.kernSpread.max, 4)] } : {}),
          ...(m.goal ? { goal: m.goal } : {}),
          ...(m.verdict ? { verdict: m.verdict } : {}),
          ...(m.note ? { note: m.note } : {}),
        },
      ]),
    ),
    throughput: points,
  };
  writeFileSync(file, `${JSON.stringify(results, null, 2)}\n`);
  return file;
}

/** bench/throughput.svg: runs per second and run latency against N, kern next to the baseline. */
export function writeChart(points: ThroughputPoint[]): string {
  const file = path.resolve(__dirname, 'throughput.svg');
  const panel = (x0: number, title: string, unit: string, kern: number[], base: number[]) => {
    const width = 360;
    const height = 220;
    const max = Math.max(...kern, ...base) * 1.15 || 1;
    const px = (i: number) => x0 + 50 + (i * (width - 80)) / Math.max(points.length - 1, 1);
    const py = (v: number) => 40 + height - (v / max) * height;
    const line = (values: number[], color: string) =>
      `<polyline fill="none" stroke="${color}" stroke-width="2" points="${values.map((v, i) => `${px(i)},${py(v)}`).join(' ')}"/>` +
      values.map((v, i) => `<circle cx="${px(i)}" cy="${py(v)}" r="3" fill="${color}"/>`).join('');
    const ticks = points
      .map((p, i) => `<text x="${px(i)}" y="${height + 58}" text-anchor="middle">N=${p.n}</text>`)
      .join('');
    const axis = `<line x1="${x0 + 40}" y1="${height + 40}" x2="${x0 + width}" y2="${height + 40}" stroke="#888"/>`;
    const scale = [0, 0.5, 1]
      .map((f) => `<text x="${x0 + 36}" y="${py(max * f) + 4}" text-anchor="end">${round(max * f, 1)}</text>`)
      .join('');
    return `<text x="${x0 + 50}" y="24" font-weight="bold">${title} (${unit})</text>${axis}${scale}${ticks}${line(base, '#999')}${line(kern, '#d1495b')}`;
  };
  const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="780" height="320" font-family="sans-serif" font-size="12">
<rect width="100%" height="100%" fill="white"/>
${panel(
  0,
  'throughput',
  'runs/s',
  points.map((p) => p.kernRunsPerSecond),
  points.map((p) => p.baselineRunsPerSecond),
)}
${panel(
  400,
  'run latency p50',
  'ms',
  points.map((p) => p.kernLatencyP50),
  points.map((p) => p.baselineLatencyP50),
)}
<text x="50" y="310" fill="#d1495b">● kern</text><text x="120" y="310" fill="#999">● bare Temporal baseline</text>
</svg>
`;
  writeFileSync(file, svg);
  return file;
}
