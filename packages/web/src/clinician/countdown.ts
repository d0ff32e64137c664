/**
 * The break-glass countdown: the time left in words, and what a screen reader is told when (a polite live
 * region announcing every change would talk over everything): every 5 minutes, then each minute in the last
 * five, then at 30 seconds and at the end. Pure, so both are unit-tested.
 */

/** Whole seconds left until `expiresAt` (never negative). */
export function secondsLeft(expiresAt: string, now: number): number {
  return Math.max(0, Math.ceil((Date.parse(expiresAt) - now) / 1000));
}

/** "1 h 05 min", "12 min 30 s", "45 s". */
export function formatLeft(seconds: number): string {
  const h = Math.floor(seconds / 3600);
  const m = Math.floor((seconds % 3600) / 60);
  const s = seconds % 60;
  if (h > 0) return `${h} h ${String(m).padStart(2, '0')} min`;
  if (m > 0) return `${m} min ${String(s).padStart(2, '0')} s`;
  return `${s} s`;
}

/** The announcement for this second, or undefined when nothing should be said now. */
export function announcement(seconds: number): string | undefined {
  if (seconds === 0) return 'Emergency access has expired.';
  if (seconds === 30) return 'Emergency access ends in 30 seconds.';
  if (seconds % 60 !== 0) return undefined;
  const minutes = seconds / 60;
  if (minutes <= 5 || minutes % 5 === 0) {
    return `Emergency access ends in ${minutes} minute${minutes === 1 ? '' : 's'}.`;
  }
  return undefined;
}
