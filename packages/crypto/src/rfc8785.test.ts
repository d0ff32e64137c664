import { isMdlError, MdlErrorCode } from '@medledger/core';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { bytesToHex, utf8ToBytes } from './bytes.js';
import { canonicalBytes, canonicalize, canonicalizeJson, JCS_MAX_DEPTH } from './rfc8785.js';

function expectBadInput(fn: () => unknown): void {
  let caught: unknown;
  try {
    fn();
  } catch (err) {
    caught = err;
  }
  expect(isMdlError(caught, MdlErrorCode.BadInput)).toBe(true);
}

function fromIeeeHex(hex: string): number {
  const view = new DataView(new ArrayBuffer(8));
  view.setBigUint64(0, BigInt(`0x${hex}`));
  return view.getFloat64(0);
}

/**
 * RFC 8785, text taken from the RFC's XML source: cyberphone/ietf-json-canon, xmlv3/rfc8785.xml at commit
 * e377ae152870288ef0a36938dcb5941df05e42ff ("Update rfc8785.xml", 2020-05-30).
 */
describe('RFC 8785 published examples', () => {
  // §3.2.2 input and the §3.2.4 UTF-8 bytes of its canonical form.
  const RFC_3_2_2_INPUT = `{
    "numbers": [333333333.33333329, 1E30, 4.50,
                2e-3, 0.000000000000000000000000001],
    "string": "\\u20ac$\\u000F\\u000aA'\\u0042\\u0022\\u005c\\\\\\"\\/",
    "literals": [null, true, false]
  }`;
  const RFC_3_2_4_HEX = `
    7b 22 6c 69 74 65 72 61 6c 73 22 3a 5b 6e 75 6c 6c 2c 74 72
    75 65 2c 66 61 6c 73 65 5d 2c 22 6e 75 6d 62 65 72 73 22 3a
    5b 33 33 33 33 33 33 33 33 33 2e 33 33 33 33 33 33 33 2c 31
    65 2b 33 30 2c 34 2e 35 2c 30 2e 30 30 32 2c 31 65 2d 32 37
    5d 2c 22 73 74 72 69 6e 67 22 3a 22 e2 82 ac 24 5c 75 30 30
    30 66 5c 6e 41 27 42 5c 22 5c 5c 5c 5c 5c 22 2f 22 7d`.replace(/\s+/g, '');

  it('§3.2.2/§3.2.4: canonical bytes of the sample object', () => {
    expect(bytesToHex(canonicalBytes(JSON.parse(RFC_3_2_2_INPUT)))).toBe(RFC_3_2_4_HEX);
    expect(bytesToHex(utf8ToBytes(canonicalizeJson(RFC_3_2_2_INPUT)))).toBe(RFC_3_2_4_HEX);
    expect(canonicalizeJson(RFC_3_2_2_INPUT)).toBe(
      '{"literals":[null,true,false],"numbers":[333333333.3333333,1e+30,4.5,0.002,1e-27],' +
        '"string":"\u20ac$\\u000f\\nA\'B\\"\\\\\\\\\\"/"}',
    );
  });

  it('§3.2.3: properties sorted by UTF-16 code units', () => {
    const input = `{
      "\\u20ac": "Euro Sign",
      "\\r": "Carriage Return",
      "\\ufb33": "Hebrew Letter Dalet With Dagesh",
      "1": "One",
      "\\ud83d\\ude00": "Emoji: Grinning Face",
      "\\u0080": "Control",
      "\\u00f6": "Latin Small Letter O With Diaeresis"
    }`;
    const expectedOrder = [
      'Carriage Return',
      'One',
      'Control',
      'Latin Small Letter O With Diaeresis',
      'Euro Sign',
      'Emoji: Grinning Face',
      'Hebrew Letter Dalet With Dagesh',
    ];
    const canonical = canonicalizeJson(input);
    const positions = expectedOrder.map((v) => canonical.indexOf(`:"${v}"`));
    expect(positions.every((p, i) => p > 0 && (i === 0 || p > (positions[i - 1] as number)))).toBe(true);
  });

  // Appendix B, "ECMAScript-Compatible JSON Number Serialization Samples" (IEEE 754 bits → JSON text).
  const APPENDIX_B: [string, string][] = [
    ['0000000000000000', '0'],
    ['8000000000000000', '0'],
    ['0000000000000001', '5e-324'],
    ['8000000000000001', '-5e-324'],
    ['7fefffffffffffff', '1.7976931348623157e+308'],
    ['ffefffffffffffff', '-1.7976931348623157e+308'],
    ['4340000000000000', '9007199254740992'],
    ['c340000000000000', '-9007199254740992'],
    ['4430000000000000', '295147905179352830000'],
    ['44b52d02c7e14af5', '9.999999999999997e+22'],
    ['44b52d02c7e14af6', '1e+23'],
    ['44b52d02c7e14af7', '1.0000000000000001e+23'],
    ['444b1ae4d6e2ef4e', '999999999999999700000'],
    ['444b1ae4d6e2ef4f', '999999999999999900000'],
    ['444b1ae4d6e2ef50', '1e+21'],
    ['3eb0c6f7a0b5ed8c', '9.999999999999997e-7'],
    ['3eb0c6f7a0b5ed8d', '0.000001'],
    ['41b3de4355555553', '333333333.3333332'],
    ['41b3de4355555554', '333333333.33333325'],
    ['41b3de4355555555', '333333333.3333333'],
    ['41b3de4355555556', '333333333.3333334'],
    ['41b3de4355555557', '333333333.33333343'],
    ['becbf647612f3696', '-0.0000033333333333333333'],
    ['43143ff3c1cb0959', '1424953923781206.2'],
  ];

  it.each(APPENDIX_B)('Appendix B: %s serialises as %s', (ieee, expected) => {
    expect(canonicalize(fromIeeeHex(ieee))).toBe(expected);
    expect(canonicalize([fromIeeeHex(ieee)])).toBe(`[${expected}]`);
  });

  it.each(['7fffffffffffffff', '7ff0000000000000', 'fff0000000000000'])(
    'Appendix B: %s (NaN / Infinity) is rejected',
    (ieee) => {
      expectBadInput(() => canonicalize(fromIeeeHex(ieee)));
    },
  );
});

/**
 * The reference test data of the RFC's authors: cyberphone/json-canonicalization, testdata/input/<name>.json
 * (the JSON text, escaped here to ASCII) and testdata/outhex/<name>.txt (the expected canonical UTF-8 bytes),
 * at commit 19d51d7fe467d4706a3ff08adf8a748f29fc21e0.
 */
const CYBERPHONE_TESTDATA: { name: string; input: string; outhex: string }[] = [
  {
    name: 'arrays',
    input: '[\n  56,\n  {\n    "d": true,\n    "10": null,\n    "1": [ ]\n  }\n]\n',
    outhex: '5b35362c7b2231223a5b5d2c223130223a6e756c6c2c2264223a747275657d5d',
  },
  {
    name: 'french',
    input:
      '{\n  "peach": "This sorting order",\n  "p\u00e9ch\u00e9": "is wrong according to French",\n  "p\u00eache": "but canonicalization MUST",\n  "sin":   "ignore locale"\n}\n',
    outhex:
      '7b227065616368223a225468697320736f7274696e67206f72646572222c2270c3a96368c3a9223a2269732077726f6e67206163636f7264696e6720746f204672656e6368222c2270c3aa636865223a226275742063616e6f6e6963616c697a6174696f6e204d555354222c2273696e223a2269676e6f7265206c6f63616c65227d',
  },
  {
    name: 'structures',
    input:
      '{\n  "1": {"f": {"f": "hi","F": 5} ,"\\n": 56.0},\n  "10": { },\n  "": "empty",\n  "a": { },\n  "111": [ {"e": "yes","E": "no" } ],\n  "A": { }\n}',
    outhex:
      '7b22223a22656d707479222c2231223a7b225c6e223a35362c2266223a7b2246223a352c2266223a226869227d7d2c223130223a7b7d2c22313131223a5b7b2245223a226e6f222c2265223a22796573227d5d2c2241223a7b7d2c2261223a7b7d7d',
  },
  {
    name: 'unicode',
    input: '{\n  "Unnormalized Unicode":"A\\u030a"\n}\n',
    outhex: '7b22556e6e6f726d616c697a656420556e69636f6465223a2241cc8a227d',
  },
  {
    name: 'values',
    input:
      '{\n  "numbers": [333333333.33333329, 1E30, 4.50, 2e-3, 0.000000000000000000000000001],\n  "string": "\\u20ac$\\u000F\\u000aA\'\\u0042\\u0022\\u005c\\\\\\"\\/",\n  "literals": [null, true, false]\n}',
    outhex:
      '7b226c69746572616c73223a5b6e756c6c2c747275652c66616c73655d2c226e756d62657273223a5b3333333333333333332e333333333333332c31652b33302c342e352c302e3030322c31652d32375d2c22737472696e67223a22e282ac245c75303030665c6e4127425c225c5c5c5c5c222f227d',
  },
  {
    name: 'weird',
    input:
      '{\n  "\\u20ac": "Euro Sign",\n  "\\r": "Carriage Return",\n  "\\u000a": "Newline",\n  "1": "One",\n  "\\u0080": "Control\\u007f",\n  "\\ud83d\\ude02": "Smiley",\n  "\\u00f6": "Latin Small Letter O With Diaeresis",\n  "\\ufb33": "Hebrew Letter Dalet With Dagesh",\n  "</script>": "Browser Challenge"\n}\n',
    outhex:
      '7b225c6e223a224e65776c696e65222c225c72223a2243617272696167652052657475726e222c2231223a224f6e65222c223c2f7363726970743e223a2242726f77736572204368616c6c656e6765222c22c280223a22436f6e74726f6c7f222c22c3b6223a224c6174696e20536d616c6c204c6574746572204f205769746820446961657265736973222c22e282ac223a224575726f205369676e222c22f09f9882223a22536d696c6579222c22efacb3223a22486562726577204c65747465722044616c6574205769746820446167657368227d',
  },
];

describe('cyberphone/json-canonicalization testdata', () => {
  it('has all six published cases', () => {
    expect(CYBERPHONE_TESTDATA).toHaveLength(6);
  });

  it.each(CYBERPHONE_TESTDATA)('$name', ({ input, outhex }) => {
    expect(bytesToHex(utf8ToBytes(canonicalizeJson(input)))).toBe(outhex);
    expect(bytesToHex(canonicalBytes(JSON.parse(input)))).toBe(outhex);
  });
});

class Patient {
  id = 'p1';
}

describe('values outside I-JSON are rejected with MdlError(BadInput)', () => {
  const cyclic: Record<string, unknown> = { a: 1 };
  cyclic.self = cyclic;
  const cyclicArray: unknown[] = [];
  cyclicArray.push(cyclicArray);
  // biome-ignore lint/suspicious/noSparseArray: a sparse array is the case under test
  const sparse = [1, , 3];
  const rejected: [string, unknown][] = [
    ['NaN', Number.NaN],
    ['Infinity', Number.POSITIVE_INFINITY],
    ['-Infinity in an array', [Number.NEGATIVE_INFINITY]],
    ['lone high surrogate in a string', '\uD800'],
    ['lone low surrogate in a string', 'a\uDC00b'],
    ['reversed surrogate pair', '\uDC00\uD800'],
    ['lone surrogate in a key', { '\uD83D': 1 }],
    ['undefined at top level', undefined],
    ['undefined object member', { a: undefined }],
    ['undefined array element', [undefined]],
    ['sparse array', sparse],
    ['Date', new Date(0)],
    ['Map', new Map([['a', 1]])],
    ['Set', new Set([1])],
    ['class instance', new Patient()],
    ['boxed string', new String('x')],
    ['Uint8Array', new Uint8Array(2)],
    ['function', () => 1],
    ['object with a toJSON function', { toJSON: () => 'x' }],
    ['symbol', Symbol('s')],
    ['symbol-keyed property', { [Symbol('s')]: 1 }],
    ['bigint', 1n],
    ['nested bigint', { a: [1n] }],
    ['cyclic object', cyclic],
    ['cyclic array', cyclicArray],
  ];

  it.each(rejected)('%s', (_name, value) => {
    expectBadInput(() => canonicalize(value));
    expectBadInput(() => canonicalBytes(value));
  });

  it('rejects nesting deeper than JCS_MAX_DEPTH, accepts it up to the limit', () => {
    const nest = (depth: number): unknown => {
      let v: unknown = 0;
      for (let i = 0; i < depth; i++) v = i % 2 === 0 ? [v] : { k: v };
      return v;
    };
    expect(() => canonicalize(nest(JCS_MAX_DEPTH))).not.toThrow();
    expectBadInput(() => canonicalize(nest(JCS_MAX_DEPTH + 1)));
    expectBadInput(() => canonicalizeJson(`${'['.repeat(100_000)}${']'.repeat(100_000)}`));
  });

  it('error messages echo no data', () => {
    try {
      canonicalize({ secretPatientName: 'Jane Doe', n: Number.NaN });
      expect.unreachable();
    } catch (err) {
      expect((err as Error).message).not.toMatch(/Jane|secretPatientName/);
    }
  });
});

describe('accepted edge cases', () => {
  it('keeps repeated (non-cyclic) references and null-prototype objects', () => {
    const shared = { b: 1 };
    expect(canonicalize({ x: shared, y: shared })).toBe('{"x":{"b":1},"y":{"b":1}}');
    const bare = Object.create(null) as Record<string, unknown>;
    bare.z = true;
    bare.a = null;
    expect(canonicalize(bare)).toBe('{"a":null,"z":true}');
  });

  it('writes -0 as 0, escapes controls, leaves non-ASCII and valid surrogate pairs raw', () => {
    expect(canonicalize(-0)).toBe('0');
    expect(canonicalize('\u0000\u001f\u007f\u2028"\\/\uD83D\uDE00')).toBe(
      '"\\u0000\\u001f\u007f\u2028\\"\\\\/\uD83D\uDE00"',
    );
    expect(bytesToHex(canonicalBytes('\uD83D\uDE00'))).toBe('22f09f988022');
  });

  it('treats "__proto__" as an ordinary member name', () => {
    expect(canonicalizeJson('{"__proto__":{"x":1},"a":2}')).toBe('{"__proto__":{"x":1},"a":2}');
  });
});

describe('canonicalizeJson', () => {
  it('rejects duplicate member names, also when spelled with escapes', () => {
    expectBadInput(() => canonicalizeJson('{"a":1,"a":2}'));
    expectBadInput(() => canonicalizeJson('{"a":1,"\\u0061":1}'));
    expectBadInput(() => canonicalizeJson('{"x":[{"b":{}, "c":"b", "b":[]}]}'));
    expectBadInput(() => canonicalizeJson('{"\\"":1, "\\u0022":2}'));
  });

  it('accepts the same name in different objects and as a string value', () => {
    expect(canonicalizeJson('{"a":{"a":"a"},"b":[{"a":1},{"a":2}],"c":"a"}')).toBe(
      '{"a":{"a":"a"},"b":[{"a":1},{"a":2}],"c":"a"}',
    );
    expect(canonicalizeJson('{"a\\"b":1,"a":{"a\\\\":2,"a":3}}')).toBe('{"a":{"a":3,"a\\\\":2},"a\\"b":1}');
  });

  it.each([
    ['empty text', ''],
    ['trailing comma', '[1,]'],
    ['single quotes', "{'a':1}"],
    ['two values', '1 2'],
    ['byte order mark', '\uFEFF{}'],
    ['overflowing number', '1e400'],
    ['escaped lone surrogate', '"\\ud800"'],
    ['escaped lone surrogate key', '{"\\udc00":1}'],
  ])('rejects %s', (_name, text) => {
    expectBadInput(() => canonicalizeJson(text));
  });

  it('rejects a non-string argument', () => {
    expectBadInput(() => canonicalizeJson(42 as unknown as string));
  });
});

/** Reorders every object's members by a seeded shuffle (integer-like keys still enumerate first, per ECMAScript). */
function shuffled(value: unknown, seed: number): unknown {
  let state = seed >>> 0 || 1;
  const next = (): number => {
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    return (state >>> 0) / 2 ** 32;
  };
  const walk = (v: unknown): unknown => {
    if (Array.isArray(v)) return v.map(walk);
    if (v === null || typeof v !== 'object') return v;
    const keys = Object.keys(v);
    for (let i = keys.length - 1; i > 0; i--) {
      const j = Math.floor(next() * (i + 1));
      [keys[i], keys[j]] = [keys[j] as string, keys[i] as string];
    }
    const out: Record<string, unknown> = {};
    for (const k of keys) {
      Object.defineProperty(out, k, {
        value: walk((v as Record<string, unknown>)[k]),
        enumerable: true,
        writable: true,
        configurable: true,
      });
    }
    return out;
  };
  return walk(value);
}

describe('properties', () => {
  const json = fc.jsonValue({ stringUnit: 'binary', maxDepth: 4 });

  it('is a fixed point: canonicalize(JSON.parse(canonicalize(x))) === canonicalize(x)', () => {
    fc.assert(
      fc.property(json, (x) => {
        const c = canonicalize(x);
        expect(canonicalize(JSON.parse(c))).toBe(c);
        expect(canonicalizeJson(c)).toBe(c);
      }),
      { numRuns: 300 },
    );
  });

  it('does not depend on member order', () => {
    fc.assert(
      fc.property(json, fc.integer(), (x, seed) => {
        expect(canonicalize(shuffled(x, seed))).toBe(canonicalize(x));
      }),
      { numRuns: 300 },
    );
  });

  it('agrees with JSON.parse on the value and with canonicalizeJson on any serialisation', () => {
    fc.assert(
      fc.property(json, (x) => {
        const c = canonicalize(x);
        expect(JSON.parse(c)).toEqual(JSON.parse(JSON.stringify(x)));
        expect(canonicalizeJson(JSON.stringify(x, null, 2))).toBe(c);
        expect(bytesToHex(canonicalBytes(x))).toBe(bytesToHex(utf8ToBytes(c)));
      }),
      { numRuns: 200 },
    );
  });
});
