/**
 * The FHIR Parameters of `POST /fhir/$exchange-request` (docs/exchange.md): the custodian organisation's
 * registry id, the patient's ledger pseudonym, the resource types asked for (each stands for its data
 * category), and the purpose — treatment, or emergency treatment citing the clinician's break-glass session.
 */
import type { Resource } from '../api/fhir';

export function exchangeParameters(ask: {
  custodian: number;
  pseudonym: string;
  resourceTypes: readonly string[];
  breakGlassSession?: string | undefined;
}): Resource {
  const session = ask.breakGlassSession;
  return {
    resourceType: 'Parameters',
    parameter: [
      { name: 'custodian', valueInteger: ask.custodian },
      { name: 'patient', valueString: ask.pseudonym },
      ...ask.resourceTypes.map((type) => ({ name: 'resourceType', valueCode: type })),
      { name: 'purpose', valueCode: session ? 'ETREAT' : 'TREAT' },
      ...(session ? [{ name: 'breakGlass', valueInteger: Number(session) }] : []),
    ],
  };
}
