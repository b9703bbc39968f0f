/** Small statistics for the benchmark: percentiles, and the spread of repeated measurements. */

export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const index = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[index]!;
}

export function median(values: readonly number[]): number {
  return percentile(values, 50);
}

/** Repeated measurements of one figure: its median, and the range it moved in. */
export interface Spread {
  value: number;
  min: number;
  max: number;
}

export function spreadOf(values: readonly number[]): Spread {
  return { value: median(values), min: Math.min(...values), max: Math.max(...values) };
}

/** Runs `task` `count` times one after another and returns each duration in ms. */
export async function timeEach(count: number, task: (i: number) => Promise<unknown>): Promise<number[]> {
  const durations: number[] = [];
  for (let i = 0; i < count; i++) {
    const started = performance.now();
    await task(i);
    durations.push(performance.now() - started);
  }
  return durations;
}
