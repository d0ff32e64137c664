/**
 * The OpenAPI description of the CDS Hooks routes (openapi.ts says why schemas describe and do not enforce).
 * Cards are described to the depth an EHR needs; FHIR resources inside them are free-form objects.
 */
import { authErrors, BEARER, errors, json, object, PUBLIC, params, str } from '../openapi/schemas.js';

const free = (description: string) => ({ type: 'object', description, additionalProperties: true });

const SERVICE = object({
  hook: str('The hook', { enum: ['order-select', 'order-sign'] }),
  id: str('The service id (POST /cds-services/{id})'),
  title: str('Title'),
  description: str('What the service checks'),
  prefetch: free('Prefetch templates by key'),
  usageRequirements: str('How to call it'),
});

const CODING = object(
  { system: str('Code system'), code: str('Code'), display: str('Display') },
  { optional: ['system', 'display'] },
);

const CARD = object(
  {
    uuid: str('Deterministic card id (the same request gives the same cards)'),
    summary: str('At most 140 characters', { maxLength: 140 }),
    detail: str('Markdown'),
    indicator: str('Urgency', { enum: ['info', 'warning', 'critical'] }),
    source: object(
      { label: str('Knowledge source'), url: str('Its documentation'), topic: CODING },
      {
        optional: ['url', 'topic'],
      },
    ),
    suggestions: {
      type: 'array',
      items: object(
        {
          label: str('What the suggestion does'),
          uuid: str('Suggestion id'),
          isRecommended: { type: 'boolean', description: 'The recommended suggestion' },
          actions: {
            type: 'array',
            items: object(
              {
                type: str('Action', { enum: ['create', 'update', 'delete'] }),
                description: str('What the action does'),
                resource: free('The FHIR resource to create or update'),
                resourceId: {
                  type: 'array',
                  items: str('A relative reference'),
                  description: 'What to delete',
                },
              },
              { optional: ['resource', 'resourceId'] },
            ),
          },
        },
        { optional: ['isRecommended'] },
      ),
    },
    selectionBehavior: str('How many suggestions may be chosen', { enum: ['at-most-one', 'any'] }),
    overrideReasons: { type: 'array', items: CODING },
    links: {
      type: 'array',
      items: object({
        label: str('Label'),
        url: str('URL'),
        type: str('Link type', { enum: ['absolute', 'smart'] }),
      }),
    },
  },
  { optional: ['detail', 'suggestions', 'selectionBehavior', 'overrideReasons', 'links'] },
);

export const cdsDiscoverySchema = {
  operationId: 'getCdsServices',
  summary: 'CDS Hooks discovery (public)',
  description:
    'The CDS Hooks 2.0 services of this node: drug–drug interaction checks on order-select and order-sign, with ' +
    'their prefetch templates (docs/cds-hooks.md). Holds no patient data.',
  tags: ['cds hooks'],
  security: PUBLIC,
  response: {
    200: json('The services', object({ services: { type: 'array', items: SERVICE } })),
    ...errors(),
  },
};

export const cdsServiceSchema = {
  operationId: 'callCdsService',
  summary: 'Call a CDS Hooks service',
  description:
    'A CDS Hooks 2.0 request (hook, hookInstance, context with patientId and draftOrders, optional prefetch) → ' +
    'cards about interacting medications; an empty list when none interact. Prefetch that is missing is read ' +
    'from this node’s records as the caller, so cards only concern what the caller may see.',
  tags: ['cds hooks'],
  security: BEARER,
  params: params({ id: 'The service id' }),
  body: free('The CDS Hooks request'),
  response: {
    200: json('The cards', object({ cards: { type: 'array', items: CARD } })),
    ...authErrors(400, 404, 413, 415),
  },
};
