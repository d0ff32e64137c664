/** Patient portal: this area's screens and sub-routes. */
import { Route, Routes } from 'react-router';
import { NotFound } from '../pages/NotFound';
import { ExportPage } from './ExportPage';
import { RecordPage } from './RecordPage';

export default function Area() {
  return (
    <Routes>
      <Route index element={<RecordPage />} />
      <Route path="export" element={<ExportPage />} />
      <Route path="*" element={<NotFound />} />
    </Routes>
  );
}
