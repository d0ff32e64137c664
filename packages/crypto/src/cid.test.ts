import { isMdlError, MdlErrorCode } from '@medledger/core';
import fc from 'fast-check';
import { base32 } from 'multiformats/bases/base32';
import { base58btc } from 'multiformats/bases/base58';
import { CID } from 'multiformats/cid';
import * as raw from 'multiformats/codecs/raw';
import { create as createDigest } from 'multiformats/hashes/digest';
import { sha256 as multiformatsSha256 } from 'multiformats/hashes/sha2';
import { describe, expect, it } from 'vitest';
import { bytesToHex, utf8ToBytes } from './bytes.js';
import { assertCid, cidDigest, computeCid, parseCid, verifyCid } from './cid.js';
import { sha256 } from './hash.js';

function errorCode(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (err) {
    return isMdlError(err) ? err.code : `not an MdlError: ${String(err)}`;
  }
  return undefined;
}

/**
 * CIDs that IPFS implementations publish in their own tests for known content:
 * - ipfs/kubo @ 867cdc5d80d88f390f3ee2882ff50e056ffe3aad
 *   test/sharness/t0040-add-and-cat.sh ("zero length file has correct hash", `ipfs add --raw-leaves`),
 *   test/cli/add_test.go (`shortStringCidV1`, "cidv1 - raw - sha2-256" of "hello world"),
 *   test/sharness/t0050-block.sh (`ipfs block put` of "Hello Mars!\n" and "Hello Venus!\n");
 * - multiformats/rust-cid @ 27b112d2e6a8a1532f5a1c4ead2cc2e5a68b5dd5 examples/readme.rs ("beep boop", raw, sha2-256);
 * - ipfs/helia @ 1ea4be8f6c26ad2ee1b1146de2eb4c86df65cdb3 packages/strings/test/add.spec.ts ("hello world").
 */
const PUBLISHED: { source: string; content: string; cid: string }[] = [
  { source: 'kubo t0040', content: '', cid: 'bafkreihdwdcefgh4dqkjv67uzcmw7ojee6xedzdetojuzjevtenxquvyku' },
  {
    source: 'kubo add_test',
    content: 'hello world',
    cid: 'bafkreifzjut3te2nhyekklss27nh3k72ysco7y32koao5eei66wof36n5e',
  },
  {
    source: 'helia strings',
    content: 'hello world',
    cid: 'bafkreifzjut3te2nhyekklss27nh3k72ysco7y32koao5eei66wof36n5e',
  },
  {
    source: 'kubo t0050',
    content: 'Hello Mars!\n',
    cid: 'bafkreibmlvvgdyihetgocpof6xk64kjjzdeq2e4c7hqs3krdheosk4tgj4',
  },
  {
    source: 'kubo t0050',
    content: 'Hello Venus!\n',
    cid: 'bafkreihfsphazrk2ilejpekyltjeh5k4yvwgjuwg26ueafohqioeo3sdca',
  },
  {
    source: 'rust-cid readme',
    content: 'beep boop',
    cid: 'bafkreieq5jui4j25lacwomsqgjeswwl3y5zcdrresptwgmfylxo2depppq',
  },
];

describe('published IPFS CIDs', () => {
  it.each(PUBLISHED)('$source: $cid', ({ content, cid }) => {
    const bytes = utf8ToBytes(content);
    expect(computeCid(bytes)).toBe(cid);
    expect(parseCid(cid)).toBe(cid);
    expect(verifyCid(cid, bytes)).toBe(true);
    expect(() => assertCid(cid, bytes)).not.toThrow();
    expect(bytesToHex(cidDigest(cid))).toBe(bytesToHex(sha256(bytes)));
  });

  it('SHA-256 of the empty string is the digest of the empty-block CID', () => {
    expect(bytesToHex(cidDigest('bafkreihdwdcefgh4dqkjv67uzcmw7ojee6xedzdetojuzjevtenxquvyku'))).toBe(
      'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855',
    );
  });

  // ipfs/kubo @ 867cdc5d80d88f390f3ee2882ff50e056ffe3aad test/cli/cid_test.go, "CIDv1 raw codec" (`ipfs cid inspect`).
  it('kubo cid inspect: digest of bafkreigdyrzt…', () => {
    const cid = 'bafkreigdyrzt5sfp7udm7hu76uh7y26nf3efuylqabf3oclgtqy55fbzdi';
    expect(parseCid(cid)).toBe(cid);
    expect(bytesToHex(cidDigest(cid))).toBe(
      'c3c4733ec8affd06cf9e9ff50ffc6bcd2ec85a6170004bb709669c31de94391a',
    );
  });
});

describe('parseCid refuses other CIDs with MdlError(Unsupported)', () => {
  const helloRaw = CID.parse('bafkreifzjut3te2nhyekklss27nh3k72ysco7y32koao5eei66wof36n5e');
  const cases: [string, string][] = [
    // ipfs/kubo test/cli/add_test.go: "hello world" as CIDv0, as CIDv1 dag-pb, and as raw with sha2-512.
    ['CIDv0 (kubo add_test)', 'Qmf412jQZiuVUtdgnB36FXFX7xg5V6KEbSJ4dpQuhkLyfD'],
    ['CIDv1 dag-pb (kubo add_test)', 'bafybeihykld7uyxzogax6vgyvag42y7464eywpf55gxi5qpoisibh3c5wa'],
    [
      'CIDv1 raw sha2-512 (kubo add_test)',
      'bafkrgqbqt3gerhas23vuzrapkdeqf4vu2dwxp3srdj6hvg6nhsug2tgyn6mj3u23yx7utftq3i2ckw2fwdh5qmhid5qf3t35yvkc5e5ottlw6',
    ],
    // ipfs/kubo test/cli/cid_test.go: the same dag-pb node as CIDv0, base32 CIDv1 and base36 CIDv1.
    ['CIDv0 (kubo cid_test)', 'QmbWqxBEKC3P8tqsKc98xmWNzrzDtRLMiMPL8wBuTGsMnR'],
    ['CIDv1 dag-pb base32 (kubo cid_test)', 'bafybeigdyrzt5sfp7udm7hu76uh7y26nf3efuylqabf3oclgtqy55fbzdi'],
    ['CIDv1 dag-pb base36 (kubo cid_test)', 'k2jmtxw8rjh1z69c6not3wtdxb0u3urbzhyll1t9jg6ox26dhi5sfi1m'],
    // ipfs/helia packages/strings/test/add.spec.ts: "hello world" with the identity "hash".
    ['identity multihash (helia)', 'bafkqac3imvwgy3zao5xxe3de'],
    ['upper-case base32', 'BAFKREIFZJUT3TE2NHYEKKLSS27NH3K72YSCO7Y32KOAO5EEI66WOF36N5E'],
    ['base58btc multibase', helloRaw.toString(base58btc)],
    ['dag-cbor codec, same digest', CID.createV1(0x71, helloRaw.multihash).toString()],
    [
      'sha2-256 digest truncated to 20 bytes',
      CID.createV1(raw.code, createDigest(0x12, new Uint8Array(20))).toString(),
    ],
    ['blake2b-256 multihash', CID.createV1(raw.code, createDigest(0xb220, new Uint8Array(32))).toString()],
  ];

  it.each(cases)('%s', (_name, text) => {
    expect(errorCode(() => parseCid(text))).toBe(MdlErrorCode.Unsupported);
    expect(verifyCid(text, utf8ToBytes('hello world'))).toBe(false);
  });
});

describe('parseCid refuses text that is no canonical CID with MdlError(BadInput)', () => {
  const good = 'bafkreifzjut3te2nhyekklss27nh3k72ysco7y32koao5eei66wof36n5e';
  const cases: [string, unknown][] = [
    ['empty string', ''],
    ['multibase prefix only', 'b'],
    ['plain word', 'hello'],
    ['truncated', good.slice(0, -1)],
    ['one character too many', `${good}a`],
    ['digit 1 (not in the base32 alphabet)', `${good.slice(0, 20)}1${good.slice(21)}`],
    ['padding', `${good}=`],
    ['leading space', ` ${good}`],
    ['trailing newline', `${good}\n`],
    ['non-zero padding bits', `${good.slice(0, -1)}f`],
    ['mixed case', `${good.slice(0, 10).toUpperCase()}${good.slice(10)}`],
    ['CID bytes with a trailing byte', base32.encode(Uint8Array.from([...CID.parse(good).bytes, 0]))],
    [
      'multihash length byte says 33',
      base32.encode(Uint8Array.from([1, 0x55, 0x12, 33, ...new Uint8Array(32)])),
    ],
    ['too long', `b${'a'.repeat(300)}`],
    ['a number', 42],
    ['null', null],
    ['bytes', CID.parse(good).bytes],
  ];

  it.each(cases)('%s', (_name, text) => {
    expect(errorCode(() => parseCid(text as string))).toBe(MdlErrorCode.BadInput);
    expect(verifyCid(text as string, utf8ToBytes('hello world'))).toBe(false);
  });

  it('messages do not echo the input', () => {
    try {
      parseCid('patient-jane-doe');
      expect.unreachable();
    } catch (err) {
      expect((err as Error).message).not.toContain('jane');
    }
  });
});

describe('verifyCid and assertCid', () => {
  const content = utf8ToBytes('Hello Mars!\n');
  const cid = 'bafkreibmlvvgdyihetgocpof6xk64kjjzdeq2e4c7hqs3krdheosk4tgj4';

  it('every single-bit change of the content fails', () => {
    for (let bit = 0; bit < content.length * 8; bit++) {
      const altered = content.slice();
      altered[bit >> 3] = (altered[bit >> 3] as number) ^ (1 << (bit & 7));
      expect(verifyCid(cid, altered)).toBe(false);
      expect(errorCode(() => assertCid(cid, altered))).toBe(MdlErrorCode.CidMismatch);
    }
  });

  it('truncated, extended and empty content fail', () => {
    for (const altered of [
      content.subarray(1),
      content.subarray(0, -1),
      Uint8Array.of(...content, 0),
      new Uint8Array(),
    ]) {
      expect(verifyCid(cid, altered)).toBe(false);
      expect(errorCode(() => assertCid(cid, altered))).toBe(MdlErrorCode.CidMismatch);
    }
  });

  it('a subarray view is hashed by its own bytes only', () => {
    const buf = Uint8Array.of(9, ...content, 9);
    expect(verifyCid(cid, buf.subarray(1, -1))).toBe(true);
  });

  it('never throws on malformed arguments', () => {
    const junk: unknown[] = [undefined, null, 1, {}, [], 'b', cid.toUpperCase(), Symbol('x')];
    for (const c of junk) expect(verifyCid(c as string, content)).toBe(false);
    for (const b of junk) expect(verifyCid(cid, b as Uint8Array)).toBe(false);
    expect(verifyCid(cid, Array.from(content) as unknown as Uint8Array)).toBe(false);
  });

  it('assertCid reports a malformed CID as such, and a mismatch without echoing data', () => {
    expect(errorCode(() => assertCid('nonsense', content))).toBe(MdlErrorCode.BadInput);
    expect(errorCode(() => assertCid('Qmf412jQZiuVUtdgnB36FXFX7xg5V6KEbSJ4dpQuhkLyfD', content))).toBe(
      MdlErrorCode.Unsupported,
    );
    try {
      assertCid(cid, utf8ToBytes('Hello Venus!\n'));
      expect.unreachable();
    } catch (err) {
      expect((err as Error).message).not.toContain(cid);
    }
  });

  it('cidDigest returns a copy', () => {
    const d = cidDigest(cid);
    d.fill(0);
    expect(verifyCid(cid, content)).toBe(true);
    expect(bytesToHex(cidDigest(cid))).toBe(bytesToHex(sha256(content)));
  });
});

describe('properties', () => {
  it('round trip: computeCid → parseCid → verifyCid / cidDigest, and agreement with multiformats hashing', async () => {
    await fc.assert(
      fc.asyncProperty(fc.uint8Array({ maxLength: 2048 }), async (bytes) => {
        const cid = computeCid(bytes);
        expect(cid).toMatch(/^b[a-z2-7]{58}$/);
        expect(parseCid(cid)).toBe(cid);
        expect(verifyCid(cid, bytes)).toBe(true);
        expect(cidDigest(cid)).toEqual(sha256(bytes));
        expect(CID.createV1(raw.code, await multiformatsSha256.digest(bytes)).toString()).toBe(cid);
      }),
      { numRuns: 200 },
    );
  });

  it('a flipped bit anywhere in the content fails verification', () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ minLength: 1, maxLength: 512 }),
        fc.nat(),
        fc.integer({ min: 0, max: 7 }),
        (bytes, at, bit) => {
          const cid = computeCid(bytes);
          const altered = bytes.slice();
          const i = at % bytes.length;
          altered[i] = (altered[i] as number) ^ (1 << bit);
          expect(verifyCid(cid, altered)).toBe(false);
        },
      ),
      { numRuns: 200 },
    );
  });

  it('a changed character anywhere in the CID text never verifies', () => {
    const bytes = utf8ToBytes('hello world');
    const cid = computeCid(bytes);
    const alphabet = 'abcdefghijklmnopqrstuvwxyz234567';
    for (let i = 0; i < cid.length; i++) {
      for (const c of alphabet) {
        if (c === cid[i]) continue;
        expect(verifyCid(`${cid.slice(0, i)}${c}${cid.slice(i + 1)}`, bytes)).toBe(false);
      }
    }
  });
});
