import { configurationError } from './errors.js';

/** A duration as written in options and configuration: `'90s'`, `'15m'`, `'24h'`, `'7d'`. */
export type Duration = `${number}${'s' | 'm' | 'h' | 'd'}`;

const UNIT_SECONDS = { s: 1, m: 60, h: 3600, d: 86_400 } as const;
/** Ten years: anything longer is a typo, and would push expiry times towards the edge of Date's range. */
const MAX_DURATION_SECONDS = 3650 * 86_400;
const DURATION_PATTERN = /^([1-9][0-9]{0,8})(s|m|h|d)$/;

/**
 * Parses a duration string into whole seconds. This is the one place durations are read; a bare number is
 * refused because its unit would be a guess.
 */
export function parseDuration(value: unknown, optionName: string): number {
  if (typeof value !== 'string') {
    throw configurationError(`${optionName} must be a duration string such as '15m', '24h' or '7d'`);
  }
  const match = DURATION_PATTERN.exec(value);
  if (!match) {
    throw configurationError(
      `${optionName} is '${value}': expected a positive whole number and a unit (s, m, h or d), such as '15m'`,
    );
  }
  const seconds = Number(match[1]) * UNIT_SECONDS[match[2] as keyof typeof UNIT_SECONDS];
  if (seconds > MAX_DURATION_SECONDS) {
    throw configurationError(
      `${optionName} is '${value}': expected a duration of at most 3650d (ten years), such as '15m' or '7d'`,
    );
  }
  return seconds;
}
