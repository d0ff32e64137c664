/**
 * Search as real clients compose it, on a real node under partial consent: `_include`, `_revinclude`,
 * `_summary`, `_elements`, chained parameters, `_has`, in-memory `_sort`, `POST _search`, system-level and
 * compartment search. Checked from the attacker's side too: whatever a caller may not read directly never
 * appears, is never counted, and never serves as the link of a chain or a `_has`.
 */
import { DataCategory } from '@medledger/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type CareSetting, startCareSetting } from './careSetting.js';

type Entry = { resource: { resourceType: string; id: string; [k: string]: any }; search: { mode: string } };

describe('search composition under consent', () => {
  let s: CareSetting;
  let ids: Record<string, string>;
  const LOINC = 'http://loinc.org';

  const search = async (who: string, path: string) => {
    const r = await s.call(who, 'GET', path);
    expect(r.status, `${who} ${path}: ${JSON.stringify(r.body)}`).toBe(200);
    expect(r.body.resourceType).toBe('Bundle');
    return r.body as { total?: number; entry?: Entry[]; link: { relation: string; url: string }[] };
  };
  const keys = (entries: Entry[] | undefined, mode?: string) =>
    (entries ?? [])
      .filter((e) => mode === undefined || e.search.mode === mode)
      .map((e) => `${e.resource.resourceType}/${e.resource.id}`)
      .sort();
  /** What this caller reads directly, one by one. */
  const readable = async (who: string, refs: string[]) => {
    const out: string[] = [];
    for (const ref of refs) if ((await s.call(who, 'GET', `/${ref}`)).status === 200) out.push(ref);
    return out.sort();
  };
  const refused = async (who: string, path: string, param: string) => {
    const r = await s.call(who, 'GET', path);
    expect(r.status, path).toBe(400);
    expect(r.body.resourceType).toBe('OperationOutcome');
    expect(JSON.stringify(r.body.issue)).toContain(param);
  };

  beforeAll(async () => {
    s = await startCareSetting();
    ids = s.ids;
    const create = async (resource: Record<string, unknown>) => {
      const r = await s.call('admin', 'POST', `/${resource.resourceType}`, resource);
      expect(r.status).toBe(201);
      return r.body.id as string;
    };
    // The other patient gets an identifier a chain can look for; each patient a few dated glucose results.
    const other = (await s.call('admin', 'GET', `/Patient/${ids.other}`)).body;
    expect(
      (
        await s.call('admin', 'PUT', `/Patient/${ids.other}`, {
          ...other,
          identifier: [{ system: 'urn:test:mrn', value: 'other-1' }],
        })
      ).status,
    ).toBe(200);
    const glucose = (patient: string, when: string) => ({
      resourceType: 'Observation',
      status: 'final',
      code: { coding: [{ system: LOINC, code: '2339-0' }] },
      subject: { reference: `Patient/${patient}` },
      effectiveDateTime: when,
      valueQuantity: { value: 5.4, unit: 'mmol/L' },
    });
    ids.g2021 = await create(glucose(ids.patient!, '2021-06-01T08:00:00Z'));
    ids.g2019 = await create(glucose(ids.patient!, '2019-02-01'));
    ids.g2023 = await create(glucose(ids.patient!, '2023-11-30T23:00:00+01:00'));
    ids.otherGlucose = await create(glucose(ids.other!, '2020-01-01'));
    ids.diabetes = await create({
      resourceType: 'Condition',
      subject: { reference: `Patient/${ids.patient}` },
      code: { coding: [{ system: 'http://snomed.info/sct', code: '44054006' }] },
    });
    // The doctor may read the patient's observations, not their demographics (yet), nor their conditions.
    await s.grant({ categories: [DataCategory.Observations] });
  }, 600_000);

  afterAll(async () => {
    await s?.close();
  });

  it('_include adds what the caller may read, and silently nothing they may not', async () => {
    const path = '/Observation?_include=Observation:patient';
    const admin = await search('admin', path);
    expect(keys(admin.entry, 'include')).toEqual([`Patient/${ids.patient}`, `Patient/${ids.other}`].sort());
    const doctor = await search('doctor', path);
    expect(keys(doctor.entry, 'match')).toEqual(
      [ids.observation, ids.g2019, ids.g2021, ids.g2023].map((id) => `Observation/${id}`).sort(),
    );
    // The patient's demographics are not granted: the read is 404, so the include is absent, not an error.
    expect(await readable('doctor', [`Patient/${ids.patient}`])).toEqual([]);
    expect(keys(doctor.entry, 'include')).toEqual([]);
    expect(doctor.total).toBeUndefined();

    // Once granted, the same search includes the patient, once, as an include.
    await s.grant({ categories: [DataCategory.Demographics] });
    const granted = await search('doctor', `${path}&_include=Observation:subject:Patient`);
    expect(keys(granted.entry, 'include')).toEqual([`Patient/${ids.patient}`]);
    // :iterate goes one level further from the included patient: their conditions, where the caller may.
    const iterate = `/Observation?_id=${ids.g2019}&_include=Observation:patient&_revinclude:iterate=Condition:patient`;
    expect(keys((await search('admin', iterate)).entry, 'include')).toEqual(
      [`Patient/${ids.patient}`, `Condition/${ids.condition}`, `Condition/${ids.diabetes}`].sort(),
    );
    expect(keys((await search('doctor', iterate)).entry, 'include')).toEqual([`Patient/${ids.patient}`]);
  });

  it('_revinclude searches the other type under the caller’s access', async () => {
    const path = `/Patient?_revinclude=Observation:patient&_revinclude=Condition:subject`;
    const admin = await search('admin', path);
    expect(keys(admin.entry, 'include')).toEqual(
      expect.arrayContaining([`Condition/${ids.diabetes}`, `Observation/${ids.otherGlucose}`]),
    );
    const doctor = await search('doctor', path);
    expect(keys(doctor.entry, 'match')).toEqual([`Patient/${ids.patient}`]);
    const included = keys(doctor.entry, 'include');
    expect(included).toEqual(
      [ids.observation, ids.g2019, ids.g2021, ids.g2023].map((id) => `Observation/${id}`).sort(),
    );
    // Exactly what the doctor reads directly of the admin's includes: no condition, nothing of the other patient.
    expect(included).toEqual(await readable('doctor', keys(admin.entry, 'include')));
  });

  it('_summary=count counts only what the caller may see; other bundles carry no total', async () => {
    const admin = await search('admin', '/Observation?_summary=count');
    expect(admin.total).toBe(6);
    expect(admin.entry).toBeUndefined();
    const listed = await search('doctor', '/Observation');
    expect(listed.total).toBeUndefined();
    expect((await search('doctor', '/Observation?_summary=count')).total).toBe(listed.entry!.length);
    expect((await search('doctor', '/Condition?_summary=count')).total).toBe(0);
    expect((await search('patient', '/Condition?_summary=count')).total).toBe(2);
    expect((await search('patient', '/Observation?code=2339-0&_summary=count')).total).toBe(3);
  });

  it('chained parameters find targets only among what the caller may see', async () => {
    const chain = '/Observation?subject:Patient.identifier=urn:test:mrn|other-1';
    expect(keys((await search('admin', chain)).entry)).toEqual(
      [`Observation/${ids.otherGlucose}`, `Observation/${ids.otherObservation}`].sort(),
    );
    // The other patient is hidden from the doctor: it cannot be a chain's link, so nothing matches.
    expect((await search('doctor', chain)).entry ?? []).toEqual([]);
    expect((await search('doctor', `${chain}&_summary=count`)).total).toBe(0);
    const own = await search('doctor', `/Observation?patient._id=${ids.patient}&code=2339-0`);
    expect(keys(own.entry)).toEqual(
      [ids.g2019, ids.g2021, ids.g2023].map((id) => `Observation/${id}`).sort(),
    );
    expect((await search('doctor', `/Observation?subject._id=${ids.other}`)).entry ?? []).toEqual([]);
  });

  it('_has reveals no patient through what the caller may not see (attacker: the other side)', async () => {
    const has = `/Patient?_has:Observation:patient:code=${LOINC}|8867-4`;
    expect(keys((await search('admin', has)).entry)).toEqual(
      [`Patient/${ids.patient}`, `Patient/${ids.other}`].sort(),
    );
    // The patient has such an observation, and so does the other one: the patient learns only of themself.
    expect(keys((await search('patient', has)).entry)).toEqual([`Patient/${ids.patient}`]);
    // The doctor may see the patient but not their conditions: _has over conditions finds nobody.
    const viaCondition = '/Patient?_has:Condition:patient:code=http://snomed.info/sct|44054006';
    expect(keys((await search('admin', viaCondition)).entry)).toEqual([`Patient/${ids.patient}`]);
    expect(await readable('doctor', [`Condition/${ids.diabetes}`])).toEqual([]);
    expect((await search('doctor', viaCondition)).entry ?? []).toEqual([]);
    expect((await search('doctor', `${viaCondition}&_summary=count`)).total).toBe(0);
  });

  it('_summary and _elements return tagged subsets', async () => {
    const elements = await search('doctor', `/Observation?code=2339-0&_elements=value`);
    for (const e of elements.entry!) {
      expect(Object.keys(e.resource).sort()).toEqual(
        ['code', 'id', 'meta', 'resourceType', 'status', 'valueQuantity'].sort(),
      );
      expect(e.resource.meta.tag).toContainEqual(expect.objectContaining({ code: 'SUBSETTED' }));
    }
    const summary = await search('admin', `/Patient?_id=${ids.other}&_summary=true`);
    expect(summary.entry![0]!.resource.identifier).toBeDefined();
    expect(summary.entry![0]!.resource.meta.tag).toContainEqual(
      expect.objectContaining({ code: 'SUBSETTED' }),
    );
    const plain = await search('admin', `/Patient?_id=${ids.other}&_summary=false`);
    expect(plain.entry![0]!.resource.meta.tag ?? []).toEqual([]);
  });

  it('_sort orders dates in memory, pages stably, and POST _search is the same search', async () => {
    const order = async (path: string) => (await search('patient', path)).entry!.map((e) => e.resource.id);
    const desc = await order('/Observation?code=2339-0&_sort=-date');
    expect(desc).toEqual([ids.g2023, ids.g2021, ids.g2019]);
    expect(await order('/Observation?code=2339-0&_sort=date')).toEqual([ids.g2019, ids.g2021, ids.g2023]);
    const pages = [
      ...(await order('/Observation?code=2339-0&_sort=-date&_count=2')),
      ...(await order('/Observation?code=2339-0&_sort=-date&_count=2&_offset=2')),
    ];
    expect(pages).toEqual(desc);
    const first = await search('patient', '/Observation?code=2339-0&_sort=-date&_count=2');
    expect(first.link.find((l) => l.relation === 'next')?.url).toContain('_sort=-date');

    const posted = await fetch(`${s.url}/Observation/_search?_sort=-date`, {
      method: 'POST',
      headers: {
        authorization: `Bearer ${s.tokens.patient}`,
        'content-type': 'application/x-www-form-urlencoded',
      },
      body: 'code=2339-0&_format=json',
    });
    expect(posted.status).toBe(200);
    const body = (await posted.json()) as { entry: Entry[] };
    expect(body.entry.map((e) => e.resource.id)).toEqual(desc);
    const json = await fetch(`${s.url}/Observation/_search`, {
      method: 'POST',
      headers: { authorization: `Bearer ${s.tokens.patient}`, 'content-type': 'application/fhir+json' },
      body: '{}',
    });
    expect(json.status).toBe(415);
  });

  it('system-level and compartment search answer within the caller’s access', async () => {
    const system = '?_type=Patient,Condition&_count=100';
    const admin = await search('admin', system);
    const doctor = await search('doctor', system);
    expect(keys(doctor.entry)).toEqual([`Patient/${ids.patient}`]);
    expect(keys(doctor.entry)).toEqual(await readable('doctor', keys(admin.entry)));
    expect((await search('doctor', '?_type=Patient,Condition&_summary=count')).total).toBe(1);

    const compartment = await search('doctor', `/Patient/${ids.patient}/Observation?code=2339-0`);
    expect(keys(compartment.entry)).toEqual(
      [ids.g2019, ids.g2021, ids.g2023].map((id) => `Observation/${id}`).sort(),
    );
    // A patient the caller may not see: exactly the answer for a missing record.
    const hidden = await s.call('doctor', 'GET', `/Patient/${ids.other}/Observation`);
    const missing = await s.call('doctor', 'GET', '/Patient/no-such-patient/Observation');
    const read = await s.call('doctor', 'GET', `/Patient/${ids.other}`);
    expect(hidden.status).toBe(404);
    expect(hidden.body).toEqual(missing.body);
    expect(hidden.body).toEqual(read.body);
    expect((await s.call('patient', 'GET', `/Patient/${ids.other}/Condition`)).status).toBe(404);
    expect(keys((await search('patient', `/Patient/${ids.patient}/Condition`)).entry)).toHaveLength(2);
    // The instance history keeps its route.
    const history = await search('admin', `/Patient/${ids.other}/_history`);
    expect((history as { type?: string }).type).toBe('history');
  });

  it('refuses malformed compositions with an OperationOutcome naming the parameter', async () => {
    await refused('doctor', '/Observation?_include=Observation:nonsense', '_include');
    await refused('doctor', '/Observation?_summary=maybe', '_summary');
    await refused('doctor', '/Observation?code.identifier=x', 'code.identifier');
    await refused('doctor', '/Observation?_sort=code', '_sort');
    await refused('doctor', '/Patient?_has:Observation:patient:_has:Condition:patient:code=x', '_has');
    await refused('doctor', '?_type=Patient&code=x', 'code');
    expect((await s.call('doctor', 'GET', '?_count=5')).status).toBe(400);
  });
});
