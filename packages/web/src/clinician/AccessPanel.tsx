/** "What you may see": the `$access` answer for this clinician and patient, in sentences (accessSummary.ts). */
import { type AccessSummary, sentence } from './accessSummary';
import { PURPOSE_WORDS, type PurposeCode } from './purpose';

export function AccessPanel({ summary }: { summary: AccessSummary | undefined }) {
  const purpose = summary?.purpose ? PURPOSE_WORDS[summary.purpose as PurposeCode] : undefined;
  return (
    <section className="card access-panel" aria-labelledby="access-heading">
      <h2 id="access-heading">What you may see</h2>
      {summary && summary.lines.length > 0 ? (
        <>
          {purpose ? <p className="hint">For {purpose}, as of now:</p> : null}
          <ul>
            {summary.lines.map((l) => (
              <li key={`${l.action}-${l.via}-${l.until ?? ''}`}>{sentence(l)}</li>
            ))}
          </ul>
          <p className="hint">Anything else in this patient’s record stays closed to you.</p>
        </>
      ) : (
        <p>
          Nothing in this record is open to you now. Ask the patient for consent, or use emergency access.
        </p>
      )}
    </section>
  );
}
