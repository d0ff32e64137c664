/**
 * How an AuditEvent is kept at rest: its RFC 8785 canonical bytes, deflated against a fixed preset dictionary,
 * then sealed with key-committing AES-256-GCM under the node's audit key. The event sealed is the disclosed one
 * (network addresses and their salts included); the leaf commits to it with the addresses withheld
 * (@medledger/audit-log's networkAddress.ts) — for events sealed before that, the two are the same.
 *
 * Why compress: a BALP event is ~1.4 KB of JSON, almost all of it the same code-system URLs and keys; with the
 * dictionary it deflates to ~160 bytes, and on the embedded database the bytes written per event bound how
 * many events per second the log takes (measured: 2,700/s at 1,300 bytes a row, 6,500/s at 100). Compressing
 * before encrypting leaks, through the ciphertext's length, only how much an event resembles the dictionary
 * and itself — and everything that varies in an event (ids, the patient's record pseudonym, addresses) is
 * already visible in clear to whoever can read the database's lengths (the index and subject columns).
 *
 * The dictionary below is frozen: events sealed with it must open forever. A new dictionary is a new version
 * (a new associated-data label), and `open` tries the versions it knows.
 */
import { deflateRawSync, inflateRawSync } from 'node:zlib';
import { MdlError, MdlErrorCode } from '@medledger/core';
import { type AeadKey, utf8ToBytes } from '@medledger/crypto';

/** v1: the canonical bytes sealed as they are (the first slice of the audit trail). */
const AAD_V1 = utf8ToBytes('medledger/audit-event/v1');
/** v2: deflated against DICTIONARY_V2, then sealed. */
const AAD_V2 = utf8ToBytes('medledger/audit-event/v2');
/** An opened event larger than this is refused (events are a few KB; a bomb is not inflated). */
const MAX_EVENT_BYTES = 1 << 20;

// Three canonical events (a failed login, an exchange release, a denied break-glass read) with placeholder
// values: the substrings every event repeats. Frozen — see above. Exported for tests that read stored bytes the
// way an attacker who has the code would.
export const DICTIONARY_V2 = Buffer.from(
  '{"action":"E","agent":[{"network":{"address":"127.0.0.1","type":"2"},"requestor":true,"type":{"codin' +
    'g":[{"code":"IRCP","system":"http://terminology.hl7.org/CodeSystem/v3-ParticipationType"}]},"who":{"' +
    'display":"unknown account"}}],"extension":[{"url":"urn:medledger:route","valueString":"login (OpenID' +
    ' provider)"},{"url":"urn:medledger:amr","valueString":"pwd"}],"outcome":"4","outcomeDesc":"credentia' +
    'ls refused","recorded":"1970-01-01T00:00:00.000Z","resourceType":"AuditEvent","source":{"observer":{' +
    '"identifier":{"system":"urn:medledger:organisation","value":"1"}},"type":[{"code":"4","system":"http' +
    '://terminology.hl7.org/CodeSystem/security-source-type"}]},"subtype":[{"code":"110122","display":"Lo' +
    'gin","system":"http://dicom.nema.org/resources/ontology/DCM"}],"type":{"code":"110114","display":"Us' +
    'er Authentication","system":"http://dicom.nema.org/resources/ontology/DCM"}}{"action":"C","agent":[{' +
    '"network":{"address":"127.0.0.1","type":"2"},"purposeOfUse":[{"coding":[{"code":"TREAT","system":"ht' +
    'tp://terminology.hl7.org/CodeSystem/v3-ActReason"}]}],"requestor":true,"type":{"coding":[{"code":"CS' +
    'T","system":"http://terminology.hl7.org/CodeSystem/v3-ParticipationType"}]},"who":{"identifier":{"sy' +
    'stem":"urn:medledger:account","value":"0"}}},{"requestor":true,"type":{"coding":[{"code":"PRF","syst' +
    'em":"http://terminology.hl7.org/CodeSystem/v3-ParticipationType"}]},"who":{"identifier":{"system":"u' +
    'rn:medledger:organisation","value":"1"}}},{"requestor":true,"type":{"coding":[{"code":"PRF","system"' +
    ':"http://terminology.hl7.org/CodeSystem/v3-ParticipationType"}]},"who":{"identifier":{"system":"urn:' +
    'medledger:member","value":"0x0"}}}],"entity":[{"what":{"reference":"Observation/0"}}],"extension":[{' +
    '"url":"urn:medledger:route","valueString":"POST /fhir/:type"}],"outcome":"0","recorded":"1970-01-01T' +
    '00:00:00.000Z","resourceType":"AuditEvent","source":{"observer":{"identifier":{"system":"urn:medledg' +
    'er:organisation","value":"1"}},"type":[{"code":"4","system":"http://terminology.hl7.org/CodeSystem/s' +
    'ecurity-source-type"}]},"subtype":[{"code":"create","system":"http://hl7.org/fhir/restful-interactio' +
    'n"}],"type":{"code":"110106","display":"Export","system":"http://dicom.nema.org/resources/ontology/D' +
    'CM"}}{"action":"R","agent":[{"altId":"urn:medledger:member:0x0","network":{"address":"127.0.0.1","ty' +
    'pe":"2"},"purposeOfUse":[{"coding":[{"code":"TREAT","system":"http://terminology.hl7.org/CodeSystem/' +
    'v3-ActReason"}]}],"requestor":true,"role":[{"coding":[{"code":"doctor","system":"urn:medledger:role"' +
    '}]}],"type":{"coding":[{"code":"IRCP","system":"http://terminology.hl7.org/CodeSystem/v3-Participati' +
    'onType"}]},"who":{"identifier":{"system":"urn:medledger:account","value":"0"}}}],"entity":[{"what":{' +
    '"reference":"Observation/0"}},{"role":{"code":"1","display":"Patient","system":"http://terminology.h' +
    'l7.org/CodeSystem/object-role"},"type":{"code":"1","display":"Person","system":"http://terminology.h' +
    'l7.org/CodeSystem/audit-entity-type"},"what":{"identifier":{"system":"urn:medledger:record-pseudonym' +
    '","value":"00"}}}],"extension":[{"url":"urn:medledger:route","valueString":"GET /fhir/:type/:id"}],"' +
    'meta":{"security":[{"code":"BTG","display":"break the glass","system":"http://terminology.hl7.org/Co' +
    'deSystem/v3-ActCode"}]},"outcome":"4","outcomeDesc":"denied by the access policy","recorded":"1970-0' +
    '1-01T00:00:00.000Z","resourceType":"AuditEvent","source":{"observer":{"identifier":{"system":"urn:me' +
    'dledger:organisation","value":"1"}},"type":[{"code":"4","system":"http://terminology.hl7.org/CodeSys' +
    'tem/security-source-type"}]},"subtype":[{"code":"read","system":"http://hl7.org/fhir/restful-interac' +
    'tion"}],"type":{"code":"rest","display":"Restful Operation","system":"http://terminology.hl7.org/Cod' +
    'eSystem/audit-event-type"}}',
  'utf8',
);

/** Deflates and seals an event's canonical bytes. */
export function sealAuditEvent(key: AeadKey, canonical: Uint8Array): Uint8Array {
  return key.seal(new Uint8Array(deflateRawSync(canonical, { dictionary: DICTIONARY_V2 })), AAD_V2);
}

/** Opens a sealed event (either version) to its canonical bytes; MdlError DecryptFailed when it does not open. */
export function openAuditEvent(key: AeadKey, sealed: Uint8Array): Uint8Array {
  const packed = key.open(sealed, AAD_V2);
  if (packed) {
    try {
      return new Uint8Array(
        inflateRawSync(packed, { dictionary: DICTIONARY_V2, maxOutputLength: MAX_EVENT_BYTES }),
      );
    } catch {
      throw new MdlError(MdlErrorCode.DecryptFailed, 'audit event does not inflate');
    }
  }
  const plain = key.open(sealed, AAD_V1);
  if (!plain) throw new MdlError(MdlErrorCode.DecryptFailed, 'audit event does not open');
  return plain;
}
