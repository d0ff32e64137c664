/**
 * The first and last calendar day a FHIR date or dateTime covers ("2024" covers 2024-01-01 … 2024-12-31), as
 * ISO dates that compare correctly as strings. A dateTime counts by the date as written; time zones are not
 * shifted, so a record never moves to a neighbouring day. Undefined for anything that is not a FHIR date.
 */
export interface DayBounds {
  readonly first: string;
  readonly last: string;
}

const DATE = /^(\d{4})(?:-(\d{2})(?:-(\d{2}))?)?(?:T[0-9:.]+(?:Z|[+-]\d{2}:\d{2}))?$/;

export function fhirDateBounds(value: unknown): DayBounds | undefined {
  if (typeof value !== 'string') return undefined;
  const m = DATE.exec(value);
  if (m === null) return undefined;
  const y = Number(m[1]);
  if (m[2] === undefined) return { first: `${m[1]}-01-01`, last: `${m[1]}-12-31` };
  const month = Number(m[2]);
  if (month < 1 || month > 12) return undefined;
  const lastDay = new Date(Date.UTC(y, month, 0)).getUTCDate();
  if (m[3] === undefined) return { first: `${m[1]}-${m[2]}-01`, last: `${m[1]}-${m[2]}-${lastDay}` };
  const day = Number(m[3]);
  if (day < 1 || day > lastDay) return undefined;
  const iso = `${m[1]}-${m[2]}-${m[3]}`;
  return { first: iso, last: iso };
}
