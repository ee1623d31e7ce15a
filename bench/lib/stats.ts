/** Small statistics over samples: median, percentiles, and the min / median / max summary every table reports. */

export interface Spread {
  min: number;
  median: number;
  max: number;
  /** How many samples (runs or rounds) the spread is over. */
  n: number;
}

export function median(values: readonly number[]): number {
  return percentile(values, 50);
}

/** The p-th percentile (0–100) by linear interpolation between closest ranks. */
export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = (p / 100) * (sorted.length - 1);
  const low = Math.floor(rank);
  const high = Math.ceil(rank);
  const lowValue = sorted[low] as number;
  return lowValue + ((sorted[high] as number) - lowValue) * (rank - low);
}

export function spread(values: readonly number[]): Spread {
  return {
    min: Math.min(...values),
    median: median(values),
    max: Math.max(...values),
    n: values.length,
  };
}

/** Element-wise ratios of two equally long series (the same rounds), summarized. */
export function ratioSpread(numerators: readonly number[], denominators: readonly number[]): Spread {
  return spread(numerators.map((value, i) => value / (denominators[i] as number)));
}

/** 12,345 — integers with thousands separators. */
export function count(value: number): string {
  return Number.isFinite(value) ? Math.round(value).toLocaleString('en') : '–';
}

/** Milliseconds with sensible precision (0.123, 1.23, 12.3, 123). */
export function ms(value: number): string {
  if (!Number.isFinite(value)) return '–';
  if (value < 1) return value.toFixed(3);
  if (value < 10) return value.toFixed(2);
  if (value < 100) return value.toFixed(1);
  return value.toFixed(0);
}

/** Microseconds from milliseconds. */
export function us(valueMs: number): string {
  if (!Number.isFinite(valueMs)) return '–';
  const value = valueMs * 1000;
  return value < 10 ? value.toFixed(2) : value < 100 ? value.toFixed(1) : value.toFixed(0);
}

export function ratio(value: number): string {
  return Number.isFinite(value) ? `${value.toFixed(2)}×` : '–';
}

/** "1.23× (1.10–1.31)": a ratio's median and its range over the runs. */
export function ratioRange(value: Spread): string {
  return `${ratio(value.median)} (${value.min.toFixed(2)}–${value.max.toFixed(2)})`;
}
