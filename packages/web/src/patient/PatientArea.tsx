/** Patient portal: this area's screens and sub-routes. */
import { Route, Routes } from 'react-router';
import DocumentsPage from '../documents/DocumentsPage';
import { NotFound } from '../pages/NotFound';
import AccessLogPage from './AccessLogPage';
import ConsentPage from './ConsentPage';
import { ExportPage } from './ExportPage';
import { MedicationsPage } from './MedicationsPage';
import { RecordPage } from './RecordPage';

export default function Area() {
  return (
    <Routes>
      <Route index element={<RecordPage />} />
      <Route path="export" element={<ExportPage />} />
      <Route path="medications" element={<MedicationsPage />} />
      <Route path="documents" element={<DocumentsPage />} />
      <Route path="consent" element={<ConsentPage />} />
      <Route path="access-log" element={<AccessLogPage />} />
      <Route path="*" element={<NotFound />} />
    </Routes>
  );
}
