/**
 * CDS Hooks cards as the prescriber reads them: the indicator in words and colour (never colour alone), the
 * summary, the detail (markdown, shown as plain text: no HTML is injected), the source, and the suggestions
 * that change the draft as buttons; other suggestions (an extra order, a test) are listed as advice.
 */
import type { CdsCard, CdsSuggestion } from '../api/prescriptions';
import { draftSuggestions, INDICATOR_WORDS } from './rxOrder';

export function InteractionCards({
  cards,
  onSuggestion,
}: {
  cards: readonly CdsCard[];
  onSuggestion: (card: CdsCard, suggestion: CdsSuggestion) => void;
}) {
  return (
    <ul className="cds-cards" aria-label="Interaction alerts">
      {cards.map((card) => {
        const changes = draftSuggestions(card.suggestions);
        const advice = (card.suggestions ?? []).filter((s) => !changes.includes(s));
        return (
          <li key={card.uuid} className={`cds-card cds-${card.indicator}`}>
            <p className="cds-summary">
              <strong className={`tag cds-indicator cds-indicator-${card.indicator}`}>
                {INDICATOR_WORDS[card.indicator]}
              </strong>{' '}
              {card.summary}
            </p>
            {card.detail ? (
              <details>
                <summary>Details</summary>
                <p className="cds-detail">{card.detail}</p>
              </details>
            ) : null}
            <p className="hint">
              Source:{' '}
              {card.source.url?.startsWith('https://') ? (
                <a href={card.source.url} target="_blank" rel="noreferrer noopener">
                  {card.source.label}
                </a>
              ) : (
                card.source.label
              )}
            </p>
            {changes.length ? (
              <div className="actions">
                {changes.map((s) => (
                  <button key={s.uuid} type="button" onClick={() => onSuggestion(card, s)}>
                    {s.label}
                  </button>
                ))}
              </div>
            ) : null}
            {advice.length ? (
              <ul className="cds-advice">
                {advice.map((s) => (
                  <li key={s.uuid}>Also suggested: {s.label} (order it separately if you agree).</li>
                ))}
              </ul>
            ) : null}
          </li>
        );
      })}
    </ul>
  );
}
