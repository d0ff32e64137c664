/**
 * The auditor's console: the organisation's access log (with filters and export), the break-glass review
 * queue and the audit log's verification. The node decides who may read each of them (auditors of this
 * organisation); this area is only in the auditor's navigation.
 */
import { Route, Routes } from 'react-router';
import { NotFound } from '../pages/NotFound';
import { AccessLog } from './AccessLog';
import { BreakGlassQueue } from './BreakGlassQueue';
import { VerifyLog } from './VerifyLog';

export default function Area() {
  return (
    <Routes>
      <Route index element={<AccessLog />} />
      <Route path="break-glass" element={<BreakGlassQueue />} />
      <Route path="verify" element={<VerifyLog />} />
      <Route path="*" element={<NotFound />} />
    </Routes>
  );
}
