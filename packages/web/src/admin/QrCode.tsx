/**
 * A QR code as an SVG drawn by React (uqr encodes; no HTML string is injected, so the page's strict
 * Content-Security-Policy holds). One path of unit squares, a quiet zone of four modules, black on white.
 */
import { useMemo } from 'react';
import { encode } from 'uqr';

export function QrCode({ value, label, size = 220 }: { value: string; label: string; size?: number }) {
  const { path, modules } = useMemo(() => {
    const qr = encode(value, { ecc: 'M', border: 4 });
    let d = '';
    qr.data.forEach((row, y) => {
      row.forEach((dark, x) => {
        if (dark) d += `M${x} ${y}h1v1h-1z`;
      });
    });
    return { path: d, modules: qr.size };
  }, [value]);
  return (
    <svg
      className="qr"
      role="img"
      aria-label={label}
      width={size}
      height={size}
      viewBox={`0 0 ${modules} ${modules}`}
      shapeRendering="crispEdges"
    >
      <rect width={modules} height={modules} fill="#fff" />
      <path d={path} fill="#000" />
    </svg>
  );
}
