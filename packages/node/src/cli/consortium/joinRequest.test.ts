// Join requests (made, signed, parsed, every refusal) and naming organisations, without a chain.
import { generateKeyBundle } from '@medledger/crypto';
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts';
import { beforeAll, describe, expect, it } from 'vitest';
import { type JoinRequest, parseJoinRequest, signJoinRequest } from './joinRequest.js';
import { resolveOrganisation } from './members.js';

let request: JoinRequest;
beforeAll(async () => {
  request = await signJoinRequest({
    name: 'Riverside Lab',
    kind: 'lab',
    endpoint: 'https://lab.example/fhir',
    keyBundleUri: 'https://lab.example/fhir/.well-known/medledger-key-bundle',
    bundle: generateKeyBundle().publicBundle,
    account: privateKeyToAccount(generatePrivateKey()),
  });
});

const text = (changes: Record<string, unknown>) => JSON.stringify({ ...request, ...changes });
const refusal = (t: string) =>
  parseJoinRequest(t).then(
    () => 'accepted',
    (e: Error & { code?: string }) => `${e.code}: ${e.message}`,
  );

describe('join requests', () => {
  it('round-trip: what join-request writes, admit reads back unchanged', async () => {
    expect(await parseJoinRequest(JSON.stringify(request))).toEqual(request);
    expect(request.keyBundleHash).toMatch(/^0x[0-9a-f]{64}$/);
    expect(Object.keys(request).sort()).toEqual(
      [
        'endpoint',
        'format',
        'keyBundle',
        'keyBundleHash',
        'keyBundleUri',
        'kind',
        'name',
        'nodeAccount',
        'signature',
      ].sort(),
    );
  });

  it('refuses a request changed after signing, naming the node account', async () => {
    expect(await refusal(text({ endpoint: 'https://evil.example/fhir' }))).toBe(
      `MDL_BAD_INPUT: the signature is not the node account ${request.nodeAccount}'s over this request`,
    );
    expect(await refusal(text({ name: 'Riverside Labs' }))).toContain('signature is not');
    const other = privateKeyToAccount(generatePrivateKey()).address;
    expect(await refusal(text({ nodeAccount: other }))).toContain('signature is not');
  });

  it('refuses a key bundle that does not hash to keyBundleHash, or is not a bundle', async () => {
    const otherHash = `0x${'ab'.repeat(32)}`;
    expect(await refusal(text({ keyBundleHash: otherHash }))).toBe(
      'MDL_BAD_INPUT: keyBundleHash is not the hash of keyBundle',
    );
    expect(await refusal(text({ keyBundle: 'AAAA' }))).toBe(
      'MDL_BAD_INPUT: keyBundle is not a valid self-signed public key bundle',
    );
  });

  it('refuses malformed fields one line at a time', async () => {
    const cases: [Record<string, unknown>, string][] = [
      [{ format: 'something/1' }, 'not a medledger join request'],
      [{ name: '' }, 'name must be 1 to 100 printable characters'],
      [{ name: ' Lab' }, 'without leading or trailing spaces'],
      [{ name: 'a\nb' }, 'name must be 1 to 100 printable characters'],
      [{ name: '42' }, 'must not be a number'],
      [{ kind: 'spa' }, 'kind must be one of hospital, clinic, lab'],
      [{ endpoint: 'ftp://lab.example/fhir' }, 'endpoint must be an http(s) URL'],
      [{ endpoint: 'https://user:pw@lab.example/fhir' }, 'without credentials'],
      [{ keyBundleUri: 42 }, 'keyBundleUri must be an http(s) URL'],
      [{ keyBundleHash: request.keyBundleHash.toUpperCase() }, 'keyBundleHash must be 0x and 64 lower-case'],
      [{ nodeAccount: request.nodeAccount.toLowerCase() }, 'nodeAccount must be a checksummed address'],
      [{ signature: '0x1234' }, 'signature must be a 65-byte hex signature'],
      [{ privateKey: '0x00' }, 'unknown field "privateKey"'],
    ];
    for (const [changes, expected] of cases) {
      const answer = await refusal(text(changes));
      expect(answer, JSON.stringify(changes)).toMatch(/^MDL_BAD_INPUT: /);
      expect(answer, JSON.stringify(changes)).toContain(expected);
      expect(answer).not.toContain('\n');
    }
    expect(await refusal('{')).toBe('MDL_BAD_INPUT: not JSON');
    expect(await refusal('[]')).toBe('MDL_BAD_INPUT: not a JSON object');
  });
});

describe('naming organisations', () => {
  const members = [
    { id: 1, name: 'City Hospital' },
    { id: 2, name: 'Riverside Lab' },
    { id: 3, name: 'Twin Clinic' },
    { id: 4, name: 'twin clinic' },
  ];
  const refused = (given: string, list = members) => {
    try {
      return `resolved ${resolveOrganisation(list, given).id}`;
    } catch (e) {
      return (e as Error).message;
    }
  };

  it('finds an organisation by its name in any case, or by its registry id', () => {
    expect(resolveOrganisation(members, 'riverside LAB').id).toBe(2);
    expect(resolveOrganisation(members, ' City Hospital ').id).toBe(1);
    expect(resolveOrganisation(members, '3').id).toBe(3);
  });

  it('refuses an unknown, an ambiguous or a missing organisation in one line', () => {
    expect(refused('Nowhere')).toBe(
      'no organisation named "Nowhere" (members: City Hospital, Riverside Lab, Twin Clinic, twin clinic)',
    );
    expect(refused('Twin Clinic')).toBe('"Twin Clinic" names 2 organisations (ids 3, 4): give the id');
    expect(refused('9')).toBe('no organisation 9 in the registry (4 admitted)');
    expect(refused('Anyone', [])).toBe('no organisation named "Anyone" (no members yet)');
  });
});
