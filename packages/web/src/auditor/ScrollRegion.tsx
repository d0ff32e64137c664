/**
 * A table that may scroll sideways on a phone: a labelled region that takes keyboard focus, so the arrow keys
 * scroll it (WCAG 2.1.1; axe's scrollable-region-focusable) even when the table holds no link or button.
 */
import type { ReactNode } from 'react';

export function ScrollRegion({ label, children }: { label: string; children: ReactNode }) {
  return (
    // biome-ignore lint/a11y/noNoninteractiveTabindex: a scrollable region must be reachable by keyboard to scroll it
    <section className="table-wrap" aria-label={label} tabIndex={0}>
      {children}
    </section>
  );
}
