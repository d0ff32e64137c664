import { describe, expect, it } from 'vitest';
import { clientFromForm, clientKind, EMPTY_CLIENT } from './clients';

const app = {
  ...EMPTY_CLIENT,
  clientId: 'growth-chart',
  name: 'Growth chart',
  redirectUris: 'https://app.example/cb\nhttp://127.0.0.1:3000/cb',
};
const jwk = { kty: 'EC', crv: 'P-256', x: 'x', y: 'y', kid: 'k1' };

describe('registering an OAuth client', () => {
  it('builds a SMART app registration from the form', () => {
    const { registration, errors } = clientFromForm(app);
    expect(errors).toEqual({});
    expect(registration).toEqual({
      clientId: 'growth-chart',
      name: 'Growth chart',
      redirectUris: ['https://app.example/cb', 'http://127.0.0.1:3000/cb'],
      scopes: ['openid', 'fhirUser', 'launch/patient', 'patient/*.rs'],
      firstParty: false,
    });
    expect(clientKind(registration!)).toBe('SMART app');
  });

  it('names what is wrong with an app: id, redirect URIs, scopes', () => {
    const { errors } = clientFromForm({
      ...app,
      clientId: 'has space',
      redirectUris: 'http://app.example/cb',
      scopes: 'system/Patient.rs',
    });
    expect(errors.clientId).toMatch(/no spaces/);
    expect(errors.redirectUris).toMatch(/https/);
    expect(errors.scopes).toMatch(/not system/);
    expect(clientFromForm({ ...app, redirectUris: 'https://a.example/cb#frag' }).errors.redirectUris).toMatch(
      /fragment/,
    );
    expect(clientFromForm({ ...app, redirectUris: '' }).errors.redirectUris).toMatch(/at least one/);
  });

  it('builds a backend service with its public JWK set, and refuses a private key', () => {
    const service = {
      ...EMPTY_CLIENT,
      kind: 'service' as const,
      clientId: 'ehr',
      name: 'EHR',
      scopes: 'system/Patient.rs',
      jwks: JSON.stringify({ keys: [jwk] }),
    };
    const { registration } = clientFromForm(service);
    expect(registration).toMatchObject({
      jwks: { keys: [jwk] },
      scopes: ['system/Patient.rs'],
      firstParty: false,
    });
    expect(registration).not.toHaveProperty('redirectUris');
    expect(clientKind(registration!)).toBe('Backend service');
    expect(
      clientFromForm({ ...service, jwks: JSON.stringify({ keys: [{ ...jwk, d: 'secret' }] }) }).errors.jwks,
    ).toMatch(/private key/);
    expect(clientFromForm({ ...service, jwks: '{not json' }).errors.jwks).toMatch(/not valid JSON/);
    expect(clientFromForm({ ...service, scopes: 'openid system/Patient.rs' }).errors.scopes).toMatch(
      /system\/ scopes only/,
    );
  });
});
