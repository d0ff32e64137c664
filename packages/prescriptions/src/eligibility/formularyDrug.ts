/**
 * The insurer's formulary, one FHIR R4 MedicationKnowledge per drug in the shape of the HL7 US Drug Formulary
 * IG STU1 (v1.0/1.1) "FormularyDrug" profile: the drug's RxNorm code in `code`, and the extensions
 * usdf-PlanID (which plan's formulary; absent = every plan of this insurer), usdf-DrugTierID (the tier, from
 * usdf-DrugTierCS), usdf-PriorAuthorization, usdf-StepTherapyLimit and usdf-QuantityLimit (booleans), plus
 * the R4 `cost` element with a `copay` type for the member's cost share.
 * Why STU1 and not STU2: STU2 spreads one formulary entry over three resources (an InsurancePlan, a Basic
 * "FormularyItem" made of extensions, and a MedicationKnowledge); STU1 keeps one self-describing resource
 * per drug, which is all a pure eligibility decision needs. Moving to STU2 changes only this reader.
 */
import { RXNORM_SYSTEM } from '../controlled/classifyMedication.js';

export const USDF = 'http://hl7.org/fhir/us/davinci-drug-formulary/StructureDefinition/';
export const USDF_PLAN_ID = `${USDF}usdf-PlanID-extension`;
export const USDF_DRUG_TIER = `${USDF}usdf-DrugTierID-extension`;
export const USDF_PRIOR_AUTHORIZATION = `${USDF}usdf-PriorAuthorization-extension`;
export const USDF_STEP_THERAPY = `${USDF}usdf-StepTherapyLimit-extension`;
export const USDF_QUANTITY_LIMIT = `${USDF}usdf-QuantityLimit-extension`;
export const USDF_DRUG_TIER_SYSTEM =
  'http://hl7.org/fhir/us/davinci-drug-formulary/CodeSystem/usdf-DrugTierCS';
export const BENEFIT_TYPE_SYSTEM = 'http://terminology.hl7.org/CodeSystem/benefit-type';

export interface Money {
  value: number;
  currency?: string;
}

/** What the eligibility decision needs from one formulary entry. */
export interface FormularyDrug {
  readonly id?: string;
  /** RxNorm codes of the drug. */
  readonly rxnorm: readonly string[];
  /** Plan ids the entry belongs to; empty = every plan. */
  readonly plans: readonly string[];
  /** The tier coding (usdf-DrugTierCS or the plan's own), when given. */
  readonly tier?: { system?: string; code: string; display?: string };
  readonly priorAuthorization: boolean;
  readonly stepTherapy: boolean;
  readonly quantityLimit: boolean;
  readonly copay?: Money;
  /** False when the entry's status is inactive or entered-in-error. */
  readonly active: boolean;
}

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

function extensions(resource: Obj, url: string): Obj[] {
  const list = Array.isArray(resource.extension) ? resource.extension : [];
  return list.filter((e): e is Obj => isObj(e) && e.url === url);
}

/** Reads a MedicationKnowledge (already validated as R4) as a formulary entry. */
export function formularyDrug(resource: Obj): FormularyDrug {
  const code = isObj(resource.code) ? resource.code : {};
  const rxnorm = (Array.isArray(code.coding) ? code.coding : [])
    .filter((c): c is Obj => isObj(c) && c.system === RXNORM_SYSTEM && typeof c.code === 'string')
    .map((c) => c.code as string);
  const plans = extensions(resource, USDF_PLAN_ID)
    .map((e) => e.valueString)
    .filter((v): v is string => typeof v === 'string');
  const tierConcept = extensions(resource, USDF_DRUG_TIER)[0]?.valueCodeableConcept;
  const tierCoding =
    isObj(tierConcept) && Array.isArray(tierConcept.coding) ? tierConcept.coding.find(isObj) : undefined;
  const flag = (url: string) => extensions(resource, url).some((e) => e.valueBoolean === true);
  const copayCost = (Array.isArray(resource.cost) ? resource.cost : []).find(
    (c): c is Obj =>
      isObj(c) &&
      isObj(c.type) &&
      Array.isArray(c.type.coding) &&
      c.type.coding.some((t) => isObj(t) && t.code === 'copay'),
  );
  const money = copayCost !== undefined && isObj(copayCost.cost) ? copayCost.cost : undefined;
  return {
    ...(typeof resource.id === 'string' ? { id: resource.id } : {}),
    rxnorm,
    plans,
    ...(tierCoding !== undefined && typeof tierCoding.code === 'string'
      ? {
          tier: {
            code: tierCoding.code,
            ...(typeof tierCoding.system === 'string' ? { system: tierCoding.system } : {}),
            ...(typeof tierCoding.display === 'string' ? { display: tierCoding.display } : {}),
          },
        }
      : {}),
    priorAuthorization: flag(USDF_PRIOR_AUTHORIZATION),
    stepTherapy: flag(USDF_STEP_THERAPY),
    quantityLimit: flag(USDF_QUANTITY_LIMIT),
    ...(money !== undefined && typeof money.value === 'number'
      ? {
          copay: {
            value: money.value,
            ...(typeof money.currency === 'string' ? { currency: money.currency } : {}),
          },
        }
      : {}),
    active: resource.status !== 'inactive' && resource.status !== 'entered-in-error',
  };
}
