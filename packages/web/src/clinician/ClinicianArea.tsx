/**
 * The clinician workspace: find a patient (search, or open a record by its number when the patient is not
 * visible yet), their chart (record, what consent allows, emergency access, writing, requesting records from
 * another organisation). Pharmacists, insurer agents and researchers use it for now, each sending their own
 * purpose of use (purpose.ts); their own areas will be areas of their own (see docs/web.md).
 */
import { Route, Routes } from 'react-router';
import { NotFound } from '../pages/NotFound';
import { Chart } from './Chart';
import { PatientSearch } from './PatientSearch';

export default function ClinicianArea() {
  return (
    <Routes>
      <Route index element={<PatientSearch />} />
      <Route path="patients/:id" element={<Chart />} />
      <Route path="*" element={<NotFound />} />
    </Routes>
  );
}
