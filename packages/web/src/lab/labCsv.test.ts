import { describe, expect, it } from 'vitest';
import { csvRecords, parseLabCsv } from './labCsv';

describe('a lab’s CSV of results', () => {
  it('reads RFC 4180 fields: quotes, commas and line breaks inside quotes, CRLF, a BOM', () => {
    expect(csvRecords('\uFEFFa,b\r\n"x, y","he said ""hi"""\n"multi\nline",z\n')).toEqual([
      { line: 1, fields: ['a', 'b'] },
      { line: 2, fields: ['x, y', 'he said "hi"'] },
      { line: 3, fields: ['multi\nline', 'z'] },
    ]);
  });

  it('turns each line into an Observation for its patient, or the one chosen', () => {
    const csv = [
      'loinc,display,value,unit,low,high,patient',
      '4548-4,Hemoglobin A1c,6.1,%,4,5.6,',
      '2345-7,"Glucose, fasting",5.4,mmol/L,3.9,5.5,p2',
    ].join('\n');
    const { results, errors } = parseLabCsv(csv, 'p1');
    expect(errors).toEqual([]);
    expect(results.map((r) => [r.line, r.patientId])).toEqual([
      [2, 'p1'],
      [3, 'p2'],
    ]);
    expect(results[1]!.resource).toMatchObject({
      resourceType: 'Observation',
      status: 'final',
      code: { text: 'Glucose, fasting' },
      subject: { reference: 'Patient/p2' },
      valueQuantity: { value: 5.4, unit: 'mmol/L' },
    });
  });

  it('says, line by line, what to correct', () => {
    const csv = ['loinc,display,value,unit', '4548-4,HbA1c,six,%', '4548-4,HbA1c,6.1', ',HbA1c,6.1,%'].join(
      '\n',
    );
    expect(parseLabCsv(csv, '').errors).toEqual([
      {
        line: 2,
        message:
          'Say whose result it is (the patient column, or choose the patient above). Enter the result as a number, e.g. 6.1.',
      },
      { line: 3, message: 'Expected 4 fields, found 3. Quote fields that contain commas.' },
      {
        line: 4,
        message:
          'Say whose result it is (the patient column, or choose the patient above). Enter the LOINC code, e.g. 4548-4.',
      },
    ]);
  });

  it('refuses a header it does not know, and an empty file', () => {
    expect(parseLabCsv('code,value\n1,2', 'p1').errors).toEqual([
      {
        line: 1,
        message:
          'Header: missing columns loinc, display; unknown column code. Columns are patient, loinc, display, value, unit, low, high, status, effective.',
      },
    ]);
    expect(parseLabCsv('', 'p1').errors).toEqual([{ line: 1, message: 'The file is empty.' }]);
    expect(parseLabCsv('loinc,display,value\n', 'p1').errors).toEqual([
      { line: 2, message: 'The file has no results.' },
    ]);
  });
});
