/**
 * A small line chart of one test's values over time, hand-written SVG (no chart library): the normal range as
 * a shaded band, a dot per value (flagged values drawn as squares, so the flag does not rest on colour
 * alone), the lowest/highest value and the first/last date on the axes. Screen readers get a one-sentence
 * summary (`role="img"` with its label) and every value in a table under a disclosure.
 */
import { dayLabel, dayOf, formatNumber } from './displayText';
import { chartGeometry, type TrendSeries, trendSummary } from './trends';

/** An axis label: three significant digits are enough to read a chart by. */
const axisNumber = (v: number) => formatNumber(Number(v.toPrecision(3)));

export function TrendChart({ series }: { series: TrendSeries }) {
  const g = chartGeometry(series);
  const unit = series.unit ? ` ${series.unit}` : '';
  const first = series.points[0]!;
  const last = series.points[series.points.length - 1]!;
  return (
    <figure className="trend">
      <figcaption>
        {series.title}
        {series.unit ? <span className="trend-unit"> ({series.unit})</span> : null}
      </figcaption>
      <svg
        role="img"
        aria-label={trendSummary(series)}
        viewBox={`0 0 ${g.width} ${g.height}`}
        className="trend-svg"
        preserveAspectRatio="xMidYMid meet"
      >
        {g.band ? (
          <rect
            className="trend-band"
            x={g.plot.left}
            y={g.band.y}
            width={g.plot.right - g.plot.left}
            height={Math.max(g.band.height, 1)}
          />
        ) : null}
        <line className="trend-axis" x1={g.plot.left} x2={g.plot.left} y1={g.plot.top} y2={g.plot.bottom} />
        <line
          className="trend-axis"
          x1={g.plot.left}
          x2={g.plot.right}
          y1={g.plot.bottom}
          y2={g.plot.bottom}
        />
        <text className="trend-label" x={g.plot.left - 4} y={g.yMax.y + 4} textAnchor="end">
          {axisNumber(g.yMax.value)}
        </text>
        <text className="trend-label" x={g.plot.left - 4} y={g.yMin.y} textAnchor="end">
          {axisNumber(g.yMin.value)}
        </text>
        <text className="trend-label" x={g.plot.left} y={g.height - 6} textAnchor="start">
          {dayOf(first.date).slice(0, 7)}
        </text>
        <text className="trend-label" x={g.plot.right} y={g.height - 6} textAnchor="end">
          {dayOf(last.date).slice(0, 7)}
        </text>
        <path className="trend-line" d={g.path} />
        {g.points.map((p) =>
          p.point.flag && p.point.flag !== 'normal' ? (
            <rect
              key={p.point.id}
              className="trend-dot trend-dot-flag"
              x={p.x - 4}
              y={p.y - 4}
              width={8}
              height={8}
            />
          ) : (
            <circle key={p.point.id} className="trend-dot" cx={p.x} cy={p.y} r={3.5} />
          ),
        )}
      </svg>
      {g.band ? <p className="hint">Shaded: the normal range. Squares: outside it.</p> : null}
      <details className="trend-values">
        <summary>Values of {series.title}</summary>
        <div className="table-wrap">
          <table>
            <caption className="visually-hidden">Values of {series.title}</caption>
            <thead>
              <tr>
                <th scope="col">Date</th>
                <th scope="col">Value</th>
                <th scope="col">Flag</th>
              </tr>
            </thead>
            <tbody>
              {[...series.points].reverse().map((p) => (
                <tr key={p.id}>
                  <td>{dayLabel(dayOf(p.date))}</td>
                  <td>
                    {formatNumber(p.value)}
                    {unit}
                  </td>
                  <td>{p.flag ?? '—'}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      </details>
    </figure>
  );
}
