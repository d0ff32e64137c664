/**
 * The administrator's console: accounts (create, second factor, disable / enable), licences, OAuth clients and
 * the node's status. The node decides every call (administrators of this organisation); this area is only in
 * the administrator's navigation.
 */
import { Route, Routes } from 'react-router';
import { NotFound } from '../pages/NotFound';
import { Accounts } from './Accounts';
import { Clients } from './Clients';
import { Licences } from './Licences';
import { NodeStatusPage } from './NodeStatusPage';

export default function Area() {
  return (
    <Routes>
      <Route index element={<Accounts />} />
      <Route path="licences" element={<Licences />} />
      <Route path="clients" element={<Clients />} />
      <Route path="status" element={<NodeStatusPage />} />
      <Route path="*" element={<NotFound />} />
    </Routes>
  );
}
